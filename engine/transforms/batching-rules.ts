/**
 * Batching rules (JAX's `primitive_batchers`): given operand values and their batch axes, compute the
 * batched results and their batch axes with primitives, so vmap never loops over examples. Unmapped
 * operands stay unmapped unless an operation needs them at full shape.
 */
import {
  BINARY_PRIMITIVES,
  COMPARE_PRIMITIVES,
  Primitive,
  MORE_ELEMENTWISE_PRIMITIVES,
  UNARY_PRIMITIVES,
  type ParamsOf,
  type ScatterPrimitive,
} from "../core/primitive.js";
import { bind, bind1, type Tracer } from "../core/trace.js";
import type { BatchDim } from "../core/batch-trace.js";
import { asArray } from "../numpy/array-like.js";
import { GatherDimensionNumbers, ScatterDimensionNumbers } from "../core/dimension-numbers.js";
// [jit] imports
import { pjitBatchRule } from "./pjit-batching.js";
// [end jit]
// [control-flow] imports
import {
  condBatchRule,
  dynamicSliceBatchedStarts,
  dynamicUpdateSliceBatchedStarts,
  scanBatchRule,
  whileBatchRule,
  type ControlFlowPrimitive,
} from "./control-flow-batching.js";
// [end control-flow]
// [autodiff] imports
import { autodiffBatchingRules, selectNBatchRule, type AutodiffPrimitive } from "./ad/batching.js";
// [end autodiff]

export type BatchRule<P extends Primitive> = (
  args: Tracer[],
  dims: BatchDim[],
  params: ParamsOf<P>,
  axisSize: number,
  /** The name of the vmapped axis, for collectives. */
  axisName?: string,
) => [Tracer[], BatchDim[]];

/** Moves axis `from` of x to position `to` (a transpose; nothing when it is already there). */
export function moveAxis(x: Tracer, from: number, to: number): Tracer {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return bind1(Primitive.Transpose, [x], { permutation: perm });
}

/** The value with its batch axis in front; an unmapped value is broadcast to `size` examples. */
export function batchAtFront(x: Tracer, dim: BatchDim, size: number): Tracer {
  if (dim !== null) return moveAxis(x, dim, 0);
  return bind1(Primitive.BroadcastInDim, [x], {
    shape: [size, ...x.shape],
    broadcast_dimensions: x.shape.map((_, i) => i + 1),
  });
}

/**
 * Elementwise primitives (unary, binary, compare, select_n, convert): batched operands get their
 * batch axis in front and the example shape; unmapped rank-0 operands stay scalars (lax promotes them).
 */
function elementwise<P extends Primitive>(prim: P): BatchRule<P> {
  return (args, dims, params, size) => {
    if (dims.every((d) => d === null)) return [bind(prim, args, params), dims.map(() => null)];
    // Batched operands of one rank with the batch axis at one place, the others scalars: the
    // primitive applies as is and the batch axis stays where it is (no transposes).
    const batched = args.filter((_, i) => dims[i] !== null);
    const d0 = dims.find((d) => d !== null) as number;
    if (
      batched.every((x) => x.ndim === batched[0].ndim) &&
      dims.every((d) => d === null || d === d0) &&
      args.every((x, i) => dims[i] !== null || x.ndim === 0)
    ) {
      const outs = bind(prim, args, params);
      return [outs, outs.map(() => d0)];
    }
    const rank = (x: Tracer, d: BatchDim) => x.ndim - (d === null ? 0 : 1);
    // The per-example shape of the result: that of any non-scalar operand.
    const k = args.findIndex((x, i) => rank(x, dims[i]) > 0);
    const exampleShape = k < 0 ? [] : args[k].shape.filter((_, i) => i !== dims[k]);
    const full = [size, ...exampleShape];
    const moved = args.map((x, i) => {
      const d = dims[i];
      if (d === null) {
        if (x.ndim === 0) return x;
        return bind1(Primitive.BroadcastInDim, [x], {
          shape: full,
          broadcast_dimensions: x.shape.map((_, j) => j + 1),
        });
      }
      const front = moveAxis(x, d, 0);
      if (front.ndim === full.length) return front;
      // A batched per-example scalar meeting non-scalar operands: broadcast along the example axes.
      return bind1(Primitive.BroadcastInDim, [front], { shape: full, broadcast_dimensions: [0] });
    });
    const outs = bind(prim, moved, params);
    return [outs, outs.map(() => 0)];
  };
}

