/**
 * Batching rules of the control-flow primitives (JAX's `_cond_batching_rule`,
 * `_while_loop_batching_rule`, `_scan_batching_rule`) and of dynamic_slice/dynamic_update_slice with
 * batched start indices (JAX lowers those to gather/scatter). Rules are function declarations so the
 * table in batching-rules.ts can refer to them whatever the module load order.
 */
import type { BatchDim } from "../core/batch-trace.js";
import {
  GatherDimensionNumbers,
  GatherScatterMode,
  ScatterDimensionNumbers,
} from "../core/dimension-numbers.js";
import { evalJaxpr } from "../core/eval-jaxpr.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import { bind, bind1, type Tracer } from "../core/trace.js";
import { batchClosedJaxpr } from "./batch-jaxpr.js";
import { batchAtFront, batchingRules, moveAxis } from "./batching-rules.js";
import { traceToJaxpr } from "./make-jaxpr.js";

export type ControlFlowPrimitive = Primitive.Cond | Primitive.While | Primitive.Scan;

type Result = [Tracer[], BatchDim[]];

/** Batched operands get their batch axis at 0; unbatched ones stay as they are. */
const toFront = (xs: Tracer[], dims: BatchDim[]) =>
  xs.map((x, i) => {
    const d = dims[i];
    return d === null ? x : moveAxis(x, d, 0);
  });
const frontDims = (dims: readonly BatchDim[]): BatchDim[] => dims.map((d) => (d === null ? null : 0));
const bdims = (bat: readonly boolean[]): BatchDim[] => bat.map((b) => (b ? 0 : null));

/** `which` (shape [B]) broadcast against cases of shape [B, ...] for select_n (JAX's _bcast_select_n). */
function selectN(which: Tracer, cases: Tracer[]): Tracer {
  const shape = cases[0].shape;
  const w =
    which.ndim === shape.length
      ? which
      : bind1(Primitive.BroadcastInDim, [which], { shape, broadcast_dimensions: [0] });
  return bind1(Primitive.SelectN, [w, ...cases], {});
}

/** Runs a closed jaxpr inline on the given values (JAX's `core.jaxpr_as_fun`). */
const inline = (closed: ClosedJaxpr, args: Tracer[]) => evalJaxpr(closed.jaxpr, closed.consts, args);

export function condBatchRule(
  args: Tracer[],
  dims: BatchDim[],
  params: ParamsOf<Primitive.Cond>,
  size: number,
  name?: string,
): Result {
  const [index, ...ops] = args;
  const [di, ...dops] = dims;
  if (dims.every((d) => d === null)) {
    const outs = bind(Primitive.Cond, args, params);
    return [outs, outs.map(() => null)];
  }
  if (di !== null) {
    // A batched predicate: every branch runs on the whole batch and select_n picks each example's
    // result (JAX converts cond to select under vmap).
    const idx = moveAxis(index, di, 0);
    const opsFront = ops.map((x, i) => batchAtFront(x, dops[i], size));
    const branchOuts = params.branches.map((b) =>
      inline(
        batchClosedJaxpr(
          b,
          ops.map(() => 0),
          size,
          name,
          true,
        ).jaxpr,
        opsFront,
      ),
    );
    const outs = branchOuts[0].map((_, k) =>
      selectN(
        idx,
        branchOuts.map((o) => o[k]),
      ),
    );
    return [outs, outs.map(() => 0)];
  }
  // An unbatched index: one cond whose branches are batched, outputs batched where any branch's is.
  const inDims = frontDims(dops);
  const outBat = params.branches
    .map((b) => batchClosedJaxpr(b, inDims, size, name).outBatched)
    .reduce((a, b) => a.map((x, i) => x || b[i]));
  const branches = params.branches.map((b) => batchClosedJaxpr(b, inDims, size, name, outBat).jaxpr);
  const outs = bind(Primitive.Cond, [index, ...toFront(ops, dops)], { branches });
  return [outs, bdims(outBat)];
}

