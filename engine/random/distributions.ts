/**
 * Samplers, following jax/_src/random.py step by step so that the same key gives JAX's numbers.
 * Where JAX uses bitwise primitives we do not have yet (shift, or, bitcast, rem), we use arithmetic
 * that gives the same bits: `(bits >> 9) | 0x3f800000` reinterpreted as a float, minus 1, is
 * exactly `f32(bits / 512) * 2^-23`; `rem(a, b)` on uint32 is `a - (a / b) * b`.
 */
import { ShapedArray } from "../core/aval.js";
import { literalArray } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind, bind1, type Tracer } from "../core/trace.js";
import { isFloating, type DType } from "../dtype.js";
import { broadcastShapes, formatShape, normalizeAxis, shapeEqual } from "../shape.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";
import { convert } from "../numpy/convert.js";
import { add, less, log, maximum, multiply, negative, subtract } from "../numpy/elementwise.js";
import { broadcastTo } from "../numpy/promote.js";
import { bits, checkKey, checkShape, splitKey, type KeyArray } from "./keys.js";

type ShapeArg = readonly number[] | number;

const u32 = (v: number) => literalArray(v, new ShapedArray([], "uint32"));
const i32 = (v: number) => literalArray(v, new ShapedArray([], "int32"));
const f32 = (v: number) => literalArray(v, new ShapedArray([], "float32"));

function floatDType(what: string, dtype: DType | undefined): DType {
  const d = dtype ?? "float32";
  if (d !== "float32") {
    throw new TypeError(
      `random.${what}: dtype must be a float dtype (float32), got ${d}` +
        (isFloating(d) ? " (float16 is not supported on this device)" : ""),
    );
  }
  return d;
}

/** Broadcasts `x` to `shape` (numpy rules), with an error naming the sampler and both shapes. */
function broadcastParam(what: string, x: Tracer, shape: readonly number[]): Tracer {
  const out = broadcastShapes(`random.${what}`, x.shape, shape);
  if (!shapeEqual(out, shape)) {
    throw new TypeError(
      `random.${what}: parameter shape ${formatShape(x.shape)} must broadcast to the shape argument ${formatShape(shape)}`,
    );
  }
  if (x.ndim === 0)
    return bind1(Primitive.BroadcastInDim, [x], { shape: [...shape], broadcast_dimensions: [] });
  return broadcastTo(x, shape);
}

export interface UniformOptions {
  dtype?: DType;
  minval?: ArrayLike;
  maxval?: ArrayLike;
}

/** Uniform floats in [0, 1): 23 random mantissa bits, as JAX's `_uniform`, bit for bit. */
function unitFloats(k: Tracer, shape: number[]): Tracer {
  const words = bits(k, shape);
  const mantissa = bind1(Primitive.Div, [words, u32(512)], {}); // bits >> (32 - 23)
  return bind1(Primitive.Mul, [convert(mantissa, "float32"), f32(2 ** -23)], {});
}

/** `random.uniform(key, shape = [], {dtype, minval = 0, maxval = 1})`: floats in [minval, maxval). */
export function uniform(k: KeyArray, shape: ShapeArg = [], options: UniformOptions = {}): Tracer {
  const keyArr = checkKey("uniform", k);
  const s = checkShape("uniform", shape);
  const dtype = floatDType("uniform", options.dtype);
  const minval = asArray(options.minval ?? 0, dtype);
  const maxval = asArray(options.maxval ?? 1, dtype);
  const floats = unitFloats(keyArr, s);
  // lax.max(minval, floats * (maxval - minval) + minval): the max guards against rounding below minval.
  const scaled = add(multiply(floats, subtract(maxval, minval)), minval);
  return convert(maximum(minval, scaled), dtype);
}

/** `random.normal(key, shape = [], {dtype})`: sqrt(2) * erf_inv(u), u uniform in (-1, 1), as JAX. */
export function normal(k: KeyArray, shape: ShapeArg = [], options: { dtype?: DType } = {}): Tracer {
  const keyArr = checkKey("normal", k);
  const dtype = floatDType("normal", options.dtype);
  checkShape("normal", shape);
  // nextafter(-1, 0) in float32, so that erf_inv stays finite.
  const u = uniform(keyArr, shape, { dtype, minval: -(1 - 2 ** -24), maxval: 1 });
  return bind1(Primitive.Mul, [f32(Math.fround(Math.SQRT2)), bind1(Primitive.ErfInv, [u], {})], {});
}

/** `random.gumbel(key, shape = [], {dtype})`: -log(-log(u)), u uniform in [tiny, 1). */
export function gumbel(k: KeyArray, shape: ShapeArg = [], options: { dtype?: DType } = {}): Tracer {
  const keyArr = checkKey("gumbel", k);
  const dtype = floatDType("gumbel", options.dtype);
  checkShape("gumbel", shape);
  // jnp.finfo(float32).tiny, the smallest normal float32.
  const u = uniform(keyArr, shape, { dtype, minval: 2 ** -126, maxval: 1 });
  return negative(log(negative(log(u))));
}

