/**
 * Transpose rules (JAX's `primitive_transposes`): for a primitive linear in some operands, the
 * cotangents of those operands from the cotangents of its results. Operands that are not linear
 * arrive as values; linear ones as `UndefinedPrimal` (JAX's `ad.UndefinedPrimal`). The table is total:
 * primitives that are never linear map to a rule that throws a "not linear" error.
 */
import type { ShapedArray } from "../core/aval.js";
import { MORE_ELEMENTWISE_PRIMITIVES, Primitive, type ParamsOf } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { psum } from "../lax/collectives.js";
import { axisIndex } from "../lax/axis-index.js";
import { condTranspose, scanTranspose, whileTranspose } from "./ad/control-flow.js";
import { gatherTranspose, scatterLike, scatterWindows } from "./ad/indexing.js";
import {
  broadcastInDim,
  convert,
  div,
  mul,
  neg,
  reduceSum,
  reshape,
  scalar,
  selectN,
  transpose,
  unbroadcast,
  zeros,
} from "./ad/ops.js";

/** A linear operand of the equation being transposed: only its aval is known. */
export class UndefinedPrimal {
  constructor(readonly aval: ShapedArray) {}
}

export type TransposeArg = Tracer | UndefinedPrimal;

/** Cotangents of the operands (null for the operands that are not linear, or a zero cotangent). */
export type TransposeRule<P extends Primitive> = (
  cts: Tracer[],
  args: TransposeArg[],
  params: ParamsOf<P>,
) => (Tracer | null)[];

const isLinear = (a: TransposeArg): a is UndefinedPrimal => a instanceof UndefinedPrimal;

function notLinear<P extends Primitive>(prim: P): TransposeRule<P> {
  return () => {
    throw new TypeError(
      `transpose: ${prim} is not linear in its operands, so it cannot appear in a linear (tangent) jaxpr; ` +
        `this is a bug in the JVP rule that produced it`,
    );
  };
}

/** One-operand linear primitives: the cotangent of the operand from that of the result. */
function unaryLinear<P extends Primitive>(
  ctOf: (ct: Tracer, x: UndefinedPrimal, params: ParamsOf<P>) => Tracer,
): TransposeRule<P> {
  return ([ct], [x, ...rest], params) => [isLinear(x) ? ctOf(ct, x, params) : null, ...rest.map(() => null)];
}

/** An operand that must not be linear (the constant factor of a product, a predicate, indices). */
function constant(prim: Primitive, a: TransposeArg, what: string): Tracer {
  if (isLinear(a)) {
    throw new TypeError(`transpose: ${prim} is not linear in its ${what}; it cannot be transposed`);
  }
  return a;
}

function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** JAX's `ranges_like`: consecutive index ranges with the lengths of the given lists. */
function rangesLike(...xs: number[][]): number[][] {
  let start = 0;
  return xs.map((x) => {
    const r = x.map((_, i) => start + i);
    start += x.length;
    return r;
  });
}

const remaining = (n: number, ...removed: (readonly number[])[]): number[] =>
  [...Array(n).keys()].filter((i) => !removed.some((r) => r.includes(i)));

const argsort = (xs: readonly number[]): number[] =>
  xs
    .map((v, i) => [v, i])
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => i);

/** JAX's `_dot_general_transpose_lhs`: x̄ = transpose(dot_general(ct, y, ...)). */
function dotTransposeLhs(
  ct: Tracer,
  xAval: ShapedArray,
  y: Tracer,
  params: ParamsOf<Primitive.DotGeneral>,
  swapAns = false,
): Tracer {
  const [[xContract, yContract], [xBatch, yBatch]] = params.dimension_numbers;
  const xKept = remaining(xAval.ndim, xContract, xBatch);
  const yKept = remaining(y.ndim, yContract, yBatch);
  const [ansBatch, ansY] = swapAns
    ? (([b, yk]) => [b, yk])(rangesLike([...xBatch], yKept, xKept))
    : (([b, , yk]) => [b, yk])(rangesLike([...xBatch], xKept, yKept));
  const dims = [
    [ansY, yKept],
    [ansBatch, [...yBatch]],
  ] as const;
  const order = argsort(yContract);
  const xContractSortedByY = order.map((i) => xContract[i]);
  const outAxes = argsort([...xBatch, ...xKept, ...xContractSortedByY]);
  const prod = bind1(Primitive.DotGeneral, [ct, y], {
    ...params,
    dimension_numbers: dims,
    preferred_element_type: null,
  });
  return transpose(convert(prod, xAval.dtype), outAxes);
}