/** Primitives with a `dimensions` list (squeeze, rev): shift them past the batch axis. */
function dimensionsShift<P extends Primitive>(prim: P): BatchRule<P> {
  return ([x], [d], params) => {
    if (d === null) return [bind(prim, [x], params), [null]];
    const p = params as unknown as { dimensions: readonly number[] };
    return [
      bind(prim, [moveAxis(x, d, 0)], {
        ...params,
        dimensions: p.dimensions.map((a) => a + 1),
      } as ParamsOf<P>),
      [0],
    ];
  };
}

/** Primitives with an `axes` list (reductions, argmax/argmin): shift the axes past the batch axis. */
function axesShift<P extends Primitive>(prim: P): BatchRule<P> {
  return ([x], [d], params) => {
    if (d === null) return [bind(prim, [x], params), [null]];
    const p = params as unknown as { axes: readonly number[] };
    return [
      bind(prim, [moveAxis(x, d, 0)], { ...params, axes: p.axes.map((a) => a + 1) } as ParamsOf<P>),
      [0],
    ];
  };
}

/** Scans along one `axis` (cumsum and friends). */
function axisShift<P extends Primitive>(prim: P): BatchRule<P> {
  return ([x], [d], params) => {
    if (d === null) return [bind(prim, [x], params), [null]];
    const p = params as unknown as { axis: number };
    return [bind(prim, [moveAxis(x, d, 0)], { ...params, axis: p.axis + 1 } as ParamsOf<P>), [0]];
  };
}

type Rules<K extends Primitive> = { [P in K]: BatchRule<P> };

/**
 * psum/pmax/pmin over this vmap's axis reduce over the batch axis, and the result is the same for
 * every example (unmapped); other axis names are left to the enclosing vmap that owns them.
 */
function collective<P extends Primitive.Psum | Primitive.Pmax | Primitive.Pmin>(
  prim: P,
  reduce: Primitive.ReduceSum | Primitive.ReduceMax | Primitive.ReduceMin,
): BatchRule<P> {
  return ([x], [d], params, size, name) => {
    const p = params as ParamsOf<Primitive.Psum>;
    if (name === undefined || !p.axes.includes(name)) return [[bind1(prim, [x], params)], [d]];
    let y: Tracer;
    if (d !== null) y = bind1(reduce, [x], { axes: [d] });
    // The same value in every example: psum multiplies by the axis size, pmax/pmin keep it.
    else y = prim === Primitive.Psum ? bind1(Primitive.Mul, [x, asArray(size, x.dtype)], {}) : x;
    const rest = p.axes.filter((a) => a !== name);
    if (rest.length) y = bind1(prim, [y], { ...p, axes: rest } as ParamsOf<P>);
    return [[y], [null]];
  };
}

/**
 * scatter with XLA's batching dimensions: operand, indices and updates all get the batch axis in front
 * (an unmapped one is broadcast: every example updates its own copy) and it becomes a pair of
 * operand/indices batching dimensions; the updates' leading axis is a scatter (non-window) dimension.
 */
function scatterRule<P extends ScatterPrimitive>(prim: P): BatchRule<P> {
  return ([x, idx, upd], [dx, di, du], params, size) => {
    if (dx === null && di === null && du === null) return [[bind1(prim, [x, idx, upd], params)], [null]];
    const dn = params.dimension_numbers;
    const up = (xs: readonly number[]) => xs.map((a) => a + 1);
    const numbers = new ScatterDimensionNumbers({
      updateWindowDims: up(dn.update_window_dims),
      insertedWindowDims: up(dn.inserted_window_dims),
      scatterDimsToOperandDims: up(dn.scatter_dims_to_operand_dims),
      operandBatchingDims: [0, ...up(dn.operand_batching_dims)],
      scatterIndicesBatchingDims: [0, ...up(dn.scatter_indices_batching_dims)],
    });
    const args = [batchAtFront(x, dx, size), batchAtFront(idx, di, size), batchAtFront(upd, du, size)];
    return [[bind1(prim, args, { ...params, dimension_numbers: numbers } as ParamsOf<P>)], [0]];
  };
}

