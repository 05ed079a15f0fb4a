/** convert_element_type[new_dtype, weak_type]: elementwise dtype conversion. */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray, isInteger, type DType, type TypedArray } from "../dtype.js";
import { at, wgslStorageType } from "../backend/webgpu/wgsl.js";
import type { PrimitiveRules } from "./rules.js";

function convertHost(x: TypedArray, to: DType): TypedArray {
  const y = hostArray(to, x.length);
  if (to === "bool") for (let i = 0; i < x.length; i++) y[i] = x[i] !== 0 ? 1 : 0;
  else if (isInteger(to)) {
    // Float to integer truncates toward zero; NaN becomes 0 (XLA's convert).
    for (let i = 0; i < x.length; i++) y[i] = Number.isNaN(x[i]) ? 0 : Math.trunc(x[i]);
  } else y.set(x);
  return y;
}

function convertWgsl(x: string, from: DType, to: DType): string {
  // Floats test their bits (sign dropped, so -0 is false): `x != 0.0` may drop NaN under finite-math.
  if (to === "bool" && from === "float32") return `select(0u, 1u, (bitcast<u32>(${x}) & 0x7fffffffu) != 0u)`;
  if (to === "bool") return `select(0u, 1u, ${x} != ${wgslStorageType(from)}(0))`;
  return `${wgslStorageType(to)}(${x})`;
}

export const convertElementTypeRules: PrimitiveRules<Primitive.ConvertElementType> = {
  abstractEval: ([x], { new_dtype, weak_type }) => {
    if (new_dtype === "float16")
      throw new TypeError("convert_element_type: float16 is not supported on this device");
    return [new ShapedArray(x.shape, new_dtype, weak_type)];
  },
  cpu: ([x], _in, [out]) => [convertHost(x, out.dtype)],
  wgsl: ([x], [out]) => ({ body: `out[i] = ${convertWgsl(at(0, x), x.dtype, out.dtype)};` }),
};