/** slice's transpose: the cotangent padded back with zeros (JAX's `_slice_transpose_rule`). */
function sliceTranspose(ct: Tracer, x: UndefinedPrimal, params: ParamsOf<Primitive.Slice>): Tracer {
  const { start_indices: start, limit_indices: limit, strides } = params;
  const shape = x.aval.shape;
  const config = shape.map((n, d): [number, number, number] => {
    if (!strides || strides[d] === 1) return [start[d], n - limit[d], 0];
    const realLimit = start[d] + (ct.shape[d] === 0 ? 0 : 1 + (ct.shape[d] - 1) * strides[d]);
    return [start[d], n - realLimit, strides[d] - 1];
  });
  return bind1(Primitive.Pad, [ct, scalar(0, ct.dtype)], { padding_config: config });
}

type Rules<K extends Primitive> = { [P in K]: TransposeRule<P> };

const linearRules: Rules<
  | Primitive.Neg
  | Primitive.Add
  | Primitive.Sub
  | Primitive.Mul
  | Primitive.Div
  | Primitive.ConvertElementType
  | Primitive.SelectN
  | Primitive.BroadcastInDim
  | Primitive.Reshape
  | Primitive.Transpose
  | Primitive.Squeeze
  | Primitive.Rev
  | Primitive.Pad
  | Primitive.Concatenate
  | Primitive.Slice
  | Primitive.DynamicSlice
  | Primitive.DynamicUpdateSlice
  | Primitive.Gather
  | Primitive.Scatter
  | Primitive.ScatterAdd
  | Primitive.ScatterMul
  | Primitive.ReduceSum
  | Primitive.Cumsum
  | Primitive.DotGeneral
  | Primitive.Psum
  | Primitive.AllGather
  | Primitive.CustomLin