/**
 * `random.bernoulli(key, p = 0.5, shape?)`: booleans, true with probability p (uniform < p). The
 * shape defaults to p's.
 */
export function bernoulli(k: KeyArray, p: ArrayLike = 0.5, shape?: ShapeArg): Tracer {
  const keyArr = checkKey("bernoulli", k);
  let prob = asArray(p);
  if (!isFloating(prob.dtype)) {
    if (typeof p !== "number")
      throw new TypeError(`random.bernoulli: p must have a floating dtype, got ${prob.dtype}`);
    prob = asArray(p, "float32");
  }
  const s = shape === undefined ? [...prob.shape] : checkShape("bernoulli", shape);
  if (shape !== undefined) broadcastShapes("random.bernoulli", s, prob.shape);
  return less(uniform(keyArr, s, { dtype: prob.dtype }), prob);
}

/**
 * Index of the largest element along `axis` (the first one on ties; NaN counts as largest, as in
 * jnp.argmax). A stable sort by (value, -position) leaves that index in the last slot of each line,
 * which a masked sum then picks out. (reduce_max on float32 cannot be used: its WGSL kernel starts
 * from a constant -inf, which WGSL rejects.)
 * TODO: switch to jnp.argmax once the reductions area provides it.
 */
function argmaxAlong(v: Tracer, axis: number): Tracer {
  const shape = [...v.shape];
  const position = bind1(Primitive.Iota, [], { dtype: "int32", shape, dimension: axis, sharding: null });
  const negated = bind1(Primitive.Neg, [position], {});
  const [, , order] = bind(Primitive.Sort, [v, negated, position], {
    dimension: axis,
    is_stable: true,
    num_keys: 2,
  });
  const isLast = bind1(Primitive.Eq, [position, i32(v.shape[axis] - 1)], {});
  const zeros = bind1(Primitive.BroadcastInDim, [i32(0)], { shape, broadcast_dimensions: [] });
  return bind1(Primitive.ReduceSum, [bind1(Primitive.SelectN, [isLast, zeros, order], {})], { axes: [axis] });
}

/**
 * `random.categorical(key, logits, {axis = -1, shape?})`: samples indices with probabilities
 * softmax(logits) along `axis` by the Gumbel-max trick: argmax(logits + gumbel noise). `shape`
 * defaults to the batch shape (logits' shape without `axis`); extra leading axes draw more samples.
 */
export function categorical(
  k: KeyArray,
  logits: ArrayLike,
  options: { axis?: number; shape?: readonly number[] } = {},
): Tracer {
  const keyArr = checkKey("categorical", k);
  const l = asArray(logits);
  if (!isFloating(l.dtype))
    throw new TypeError(`random.categorical: logits must be floating, got ${l.dtype}`);
  if (l.ndim === 0) throw new TypeError("random.categorical: logits must have at least one axis");
  // JAX makes the axis negative so that it still names the logits' axis after leading sample axes.
  const axis = normalizeAxis("random.categorical", options.axis ?? -1, l.ndim) - l.ndim;
  const batchShape = l.shape.filter((_, d) => d !== l.ndim + axis);
  const shape = options.shape ? checkShape("categorical", options.shape) : batchShape;
  if (
    shape.length < batchShape.length ||
    !shapeEqual(broadcastShapes("random.categorical", shape, batchShape), shape)
  ) {
    throw new TypeError(
      `random.categorical: shape ${formatShape(shape)} must end with a shape the batch shape ` +
        `${formatShape(batchShape)} broadcasts to`,
    );
  }
  const prefix = shape.slice(0, shape.length - batchShape.length);
  const logitsShape = shape.slice(shape.length - batchShape.length);
  logitsShape.splice(l.ndim + axis, 0, l.shape[l.ndim + axis]);
  const fullShape = [...prefix, ...logitsShape];
  const noise = gumbel(keyArr, fullShape, { dtype: l.dtype });
  const expanded = bind1(Primitive.BroadcastInDim, [l], {
    shape: fullShape,
    broadcast_dimensions: l.shape.map((_, d) => d + prefix.length),
  });
  return argmaxAlong(add(noise, expanded), fullShape.length + axis);
}