export function whileBatchRule(
  args: Tracer[],
  dims: BatchDim[],
  params: ParamsOf<Primitive.While>,
  size: number,
  name?: string,
): Result {
  if (dims.every((d) => d === null)) {
    const outs = bind(Primitive.While, args, params);
    return [outs, outs.map(() => null)];
  }
  const { cond_nconsts: cn, body_nconsts: bn, cond_jaxpr, body_jaxpr } = params;
  const front = toFront(args, dims);
  const cconsts = front.slice(0, cn);
  const bconsts = front.slice(cn, cn + bn);
  const init = front.slice(cn + bn);
  const cdims = frontDims(dims.slice(0, cn));
  const bcdims = frontDims(dims.slice(cn, cn + bn));
  // Which carries are batched: a fixpoint, since the body may batch a carry that came in unbatched.
  let carryBat = dims.slice(cn + bn).map((d) => d !== null);
  for (;;) {
    const out = batchClosedJaxpr(body_jaxpr, [...bcdims, ...bdims(carryBat)], size, name).outBatched;
    const next = carryBat.map((b, i) => b || out[i]);
    if (next.every((b, i) => b === carryBat[i])) break;
    carryBat = next;
  }
  const predBatched = batchClosedJaxpr(cond_jaxpr, [...cdims, ...bdims(carryBat)], size, name).outBatched[0];
  if (!predBatched) {
    const condJ = batchClosedJaxpr(cond_jaxpr, [...cdims, ...bdims(carryBat)], size, name).jaxpr;
    const bodyJ = batchClosedJaxpr(body_jaxpr, [...bcdims, ...bdims(carryBat)], size, name, carryBat).jaxpr;
    const init0 = init.map((x, i) =>
      carryBat[i] ? batchAtFront(x, dims[cn + bn + i] === null ? null : 0, size) : x,
    );
    const outs = bind(Primitive.While, [...cconsts, ...bconsts, ...init0], {
      ...params,
      cond_jaxpr: condJ,
      body_jaxpr: bodyJ,
    });
    return [outs, bdims(carryBat)];
  }
  // A batched predicate: every carry is batched and the loop runs until no example wants another
  // iteration (reduce_or of the predicates); finished examples keep their carry (select_n), as JAX.
  const all = init.map(() => 0 as BatchDim);
  const condB = batchClosedJaxpr(cond_jaxpr, [...cdims, ...all], size, name, true).jaxpr;
  const bodyB = batchClosedJaxpr(body_jaxpr, [...bcdims, ...all], size, name, true).jaxpr;
  const init0 = init.map((x, i) => batchAtFront(x, dims[cn + bn + i] === null ? null : 0, size));
  const carryAvals = init0.map((x) => x.aval);
  const cAvals = cconsts.map((x) => x.aval);
  const bAvals = bconsts.map((x) => x.aval);
  const newCond = traceToJaxpr(
    (...xs) => [bind1(Primitive.ReduceOr, inline(condB, xs), { axes: [0] })],
    [...cAvals, ...carryAvals],
  );
  const newBody = traceToJaxpr(
    (...xs) => {
      const cc = xs.slice(0, cn);
      const bc = xs.slice(cn, cn + bn);
      const carry = xs.slice(cn + bn);
      const [pred] = inline(condB, [...cc, ...carry]);
      const next = inline(bodyB, [...bc, ...carry]);
      return next.map((n, k) => selectN(pred, [carry[k], n]));
    },
    [...cAvals, ...bAvals, ...carryAvals],
  );
  const outs = bind(Primitive.While, [...cconsts, ...cconsts, ...bconsts, ...init0], {
    cond_jaxpr: newCond,
    body_jaxpr: newBody,
    cond_nconsts: cn,
    body_nconsts: cn + bn,
  });
  return [outs, outs.map(() => 0)];
}