> = {
  [Primitive.Neg]: unaryLinear((ct) => neg(ct)),
  // Rank-0 operands were broadcast by the primitive: their cotangent is summed back.
  [Primitive.Add]: ([ct], [x, y]) => [
    isLinear(x) ? unbroadcast(ct, x.aval) : null,
    isLinear(y) ? unbroadcast(ct, y.aval) : null,
  ],
  [Primitive.Sub]: ([ct], [x, y]) => [
    isLinear(x) ? unbroadcast(ct, x.aval) : null,
    isLinear(y) ? unbroadcast(neg(ct), y.aval) : null,
  ],
  // Linear in one factor when the other is a constant.
  [Primitive.Mul]: ([ct], [x, y]) => {
    if (isLinear(x) && isLinear(y)) throw new TypeError("transpose: mul of two linear values is not linear");
    if (isLinear(x)) return [unbroadcast(mul(ct, y as Tracer), x.aval), null];
    if (isLinear(y)) return [null, unbroadcast(mul(x as Tracer, ct), y.aval)];
    return [null, null];
  },
  [Primitive.Div]: ([ct], [x, y]) => {
    const d = constant(Primitive.Div, y, "divisor");
    return [isLinear(x) ? unbroadcast(div(ct, d), x.aval) : null, null];
  },
  [Primitive.ConvertElementType]: unaryLinear((ct, x) => convert(ct, x.aval.dtype)),
  // With a constant predicate: each case gets the cotangent where it was chosen, zero elsewhere.
  [Primitive.SelectN]: ([ct], [which, ...cases]) => {
    const pred = constant(Primitive.SelectN, which, "predicate");
    const zero = zeros(ct.aval);
    return [
      null,
      ...cases.map((c, i) =>
        isLinear(c)
          ? selectN(
              pred,
              cases.map((_, j) => (j === i ? ct : zero)),
            )
          : null,
      ),
    ];
  },
  // Sum over the broadcast axes (new ones and size-1 ones that were stretched).
  [Primitive.BroadcastInDim]: unaryLinear((ct, x, { shape, broadcast_dimensions: bdims }) => {
    const kept = bdims.filter((_, i) => x.aval.shape[i] !== 1 || shape[bdims[i]] === 1);
    const summed = reduceSum(ct, remaining(shape.length, kept));
    return reshape(summed, x.aval.shape);
  }),
  [Primitive.Reshape]: unaryLinear((ct, x) => reshape(ct, x.aval.shape)),
  [Primitive.Transpose]: unaryLinear((ct, _x, { permutation }) =>
    transpose(ct, inversePermutation(permutation)),
  ),
  [Primitive.Squeeze]: unaryLinear((ct, x) => reshape(ct, x.aval.shape)),
  [Primitive.Rev]: unaryLinear((ct, _x, params) => bind1(Primitive.Rev, [ct], params)),
  // JAX's `_pad_transpose`: unpad with negated low/high, take every (interior+1)-th element; the
  // padding value's cotangent is what the operand did not take.
  [Primitive.Pad]: ([ct], [x, v], { padding_config: config }) => {
    const unpadded = bind1(Primitive.Pad, [ct, scalar(0, ct.dtype)], {
      padding_config: config.map(([lo, hi]) => [-lo, -hi, 0] as const),
    });
    const tx = bind1(Primitive.Slice, [unpadded], {
      start_indices: unpadded.shape.map(() => 0),
      limit_indices: [...unpadded.shape],
      strides: config.map(([, , interior]) => interior + 1),
    });
    const all = (t: Tracer) =>
      reduceSum(
        t,
        t.shape.map((_, i) => i),
      );
    return [isLinear(x) ? tx : null, isLinear(v) ? bind1(Primitive.Sub, [all(ct), all(tx)], {}) : null];
  },
  [Primitive.Concatenate]: ([ct], xs, { dimension }) => {
    let offset = 0;
    return xs.map((x) => {
      const n = x.aval.shape[dimension];
      const start = offset;
      offset += n;
      if (!isLinear(x)) return null;
      return bind1(Primitive.Slice, [ct], {
        start_indices: ct.shape.map((_, d) => (d === dimension ? start : 0)),
        limit_indices: ct.shape.map((s, d) => (d === dimension ? start + n : s)),
        strides: null,
      });
    });
  },
  [Primitive.Slice]: unaryLinear(sliceTranspose),
  // The slice's cotangent written into zeros at the same (clamped) start.
  [Primitive.DynamicSlice]: ([ct], [x, ...starts]) => [
    isLinear(x)
      ? bind1(Primitive.DynamicUpdateSlice, [zeros(x.aval), ct, ...(starts as Tracer[])], {})
      : null,
    ...starts.map(() => null),
  ],
  [Primitive.DynamicUpdateSlice]: ([ct], [x, upd, ...starts]) => {
    const s = starts as Tracer[];
    return [
      isLinear(x) ? bind1(Primitive.DynamicUpdateSlice, [ct, zeros(upd.aval), ...s], {}) : null,
      isLinear(upd) ? bind1(Primitive.DynamicSlice, [ct, ...s], { slice_sizes: [...upd.aval.shape] }) : null,
      ...s.map(() => null),
    ];
  },
  // gather ↔ scatter-add.
  [Primitive.Gather]: ([ct], [x, idx], params) => [
    isLinear(x) ? gatherTranspose(ct, constant(Primitive.Gather, idx, "indices"), x.aval, params) : null,
    null,
  ],
  [Primitive.ScatterAdd]: ([ct], [x, idx, upd], params) => {
    const indices = constant(Primitive.ScatterAdd, idx, "indices");
    return [
      isLinear(x) ? ct : null,
      null,
      isLinear(upd) ? scatterWindows(ct, indices, upd.aval, params) : null,
    ];
  },
  // With constant updates, scatter-mul scales each operand element by a constant (the product of the
  // updates landing there): a diagonal map, its own transpose (the updates' JVP is a scatter-add).
  [Primitive.ScatterMul]: ([ct], [x, idx, upd], params) => {
    const indices = constant(Primitive.ScatterMul, idx, "indices");
    const factors = constant(Primitive.ScatterMul, upd, "updates");
    return [isLinear(x) ? bind1(Primitive.ScatterMul, [ct, indices, factors], params) : null, null, null];
  },
  // Overwriting scatter (transposable for unique indices, as in JAX): the operand keeps the
  // cotangent where it was not overwritten; each update gets the cotangent of where it landed.
  [Primitive.Scatter]: ([ct], [x, idx, upd], params) => {
    const indices = constant(Primitive.Scatter, idx, "indices");
    return [
      isLinear(x) ? scatterLike(ct, indices, zeros(upd.aval), params) : null,
      null,
      isLinear(upd) ? scatterWindows(ct, indices, upd.aval, params) : null,
    ];
  },
  [Primitive.ReduceSum]: unaryLinear((ct, x, { axes }) =>
    broadcastInDim(ct, x.aval.shape, remaining(x.aval.ndim, axes)),
  ),
  // A prefix sum's transpose is the suffix sum.
  [Primitive.Cumsum]: unaryLinear((ct, _x, params) =>
    bind1(Primitive.Cumsum, [ct], { ...params, reverse: !params.reverse }),
  ),
  [Primitive.DotGeneral]: ([ct], [x, y], params) => {
    if (isLinear(x) && isLinear(y))
      throw new TypeError("transpose: dot_general of two linear values is not linear");
    if (isLinear(x)) return [dotTransposeLhs(ct, x.aval, y as Tracer, params), null];
    if (isLinear(y)) {
      const [[xc, yc], [xb, yb]] = params.dimension_numbers;
      const swapped = {
        ...params,
        dimension_numbers: [
          [yc, xc],
          [yb, xb],
        ] as const,
      };
      return [null, dotTransposeLhs(ct, y.aval, x as Tracer, swapped, true)];
    }
    return [null, null];
  },
  // The sum over the axis is replicated; its transpose sums the replicas' cotangents (JAX's rule).
  [Primitive.Psum]: unaryLinear((ct, _x, { axes }) => psum(ct, axes)),
  // JAX's psum_scatter: every example's cotangent slab summed over the axis, and each example keeps
  // its own slab (picked by a one-hot of axis_index: vmap has no batched dynamic_slice yet).
  [Primitive.AllGather]: unaryLinear((ct, _x, { axis_name, all_gather_dimension: d }) => {
    const total = psum(ct, [axis_name]);
    const slot = bind1(Primitive.Iota, [], {
      dtype: "int32",
      shape: [...ct.shape],
      dimension: d,
      sharding: null,
    });
    const mine = bind1(Primitive.Eq, [slot, axisIndex(axis_name)], {});
    const picked = mul(total, convert(mine, ct.dtype));
    return reduceSum(picked, [d]);
  }),
  // The user's bwd, from the residuals and the output cotangents.
  [Primitive.CustomLin]: (cts, args, { bwd, num_res }) => {
    const res = args.slice(0, num_res).map((r) => constant(Primitive.CustomLin, r, "residuals"));
    const out = bwd.run(res, cts);
    return [...res.map(() => null), ...out];
  },
};

