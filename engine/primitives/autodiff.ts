/**
 * The autodiff primitives: stop_gradient (the identity, with a zero derivative) and custom_lin (the
 * linear part of a custom_vjp function, which exists only to be transposed into the user's bwd).
 */
import { ShapedArray } from "../core/aval.js";
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

/** axis_index[axis_name]: meaningful only inside the vmap that owns the axis (its batching rule). */
function unboundAxis(name: string): never {
  throw new Error(
    `unbound axis name: ${name}. axis_index needs an enclosing vmap(..., {axisName: ${JSON.stringify(name)}})`,
  );
}

export const axisIndexRules: PrimitiveRules<Primitive.AxisIndex> = {
  abstractEval: (avals) => {
    checkArity(Primitive.AxisIndex, avals, 0);
    return [new ShapedArray([], "int32")];
  },
  cpu: (_x, _in, _out, { axis_name }) => unboundAxis(axis_name),
  wgsl: (_in, _out, { axis_name }) => unboundAxis(axis_name),
};
