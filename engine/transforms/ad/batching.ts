/** Batching rules of the autodiff primitives (their entries in the total `batchingRules` table). */
import { Primitive } from "../../core/primitive.js";
import { bind, bind1, type Tracer } from "../../core/trace.js";
import { batchAtFront, moveAxis, type BatchRule } from "../batching-rules.js";

export type AutodiffPrimitive = Primitive.StopGradient | Primitive.CustomLin | Primitive.AxisIndex;

export const autodiffBatchingRules: { [P in AutodiffPrimitive]: BatchRule<P> } = {
  // The identity: the batch axis stays where it is.
  [Primitive.StopGradient]: ([x], [d]) => [[bind1(Primitive.StopGradient, [x], {})], [d]],
  // custom_lin is only ever transposed (into the user's bwd, which vmap then batches as plain code).
  [Primitive.CustomLin]: () => {
    throw new TypeError(
      "vmap of the linearized custom_vjp function (custom_lin) is not supported: can't apply forward-mode autodiff (jvp) to a custom_vjp function",
    );
  },
  // The vmap owning the axis answers with 0..size-1 along the batch; others pass it outwards.
  [Primitive.AxisIndex]: (_args, _dims, params, size, name) => {
    if (params.axis_name !== name) return [[bind1(Primitive.AxisIndex, [], params)], [null]];
    return [
      [bind1(Primitive.Iota, [], { dtype: "int32", shape: [size], dimension: 0, sharding: null })],
      [0],
    ];
  },
};

/**
 * select_n: unlike binary primitives, its cases do not broadcast a rank-0 operand, so with any
 * operand batched every case gets the batch axis in front (unbatched ones are broadcast), and a
 * batched predicate that is a scalar per example is broadcast to the cases' shape. (Transposing a
 * select_n under vmap meets exactly this: a batched predicate with an unbatched scalar cotangent.)
 */
export const selectNBatchRule: BatchRule<Primitive.SelectN> = (
  [pred, ...cases],
  [dp, ...dcs],
  params,
  size,
) => {
  if (dp === null && dcs.every((d) => d === null))
    return [bind(Primitive.SelectN, [pred, ...cases], params), [null]];
  const k = dcs.findIndex((d) => d !== null);
  const caseShape = k < 0 ? cases[0].shape : cases[k].shape.filter((_, i) => i !== dcs[k]);
  const full = [size, ...caseShape];
  const moved = cases.map((c, i) => batchAtFront(c, dcs[i], size));
  let p: Tracer = pred;
  if (dp !== null) {
    p = moveAxis(pred, dp, 0);
    if (p.ndim !== full.length)
      p = bind1(Primitive.BroadcastInDim, [p], { shape: full, broadcast_dimensions: [0] });
  } else if (pred.ndim !== 0) p = batchAtFront(pred, null, size);
  return [[bind1(Primitive.SelectN, [p, ...moved], params)], [0]];
};