const nonLinear = [
  Primitive.Sin,
  Primitive.Cos,
  Primitive.Tan,
  Primitive.Exp,
  Primitive.Log,
  Primitive.Tanh,
  Primitive.Logistic,
  Primitive.Sqrt,
  Primitive.Rsqrt,
  Primitive.Abs,
  Primitive.Sign,
  Primitive.Floor,
  Primitive.Ceil,
  Primitive.Log1p,
  Primitive.Expm1,
  Primitive.Max,
  Primitive.Min,
  Primitive.Pow,
  Primitive.Eq,
  Primitive.Ne,
  Primitive.Lt,
  Primitive.Le,
  Primitive.Gt,
  Primitive.Ge,
  Primitive.ReduceMax,
  ...MORE_ELEMENTWISE_PRIMITIVES,
  Primitive.ReduceMin,
  Primitive.ReduceProd,
  Primitive.ReduceAnd,
  Primitive.ReduceOr,
  Primitive.Argmax,
  Primitive.Argmin,
  Primitive.Cumprod,
  Primitive.Cummax,
  Primitive.Cummin,
  Primitive.ScatterMin,
  Primitive.ScatterMax,
  Primitive.Iota,
  Primitive.Sort,
  Primitive.Threefry2x32,
  Primitive.RandomBits,
  Primitive.RandomSplit,
  Primitive.RandomFoldIn,
  Primitive.Pmax,
  Primitive.Pmin,
  Primitive.StopGradient,
  Primitive.AxisIndex,
] as const;

const nonLinearRules = Object.fromEntries(nonLinear.map((p) => [p, notLinear(p)])) as Rules<
  (typeof nonLinear)[number]
>;

export const transposeRules: { [P in Primitive]: TransposeRule<P> } = {
  ...nonLinearRules,
  ...linearRules,

  // [jit] transpose rules
  // The JVP of pjit inlines the call, so no pjit equation is ever recorded in a linear jaxpr.
  [Primitive.Pjit]: () => {
    throw new Error("internal: a pjit equation in a linear jaxpr (its JVP rule inlines the call)");
  },
  // [end jit]

  // [control-flow] transpose rules
  // Only the linear (unknown) halves that the JVP rules record under linearize get here.
  [Primitive.Cond]: (cts, args, params) => condTranspose(cts, args, params),
  // JAX's _while_transpose_error.
  [Primitive.While]: () => whileTranspose(),
  [Primitive.Scan]: (cts, args, params) => scanTranspose(cts, args, params),
  // [end control-flow]
};