export function scanBatchRule(
  args: Tracer[],
  dims: BatchDim[],
  params: ParamsOf<Primitive.Scan>,
  size: number,
  name?: string,
): Result {
  if (dims.every((d) => d === null)) {
    const outs = bind(Primitive.Scan, args, params);
    return [outs, outs.map(() => null)];
  }
  const { num_consts: nc, num_carry: ncar, jaxpr } = params;
  const consts = toFront(args.slice(0, nc), dims.slice(0, nc));
  const init = args.slice(nc, nc + ncar);
  const initDims = dims.slice(nc, nc + ncar);
  // xs are stacked along axis 0, so their batch axis goes to 1: each step's slice has it at 0.
  const xsDims = dims.slice(nc + ncar);
  const xs = args.slice(nc + ncar).map((x, i) => (xsDims[i] === null ? x : moveAxis(x, xsDims[i]!, 1)));
  const constDims = frontDims(dims.slice(0, nc));
  const xDims = frontDims(xsDims);
  const nys = jaxpr.outAvals.length - ncar;
  // The carry's batchedness as a fixpoint (JAX's _scan_batching_rule).
  let carryBat = initDims.map((d) => d !== null);
  for (;;) {
    const out = batchClosedJaxpr(jaxpr, [...constDims, ...bdims(carryBat), ...xDims], size, name).outBatched;
    const next = carryBat.map((b, i) => b || out[i]);
    if (next.every((b, i) => b === carryBat[i])) break;
    carryBat = next;
  }
  const body = batchClosedJaxpr(jaxpr, [...constDims, ...bdims(carryBat), ...xDims], size, name, [
    ...carryBat,
    ...Array<boolean>(nys).fill(false),
  ]);
  const init0 = init.map((x, i) => (carryBat[i] ? batchAtFront(x, initDims[i], size) : x));
  const operands = [...consts, ...init0, ...xs];
  const outs = bind(Primitive.Scan, operands, {
    ...params,
    jaxpr: body.jaxpr,
    linear: operands.map(() => false),
  });
  const ysBat = body.outBatched.slice(ncar);
  return [outs, [...bdims(carryBat), ...ysBat.map((b) => (b ? 1 : null))]];
}

/** Start indices, one per axis, as an [B, rank] int32 index array (JAX's _batch_dynamic_slice_indices). */
function batchedStartIndices(starts: Tracer[], ds: BatchDim[], size: number): Tracer {
  const cols = starts.map((s, k) => {
    let v = batchAtFront(s, ds[k], size);
    if (v.dtype !== "int32")
      v = bind1(Primitive.ConvertElementType, [v], { new_dtype: "int32", weak_type: false });
    return bind1(Primitive.BroadcastInDim, [v], { shape: [size, 1], broadcast_dimensions: [0] });
  });
  return cols.length === 1 ? cols[0] : bind1(Primitive.Concatenate, cols, { dimension: 1 });
}

/**
 * dynamic_slice with batched start indices: a gather of one `slice_sizes` window per example at its
 * start vector, in clip mode (which clamps the window into bounds exactly as dynamic_slice does).
 */
export function dynamicSliceBatchedStarts(
  x: Tracer,
  starts: Tracer[],
  d: BatchDim,
  ds: BatchDim[],
  params: ParamsOf<Primitive.DynamicSlice>,
  size: number,
): Result {
  const rank = starts.length;
  const axes = [...Array(rank).keys()];
  const idx = batchedStartIndices(starts, ds, size);
  const gather: ParamsOf<Primitive.Gather> = {
    dimension_numbers: new GatherDimensionNumbers({
      offsetDims: axes,
      collapsedSliceDims: [],
      startIndexMap: axes,
    }),
    fill_value: null,
    indices_are_sorted: true,
    mode: GatherScatterMode.CLIP,
    slice_sizes: params.slice_sizes,
    unique_indices: true,
  };
  return batchingRules[Primitive.Gather]([x, idx], [d, 0], gather, size);
}

/** dynamic_update_slice with batched start indices: a scatter (replace) in clip mode, as JAX. */
export function dynamicUpdateSliceBatchedStarts(
  x: Tracer,
  update: Tracer,
  starts: Tracer[],
  d: BatchDim,
  du: BatchDim,
  ds: BatchDim[],
  size: number,
): Result {
  const rank = starts.length;
  const axes = [...Array(rank).keys()];
  const idx = batchedStartIndices(starts, ds, size);
  const scatter: ParamsOf<Primitive.Scatter> = {
    dimension_numbers: new ScatterDimensionNumbers({
      updateWindowDims: axes,
      insertedWindowDims: [],
      scatterDimsToOperandDims: axes,
    }),
    indices_are_sorted: true,
    mode: GatherScatterMode.CLIP,
    unique_indices: true,
    update_consts: [],
    update_jaxpr: null,
  };
  return batchingRules[Primitive.Scatter]([x, idx, update], [d, 0, du], scatter, size);
}
