/** Array creation: zeros, ones, full, arange, linspace, eye (`array` itself is in array-like.ts). */
import { ShapedArray } from "../core/aval.js";
import { fromHost } from "../core/from-host.js";
import type { Tracer } from "../core/trace.js";
import { hostArray, type DType } from "../dtype.js";
import { formatShape } from "../shape.js";
import type { ArrayOptions } from "./array-like.js";

function checkShape(what: string, shape: readonly number[] | number): number[] {
  const s = typeof shape === "number" ? [shape] : [...shape];
  if (s.some((d) => !Number.isInteger(d) || d < 0))
    throw new TypeError(`jnp.${what}: invalid shape ${formatShape(s)}`);
  return s;
}

export function full(
  shape: readonly number[] | number,
  value: number | boolean,
  options: ArrayOptions = {},
): Tracer {
  const s = checkShape("full", shape);
  const dtype: DType = options.dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  const host = hostArray(
    dtype,
    s.reduce((a, b) => a * b, 1),
  ).fill(+value);
  return fromHost(host, new ShapedArray(s, dtype), options.device);
}

export function zeros(shape: readonly number[] | number, options: ArrayOptions = {}): Tracer {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[] | number, options: ArrayOptions = {}): Tracer {
  return full(shape, 1, options);
}

export function zerosLike(x: Tracer, options: ArrayOptions = {}): Tracer {
  return full(x.shape, 0, { dtype: x.dtype, ...options });
}

export function onesLike(x: Tracer, options: ArrayOptions = {}): Tracer {
  return full(x.shape, 1, { dtype: x.dtype, ...options });
}

/** `arange(stop)` or `arange(start, stop, step?)`; integer arguments give int32, as in JAX. */
export function arange(start: number, stop?: number, step = 1, options: ArrayOptions = {}): Tracer {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("jnp.arange: step must not be zero");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const allInts = [start, stop, step].every(Number.isInteger);
  const dtype: DType = options.dtype ?? (allInts ? "int32" : "float32");
  const host = hostArray(dtype, n);
  for (let i = 0; i < n; i++) host[i] = start + i * step;
  return fromHost(host, new ShapedArray([n], dtype), options.device);
}

export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: ArrayOptions & { endpoint?: boolean } = {},
): Tracer {
  const endpoint = options.endpoint ?? true;
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  const dtype = options.dtype ?? "float32";
  const host = hostArray(dtype, num);
  for (let i = 0; i < num; i++) host[i] = start + i * step;
  if (endpoint && num > 1) host[num - 1] = stop;
  return fromHost(host, new ShapedArray([num], dtype), options.device);
}

export function eye(n: number, m = n, options: ArrayOptions & { k?: number } = {}): Tracer {
  const dtype = options.dtype ?? "float32";
  const k = options.k ?? 0;
  const host = hostArray(dtype, n * m);
  for (let i = 0; i < n; i++) if (i + k >= 0 && i + k < m) host[i * m + i + k] = 1;
  return fromHost(host, new ShapedArray([n, m], dtype), options.device);
}

export function identity(n: number, options: ArrayOptions = {}): Tracer {
  return eye(n, n, options);
}
