/** Turning what users pass (arrays, JS numbers, nested lists, typed arrays) into engine arrays. */
import { ShapedArray } from "../core/aval.js";
import { fromHost, literalArray } from "../core/from-host.js";
import { Tracer } from "../core/trace.js";
import { hostArray, isDType, type DType, type TypedArray } from "../dtype.js";
import type { Device } from "../backend/device.js";
import { convert } from "./convert.js";

export type NestedNumbers = number | boolean | readonly NestedNumbers[];
/** Anything the numpy functions accept as an array. */
export type ArrayLike = Tracer | number | boolean | readonly NestedNumbers[] | TypedArray;

export interface ArrayOptions {
  dtype?: DType;
  device?: Device;
}

function dtypeOfTypedArray(x: TypedArray): DType {
  if (x instanceof Float32Array) return "float32";
  if (x instanceof Int32Array) return "int32";
  if (x instanceof Uint32Array) return "uint32";
  if (x instanceof Uint8Array) return "bool";
  return "float16";
}

/** Shape of a nested list; ragged lists are an error that says where. */
function nestedShape(x: NestedNumbers, path = "array"): number[] {
  if (!Array.isArray(x)) return [];
  if (x.length === 0) return [0];
  const inner = nestedShape(x[0] as NestedNumbers, `${path}[0]`);
  x.forEach((c: NestedNumbers, i: number) => {
    const s = nestedShape(c, `${path}[${i}]`);
    if (s.length !== inner.length || s.some((d, k) => d !== inner[k])) {
      throw new TypeError(
        `jnp.array: the nested list is ragged: ${path}[0] has shape (${inner.join(", ")}) but ${path}[${i}] has shape (${s.join(", ")})`,
      );
    }
  });
  return [x.length, ...inner];
}

function flattenNested(x: NestedNumbers, out: (number | boolean)[]): void {
  if (Array.isArray(x)) for (const c of x as NestedNumbers[]) flattenNested(c, out);
  else if (typeof x === "number" || typeof x === "boolean") out.push(x);
  else throw new TypeError(`jnp.array: expected numbers or booleans in the nested list, got ${typeof x}`);
}

/**
 * A new concrete array from host data. JS numbers become float32 (JAX's default, no silent float64);
 * booleans become bool; typed arrays keep their element type.
 */
export function array(x: ArrayLike, options: ArrayOptions = {}): Tracer {
  if (options.dtype !== undefined && !isDType(options.dtype)) {
    throw new TypeError(`jnp.array: unknown dtype '${String(options.dtype)}' (float32, int32, uint32, bool)`);
  }
  if (x instanceof Tracer) return options.dtype && options.dtype !== x.dtype ? convert(x, options.dtype) : x;
  let shape: number[];
  let values: ArrayLike;
  let inferred: DType;
  if (ArrayBuffer.isView(x)) {
    shape = [x.length];
    values = x;
    inferred = dtypeOfTypedArray(x);
  } else {
    shape = nestedShape(x as NestedNumbers);
    const flat: (number | boolean)[] = [];
    flattenNested(x as NestedNumbers, flat);
    values = flat.map(Number);
    inferred = flat.length > 0 && flat.every((v) => typeof v === "boolean") ? "bool" : "float32";
  }
  const dtype = options.dtype ?? inferred;
  if (dtype === "float16") throw new TypeError("jnp.array: float16 is not supported on this device");
  const host = hostArray(
    dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  const src = values as unknown as { readonly [i: number]: number };
  for (let i = 0; i < host.length; i++) host[i] = dtype === "bool" ? +(src[i] !== 0) : src[i];
  return fromHost(host, new ShapedArray(shape, dtype), options.device);
}

/** Scalars are weakly typed: they take the dtype of the array they meet, as Python scalars do in JAX. */
export function asArray(x: ArrayLike, dtype?: DType): Tracer {
  if (x instanceof Tracer) return dtype && dtype !== x.dtype ? convert(x, dtype) : x;
  if (typeof x === "number" || typeof x === "boolean") {
    const d = dtype ?? (typeof x === "boolean" ? "bool" : "float32");
    return literalArray(x, new ShapedArray([], d, true));
  }
  return array(x, { dtype });
}