/** uint32 remainder a mod b (lax.rem) from div, mul and sub, which wrap like uint32. */
function uRem(a: Tracer, b: Tracer): Tracer {
  const q = bind1(Primitive.Div, [a, b], {});
  return bind1(Primitive.Sub, [a, bind1(Primitive.Mul, [q, b], {})], {});
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function intParam(what: string, x: ArrayLike): Tracer {
  if (typeof x === "number") {
    if (!Number.isFinite(x)) throw new TypeError(`random.${what}: bounds must be finite, got ${x}`);
    // _convert_and_clip_integer: out-of-range bounds clip to int32's range.
    return asArray(Math.min(INT32_MAX, Math.max(INT32_MIN, Math.trunc(x))), "int32");
  }
  const a = asArray(x);
  return a.dtype === "int32" ? a : convert(a, "int32");
}

/**
 * `random.randint(key, shape, minval, maxval, {dtype = "int32"})`: integers in [minval, maxval).
 * JAX's algorithm: 64 random bits per value reduced modulo the span (little bias), minval when
 * maxval <= minval.
 */
export function randint(
  k: KeyArray,
  shape: ShapeArg,
  minval: ArrayLike,
  maxval: ArrayLike,
  options: { dtype?: DType } = {},
): Tracer {
  const keyArr = checkKey("randint", k);
  const s = checkShape("randint", shape);
  if ((options.dtype ?? "int32") !== "int32")
    throw new TypeError(`random.randint: dtype must be int32, got ${options.dtype}`);
  const lo = broadcastParam("randint", intParam("randint", minval), s);
  const hi = broadcastParam("randint", intParam("randint", maxval), s);
  const higherBits = bits(splitKey(keyArr, 0), s);
  const lowerBits = bits(splitKey(keyArr, 1), s);
  let span = convert(bind1(Primitive.Sub, [hi, lo], {}), "uint32");
  const ones = bind1(Primitive.BroadcastInDim, [u32(1)], { shape: s, broadcast_dimensions: [] });
  // span = 1 when maxval <= minval, so that minval is returned (jax#222).
  span = bind1(Primitive.SelectN, [bind1(Primitive.Le, [hi, lo], {}), span, ones], {});
  // (a * 2^32 + b) mod span without 64-bit integers: 2^32 mod span = (2^16 mod span)^2 mod span.
  let multiplier = uRem(
    bind1(Primitive.BroadcastInDim, [u32(2 ** 16)], { shape: s, broadcast_dimensions: [] }),
    span,
  );
  multiplier = uRem(bind1(Primitive.Mul, [multiplier, multiplier], {}), span);
  const offset = uRem(
    bind1(
      Primitive.Add,
      [bind1(Primitive.Mul, [uRem(higherBits, span), multiplier], {}), uRem(lowerBits, span)],
      {},
    ),
    span,
  );
  return bind1(Primitive.Add, [lo, convert(offset, "int32")], {});
}

/**
 * JAX's `_shuffle`: sorts by fresh random 32-bit keys, repeated ceil(3 ln(n) / ln(2^32 - 1)) times
 * so that key collisions leave no bias. `sortKeysShape` is the shape of the random keys, broadcast
 * along the other axes when it is only the shuffled axis (then every line moves the same way).
 */
function shuffle(k: Tracer, x: Tracer, axis: number, count: number, keysAlongAxisOnly: boolean): Tracer {
  const rounds = Math.ceil((3 * Math.log(Math.max(1, count))) / Math.log(2 ** 32 - 1));
  let keyArr = k;
  let out = x;
  for (let r = 0; r < rounds; r++) {
    const subkey = splitKey(keyArr, 1);
    keyArr = splitKey(keyArr, 0);
    let sortKeys = bits(subkey, keysAlongAxisOnly ? [x.shape[axis]] : [...x.shape]);
    if (keysAlongAxisOnly && x.ndim > 1) {
      sortKeys = bind1(Primitive.BroadcastInDim, [sortKeys], {
        shape: [...x.shape],
        broadcast_dimensions: [axis],
      });
    }
    out = bind(Primitive.Sort, [sortKeys, out], { dimension: axis, is_stable: true, num_keys: 1 })[1];
  }
  return out;
}

/**
 * `random.permutation(key, x, {axis = 0, independent = false})`: a random permutation of
 * arange(x) for an integer x, or of x along `axis` (every line the same way unless `independent`).
 */
export function permutation(
  k: KeyArray,
  x: number | ArrayLike,
  options: { axis?: number; independent?: boolean } = {},
): Tracer {
  const keyArr = checkKey("permutation", k);
  if (typeof x === "number") {
    if (!Number.isInteger(x) || x < 0)
      throw new TypeError(`random.permutation: x must be a non-negative integer or an array, got ${x}`);
    const range = bind1(Primitive.Iota, [], { dtype: "int32", shape: [x], dimension: 0, sharding: null });
    return shuffle(keyArr, range, 0, x, false);
  }
  const arr = asArray(x);
  if (arr.ndim === 0) throw new TypeError("random.permutation: x must be an integer or at least 1-D");
  const axis = normalizeAxis("random.permutation", options.axis ?? 0, arr.ndim);
  if (options.independent || arr.ndim === 1) return shuffle(keyArr, arr, axis, arr.size, false);
  // JAX shuffles arange(n) and takes along the axis; sorting every line by the same keys is the same.
  return shuffle(keyArr, arr, axis, arr.shape[axis], true);
}
