/** Making concrete arrays from host data (uploads to the chosen device, keeping the host copy). */
import { defaultDevice } from "../backend/devices.js";
import type { Device } from "../backend/device.js";
import { hostArray, type TypedArray } from "../dtype.js";
import { ShapedArray } from "./aval.js";
import { ConcreteArray } from "./concrete-array.js";

export function fromHost(
  host: TypedArray,
  aval: ShapedArray,
  device: Device = defaultDevice(),
): ConcreteArray {
  if (host.length !== aval.size)
    throw new Error(`fromHost: ${host.length} values for shape (${aval.shape.join(", ")})`);
  return new ConcreteArray(aval, device, device.upload(host, aval), host);
}

/** A rank-0 array holding `value` with the dtype (and weak type) of `aval`. */
export function literalArray(value: number | boolean, aval: ShapedArray): ConcreteArray {
  const host = hostArray(aval.dtype, 1);
  host[0] = typeof value === "boolean" ? +value : value;
  return fromHost(host, new ShapedArray([], aval.dtype, aval.weakType));
}
