/** Batching rules of the autodiff primitives (their entries in the total `batchingRules` table). */
import { Primitive } from "../../core/primitive.js";
import { bind1 } from "../../core/trace.js";
import type { BatchRule } from "../batching-rules.js";

export type AutodiffPrimitive = Primitive.StopGradient | Primitive.CustomLin;

export const autodiffBatchingRules: { [P in AutodiffPrimitive]: BatchRule<P> } = {
  // The identity: the batch axis stays where it is.
  [Primitive.StopGradient]: ([x], [d]) => [[bind1(Primitive.StopGradient, [x], {})], [d]],
  // custom_lin is only ever transposed (into the user's bwd, which vmap then batches as plain code).
  [Primitive.CustomLin]: () => {
    throw new TypeError(
      "vmap of the linearized custom_vjp function (custom_lin) is not supported: can't apply forward-mode autodiff (jvp) to a custom_vjp function",
    );
  },
};