// Primitives whose rules sit in the areas' sections of `batchingRules` below are left out here.
const rules: Rules<
  Exclude<Primitive, ElementwisePrimitive | Primitive.Pjit | ControlFlowPrimitive | AutodiffPrimitive>
> = {
  [Primitive.SelectN]: selectNBatchRule,
  [Primitive.ConvertElementType]: elementwise(Primitive.ConvertElementType),

  [Primitive.BroadcastInDim]: ([x], [d], params, size) => {
    if (d === null) return [[bind1(Primitive.BroadcastInDim, [x], params)], [null]];
    return [
      [
        bind1(Primitive.BroadcastInDim, [moveAxis(x, d, 0)], {
          shape: [size, ...params.shape],
          broadcast_dimensions: [0, ...params.broadcast_dimensions.map((b) => b + 1)],
        }),
      ],
      [0],
    ];
  },

  [Primitive.Reshape]: ([x], [d], params, size) => {
    if (d === null) return [[bind1(Primitive.Reshape, [x], params)], [null]];
    return [
      [bind1(Primitive.Reshape, [moveAxis(x, d, 0)], { ...params, new_sizes: [size, ...params.new_sizes] })],
      [0],
    ];
  },

  [Primitive.Transpose]: ([x], [d], params) => {
    if (d === null) return [[bind1(Primitive.Transpose, [x], params)], [null]];
    return [
      [
        bind1(Primitive.Transpose, [moveAxis(x, d, 0)], {
          permutation: [0, ...params.permutation.map((p) => p + 1)],
        }),
      ],
      [0],
    ];
  },

  [Primitive.Squeeze]: dimensionsShift(Primitive.Squeeze),
  [Primitive.Rev]: dimensionsShift(Primitive.Rev),

  // No operands: never batched.
  [Primitive.Iota]: (args, _dims, params) => [[bind1(Primitive.Iota, args, params)], [null]],

  // Operands concatenated along a dimension: unmapped ones are broadcast to the batch.
  [Primitive.Concatenate]: (args, dims, params, size) => {
    if (dims.every((d) => d === null)) return [[bind1(Primitive.Concatenate, args, params)], [null]];
    const moved = args.map((x, i) => batchAtFront(x, dims[i], size));
    return [[bind1(Primitive.Concatenate, moved, { dimension: params.dimension + 1 })], [0]];
  },

  [Primitive.Pad]: ([x, value], [d, dv], params, size) => {
    if (d === null && dv === null) return [[bind1(Primitive.Pad, [x, value], params)], [null]];
    const front = batchAtFront(x, d, size);
    const config = [[0, 0, 0] as const, ...params.padding_config];
    if (dv === null) return [[bind1(Primitive.Pad, [front, value], { padding_config: config })], [0]];
    // A padding value per example (JAX's _pad_batch_rule): pad with any value, then select the
    // example's padding value wherever a mask of the operand's positions, padded with false, is false.
    const zero = bind1(Primitive.ConvertElementType, [asArray(0)], { new_dtype: x.dtype, weak_type: false });
    const padded = bind1(Primitive.Pad, [front, zero], { padding_config: config });
    const ones = bind1(Primitive.BroadcastInDim, [asArray(true)], {
      shape: front.shape,
      broadcast_dimensions: [],
    });
    const mask = bind1(Primitive.Pad, [ones, asArray(false)], { padding_config: config });
    const fill = bind1(Primitive.BroadcastInDim, [moveAxis(value, dv!, 0)], {
      shape: padded.shape,
      broadcast_dimensions: [0],
    });
    return [[bind1(Primitive.SelectN, [mask, fill, padded], {})], [0]];
  },

  [Primitive.Slice]: ([x], [d], params, size) => {
    if (d === null) return [[bind1(Primitive.Slice, [x], params)], [null]];
    return [
      [
        bind1(Primitive.Slice, [moveAxis(x, d, 0)], {
          start_indices: [0, ...params.start_indices],
          limit_indices: [size, ...params.limit_indices],
          strides: params.strides === null ? null : [1, ...params.strides],
        }),
      ],
      [0],
    ];
  },

  // Operands sorted together along `dimension`: all get the batch axis in front.
  [Primitive.Sort]: (args, dims, params, size) => {
    if (dims.every((d) => d === null)) {
      const outs = bind(Primitive.Sort, args, params);
      return [outs, outs.map(() => null)];
    }
    const moved = args.map((x, i) => batchAtFront(x, dims[i], size));
    const outs = bind(Primitive.Sort, moved, { ...params, dimension: params.dimension + 1 });
    return [outs, outs.map(() => 0)];
  },

  // Key primitives take keys of shape (..., 2) whose leading axes are a batch of keys: the vmapped
  // axis becomes one more leading axis, so each example gets its own stream.
  [Primitive.RandomBits]: ([k], [d], params) => {
    if (d === null) return [[bind1(Primitive.RandomBits, [k], params)], [null]];
    return [[bind1(Primitive.RandomBits, [moveAxis(k, d, 0)], params)], [0]];
  },
  [Primitive.RandomSplit]: ([k], [d], params) => {
    if (d === null) return [[bind1(Primitive.RandomSplit, [k], params)], [null]];
    return [[bind1(Primitive.RandomSplit, [moveAxis(k, d, 0)], params)], [0]];
  },
  [Primitive.RandomFoldIn]: ([k, data], [dk, dd], params, size) => {
    if (dk === null && dd === null) return [[bind1(Primitive.RandomFoldIn, [k, data], params)], [null]];
    const keys = batchAtFront(k, dk, size);
    const batchShape = keys.shape.slice(0, -1);
    // data is a scalar or has the keys' batch shape.
    let msgs = data;
    if (dd !== null) {
      msgs = moveAxis(data, dd, 0);
      if (msgs.ndim !== batchShape.length) {
        msgs = bind1(Primitive.BroadcastInDim, [msgs], { shape: batchShape, broadcast_dimensions: [0] });
      }
    } else if (data.ndim !== 0) {
      msgs = batchAtFront(data, null, size);
    }
    return [[bind1(Primitive.RandomFoldIn, [keys, msgs], params)], [0]];
  },

  // Dynamic slices with unbatched start indices: the batch axis is sliced whole, from 0. Batched
  // start indices become a gather (a scatter for the update), as JAX lowers them.
  [Primitive.DynamicSlice]: ([x, ...starts], [d, ...ds], params, size) => {
    if (ds.some((s) => s !== null)) return dynamicSliceBatchedStarts(x, starts, d, ds, params, size);
    if (d === null) return [[bind1(Primitive.DynamicSlice, [x, ...starts], params)], [null]];
    const zero = asArray(0, starts[0]?.dtype ?? "int32");
    return [
      [
        bind1(Primitive.DynamicSlice, [moveAxis(x, d, 0), zero, ...starts], {
          slice_sizes: [size, ...params.slice_sizes],
        }),
      ],
      [0],
    ];
  },
  [Primitive.DynamicUpdateSlice]: ([x, update, ...starts], [d, du, ...ds], params, size) => {
    if (ds.some((s) => s !== null))
      return dynamicUpdateSliceBatchedStarts(x, update, starts, d, du, ds, size);
    if (d === null && du === null)
      return [[bind1(Primitive.DynamicUpdateSlice, [x, update, ...starts], params)], [null]];
    const zero = asArray(0, starts[0]?.dtype ?? "int32");
    const args = [batchAtFront(x, d, size), batchAtFront(update, du, size), zero, ...starts];
    return [[bind1(Primitive.DynamicUpdateSlice, args, params)], [0]];
  },

  // gather with XLA's batching dimensions: a batch axis on the operand only becomes one more offset
  // (window) dimension taken whole; on the indices only, one more batch dimension of the indices; on
  // both, a pair of operand/indices batching dimensions. The batch axis lands at output position 0.
  [Primitive.Gather]: ([x, idx], [dx, di], params, size) => {
    if (dx === null && di === null) return [[bind1(Primitive.Gather, [x, idx], params)], [null]];
    const dn = params.dimension_numbers;
    const up = (xs: readonly number[]) => xs.map((a) => a + 1);
    let numbers: GatherDimensionNumbers;
    let sliceSizes = params.slice_sizes;
    if (di === null) {
      numbers = new GatherDimensionNumbers({
        offsetDims: [0, ...up(dn.offset_dims)],
        collapsedSliceDims: up(dn.collapsed_slice_dims),
        startIndexMap: up(dn.start_index_map),
        operandBatchingDims: up(dn.operand_batching_dims),
        startIndicesBatchingDims: dn.start_indices_batching_dims,
      });
      sliceSizes = [size, ...sliceSizes];
    } else if (dx === null) {
      numbers = new GatherDimensionNumbers({
        offsetDims: up(dn.offset_dims),
        collapsedSliceDims: dn.collapsed_slice_dims,
        startIndexMap: dn.start_index_map,
        operandBatchingDims: dn.operand_batching_dims,
        startIndicesBatchingDims: up(dn.start_indices_batching_dims),
      });
    } else {
      numbers = new GatherDimensionNumbers({
        offsetDims: up(dn.offset_dims),
        collapsedSliceDims: up(dn.collapsed_slice_dims),
        startIndexMap: up(dn.start_index_map),
        operandBatchingDims: [0, ...up(dn.operand_batching_dims)],
        startIndicesBatchingDims: [0, ...up(dn.start_indices_batching_dims)],
      });
      sliceSizes = [1, ...sliceSizes];
    }
    const operand = dx === null ? x : moveAxis(x, dx, 0);
    const indices = di === null ? idx : moveAxis(idx, di, 0);
    return [
      [
        bind1(Primitive.Gather, [operand, indices], {
          ...params,
          dimension_numbers: numbers,
          slice_sizes: sliceSizes,
        }),
      ],
      [0],
    ];
  },

  [Primitive.Scatter]: scatterRule(Primitive.Scatter),
  [Primitive.ScatterAdd]: scatterRule(Primitive.ScatterAdd),
  [Primitive.ScatterMul]: scatterRule(Primitive.ScatterMul),
  [Primitive.ScatterMin]: scatterRule(Primitive.ScatterMin),
  [Primitive.ScatterMax]: scatterRule(Primitive.ScatterMax),

  [Primitive.Psum]: collective(Primitive.Psum, Primitive.ReduceSum),
  [Primitive.Pmax]: collective(Primitive.Pmax, Primitive.ReduceMax),
  [Primitive.Pmin]: collective(Primitive.Pmin, Primitive.ReduceMin),
  // all_gather over this vmap's axis: every example sees the whole batch, stacked at the gather axis.
  [Primitive.AllGather]: ([x], [d], params, size, name) => {
    if (params.axis_name !== name) {
      if (d === null) return [[bind1(Primitive.AllGather, [x], params)], [null]];
      const front = moveAxis(x, d, 0);
      return [
        [
          bind1(Primitive.AllGather, [front], {
            ...params,
            all_gather_dimension: params.all_gather_dimension + 1,
          }),
        ],
        [0],
      ];
    }
    return [[moveAxis(batchAtFront(x, d, size), 0, params.all_gather_dimension)], [null]];
  },

  [Primitive.ReduceSum]: axesShift(Primitive.ReduceSum),
  [Primitive.ReduceMax]: axesShift(Primitive.ReduceMax),
  [Primitive.ReduceMin]: axesShift(Primitive.ReduceMin),
  [Primitive.ReduceProd]: axesShift(Primitive.ReduceProd),
  [Primitive.ReduceAnd]: axesShift(Primitive.ReduceAnd),
  [Primitive.ReduceOr]: axesShift(Primitive.ReduceOr),
  [Primitive.Argmax]: axesShift(Primitive.Argmax),
  [Primitive.Argmin]: axesShift(Primitive.Argmin),
  [Primitive.Cumsum]: axisShift(Primitive.Cumsum),
  [Primitive.Cumprod]: axisShift(Primitive.Cumprod),
  [Primitive.Cummax]: axisShift(Primitive.Cummax),
  [Primitive.Cummin]: axisShift(Primitive.Cummin),

  // dot_general: a batch axis on both sides becomes a dot_general batch dimension; on one side it is
  // a free dimension of that side (the other operand, e.g. a weight matrix, is used once, unbroadcast).
  [Primitive.DotGeneral]: ([lhs, rhs], [dl, dr], params) => {
    const [[lc, rc], [lb, rb]] = params.dimension_numbers;
    if (dl === null && dr === null) return [[bind1(Primitive.DotGeneral, [lhs, rhs], params)], [null]];
    const up = (xs: readonly number[]) => xs.map((a) => a + 1);
    if (dl !== null && dr !== null) {
      const dn = [
        [up(lc), up(rc)],
        [
          [0, ...up(lb)],
          [0, ...up(rb)],
        ],
      ] as const;
      return [
        [
          bind1(Primitive.DotGeneral, [moveAxis(lhs, dl, 0), moveAxis(rhs, dr, 0)], {
            ...params,
            dimension_numbers: dn,
          }),
        ],
        [0],
      ];
    }
    if (dl !== null) {
      // Batch axis in front of lhs: the first lhs free dimension, right after the batch dimensions.
      const dn = [
        [up(lc), rc],
        [up(lb), rb],
      ] as const;
      return [
        [bind1(Primitive.DotGeneral, [moveAxis(lhs, dl, 0), rhs], { ...params, dimension_numbers: dn })],
        [lb.length],
      ];
    }
    // Batch axis in front of rhs: the first rhs free dimension, after the batch and lhs free dimensions.
    const lhsFree = lhs.ndim - lc.length - lb.length;
    const dn = [
      [lc, up(rc)],
      [lb, up(rb)],
    ] as const;
    return [
      [bind1(Primitive.DotGeneral, [lhs, moveAxis(rhs, dr!, 0)], { ...params, dimension_numbers: dn })],
      [lb.length + lhsFree],
    ];
  },
};

