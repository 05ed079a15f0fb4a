/**
 * iota[dtype, shape, dimension, sharding]: no operands; element (i0, ..., in) is its index along
 * `dimension` (JAX's broadcasted_iota; `lax.iota(dtype, n)` is the rank-1 case).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray } from "../dtype.js";
import { formatShape, stridesOf } from "../shape.js";
import { wgslStorageType } from "../backend/webgpu/wgsl.js";
import type { PrimitiveRules } from "./rules.js";

export const iotaRules: PrimitiveRules<Primitive.Iota> = {
  abstractEval: (avals, { dtype, shape, dimension }) => {
    if (avals.length !== 0) throw new TypeError(`iota takes no operands, got ${avals.length}`);
    if (shape.some((d) => !Number.isInteger(d) || d < 0))
      throw new TypeError(`iota: invalid shape ${formatShape(shape)}`);
    if (!Number.isInteger(dimension) || dimension < 0 || dimension >= shape.length) {
      throw new RangeError(`iota: dimension ${dimension} is out of bounds for shape ${formatShape(shape)}`);
    }
    if (dtype === "bool" || dtype === "float16") throw new TypeError(`iota does not accept dtype ${dtype}`);
    return [new ShapedArray(shape, dtype)];
  },
  cpu: (_inputs, _in, [out], { shape, dimension }) => {
    const stride = stridesOf(shape)[dimension];
    const n = shape[dimension];
    const y = hostArray(out.dtype, out.size);
    for (let i = 0; i < y.length; i++) y[i] = Math.floor(i / stride) % n;
    return [y];
  },
  wgsl: (_in, [out], { shape, dimension }) => {
    const stride = stridesOf(shape)[dimension];
    const t = wgslStorageType(out.dtype);
    return { body: `out[i] = ${t}((i / ${stride}u) % ${shape[dimension]}u);` };
  },
};
