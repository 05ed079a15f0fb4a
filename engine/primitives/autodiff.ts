/**
 * The autodiff primitives: stop_gradient (the identity, with a zero derivative) and custom_lin (the
 * linear part of a custom_vjp function, which exists only to be transposed into the user's bwd).
 */
import { Primitive } from "../core/primitive.js";
import { at } from "../backend/webgpu/wgsl.js";
import { checkArity } from "./checks.js";
import type { HigherOrderRules, PrimitiveRules } from "./rules.js";

export const stopGradientRules: PrimitiveRules<Primitive.StopGradient> = {
  abstractEval: (avals) => {
    checkArity(Primitive.StopGradient, avals, 1);
    return [avals[0]];
  },
  cpu: ([x]) => [x.slice()],
  wgsl: ([x]) => ({ body: `out[i] = ${at(0, x)};` }),
};

export const customLinRules: HigherOrderRules<Primitive.CustomLin> = {
  abstractEval: (_avals, { out_avals }) => [...out_avals],
  impl: () => {
    throw new TypeError(
      "can't apply forward-mode autodiff (jvp) to a custom_vjp function: use vjp/grad, or define the function with customJvp",
    );
  },
};