const MORE_ELEMENTWISE = [
  ...MORE_ELEMENTWISE_PRIMITIVES,
  // Elementwise over its four uint32 operands, with two results.
  Primitive.Threefry2x32,
] as const;

type ElementwisePrimitive =
  | (typeof UNARY_PRIMITIVES)[number]
  | (typeof BINARY_PRIMITIVES)[number]
  | (typeof COMPARE_PRIMITIVES)[number]
  | (typeof MORE_ELEMENTWISE)[number];

const elementwiseRules = Object.fromEntries(
  [...UNARY_PRIMITIVES, ...BINARY_PRIMITIVES, ...COMPARE_PRIMITIVES, ...MORE_ELEMENTWISE].map((p) => [
    p,
    elementwise(p),
  ]),
) as Rules<ElementwisePrimitive>;

/**
 * The batching rule of every primitive. The table is total: a primitive added without a batching
 * rule is a type error here (JAX keeps the same table as `primitive_batchers`).
 */
export const batchingRules: Rules<Primitive> = {
  ...elementwiseRules,
  ...rules,

  // [jit] batching rules
  [Primitive.Pjit]: pjitBatchRule,
  // [end jit]

  // [control-flow] batching rules
  [Primitive.Cond]: condBatchRule,
  [Primitive.While]: whileBatchRule,
  [Primitive.Scan]: scanBatchRule,
  // [end control-flow]

  // [autodiff] batching rules
  ...autodiffBatchingRules,
  // [end autodiff]
};
