/**
 * Array creation: zeros, ones, full, arange, linspace, eye, tri and tril/triu (`array` itself is in
 * array-like.ts).
 */
import { ShapedArray } from "../core/aval.js";
import { fromHost } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { hostArray, type DType } from "../dtype.js";
import { formatShape } from "../shape.js";
import { asArray, type ArrayLike, type ArrayOptions } from "./array-like.js";

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

/** `jnp.empty`: JAX has no uninitialised memory, so this is `zeros`. */
export function empty(shape: readonly number[] | number, options: ArrayOptions = {}): Tracer {
  return full(shape, 0, options);
}

export function emptyLike(x: Tracer, options: ArrayOptions = {}): Tracer {
  return zerosLike(x, options);
}

export function fullLike(x: Tracer, value: number | boolean, options: ArrayOptions = {}): Tracer {
  return full(x.shape, value, { dtype: x.dtype, ...options });
}

function checkDim(what: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw new TypeError(`jnp.${what}: ${name} must be a non-negative integer, got ${n}`);
}

/**
 * `jnp.tri(N, M = N, {k = 0, dtype = float32})`: ones at and below the k-th diagonal. Built from
 * primitives as lax._tri does, so it also works inside transforms:
 * convert_element_type(iota(0) + k >= iota(1)).
 */
export function tri(n: number, m?: number, options: { k?: number; dtype?: DType } = {}): Tracer {
  const cols = m ?? n;
  checkDim("tri", "N", n);
  checkDim("tri", "M", cols);
  const k = options.k ?? 0;
  if (!Number.isInteger(k)) throw new TypeError(`jnp.tri: k must be an integer, got ${k}`);
  const shape = [n, cols];
  const iota = (dimension: number) =>
    bind1(Primitive.Iota, [], { dtype: "int32", shape, dimension, sharding: null });
  const rows = bind1(Primitive.Add, [iota(0), asArray(k, "int32")], {});
  const mask = bind1(Primitive.Ge, [rows, iota(1)], {});
  // lax._tri binds convert_element_type even when the dtype is already bool.
  return bind1(Primitive.ConvertElementType, [mask], {
    new_dtype: options.dtype ?? "float32",
    weak_type: false,
  });
}

/** select_n between x and zeros under the (N, M) mask `tri(N, M, k)`, broadcast over leading axes. */
function triangle(what: string, x0: ArrayLike, k: number, lower: boolean): Tracer {
  const x = asArray(x0);
  if (x.ndim < 2)
    throw new TypeError(`jnp.${what}: the argument must be at least 2-D, got shape ${formatShape(x.shape)}`);
  const [n, m] = x.shape.slice(-2);
  let mask = tri(n, m, { k: lower ? k : k - 1, dtype: "bool" });
  if (x.ndim > 2) {
    mask = bind1(Primitive.BroadcastInDim, [mask], {
      shape: [...x.shape],
      broadcast_dimensions: [x.ndim - 2, x.ndim - 1],
    });
  }
  // JAX's zeros_like: a scalar zero broadcast to the shape.
  const zeros = bind1(Primitive.BroadcastInDim, [asArray(0, x.dtype)], {
    shape: [...x.shape],
    broadcast_dimensions: [],
  });
  // lax.select(mask, x, zeros) for tril; lax.select(mask, zeros, x) (with k - 1) for triu.
  return bind1(Primitive.SelectN, lower ? [mask, zeros, x] : [mask, x, zeros], {});
}

/** `jnp.tril(x, {k = 0})`: x at and below the k-th diagonal of the last two axes, zeros above. */
export function tril(x: ArrayLike, options: { k?: number } | number = {}): Tracer {
  return triangle("tril", x, typeof options === "number" ? options : (options.k ?? 0), true);
}

/** `jnp.triu(x, {k = 0})`: x at and above the k-th diagonal of the last two axes, zeros below. */
export function triu(x: ArrayLike, options: { k?: number } | number = {}): Tracer {
  return triangle("triu", x, typeof options === "number" ? options : (options.k ?? 0), false);
}
