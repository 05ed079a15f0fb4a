/**
 * PRNG keys, as JAX's legacy `jax.random.PRNGKey` arrays: a key is a plain uint32 array of shape
 * (2,) holding the two words of a Threefry-2x32 key. Keys are values, never state: the same key
 * gives the same numbers on every call and every device, and fresh randomness comes from `split` or
 * `foldIn`. We follow JAX's default `jax_threefry_partitionable=True` bit streams (JAX >= 0.5).
 */
import { ShapedArray } from "../core/aval.js";
import { fromHost, literalArray } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { formatShape } from "../shape.js";
import { convert } from "../numpy/convert.js";

/** A PRNG key: uint32 key data of shape (2,) (JAX's legacy raw key arrays). */
export type KeyArray = Tracer;

const TWO_32 = 2 ** 32;

/** Checks that `key` is one raw threefry key; the error names the function and what it got. */
export function checkKey(what: string, key: unknown): Tracer {
  if (!(key instanceof Tracer)) {
    throw new TypeError(`random.${what}: expected a PRNG key (from random.key), got ${typeof key}`);
  }
  if (key.dtype !== "uint32" || key.ndim !== 1 || key.shape[0] !== 2) {
    throw new TypeError(
      `random.${what}: expected a single PRNG key, a uint32 array of shape (2,) from random.key, ` +
        `got ${key.dtype}${formatShape(key.shape)}` +
        (key.dtype === "uint32" && key.ndim > 1 && key.shape[key.ndim - 1] === 2
          ? " (a batch of keys: map over it with vmap)"
          : ""),
    );
  }
  return key;
}

/**
 * `random.key(seed)`: the key [0, seed mod 2^32], as JAX with 32-bit integers (`threefry_seed`: the
 * high word is seed >> 32, which is 0 for a 32-bit seed; negative seeds wrap, so -1 gives
 * [0, 4294967295]). A traced integer seed works too.
 */
export function key(seed: number | Tracer): KeyArray {
  if (seed instanceof Tracer) {
    if (seed.ndim !== 0 || (seed.dtype !== "int32" && seed.dtype !== "uint32")) {
      throw new TypeError(
        `random.key: the seed must be an integer scalar, got ${seed.dtype}${formatShape(seed.shape)}`,
      );
    }
    const low = convert(seed, "uint32");
    // [0, low]: broadcast the scalar to (2,) and zero the first word.
    const pair = bind1(Primitive.BroadcastInDim, [low], { shape: [2], broadcast_dimensions: [] });
    const position = bind1(Primitive.Iota, [], { dtype: "uint32", shape: [2], dimension: 0, sharding: null });
    return bind1(Primitive.Mul, [pair, position], {});
  }
  if (!Number.isSafeInteger(seed))
    throw new TypeError(`random.key: the seed must be an integer, got ${seed}`);
  const host = new Uint32Array([0, ((seed % TWO_32) + TWO_32) % TWO_32]);
  return fromHost(host, new ShapedArray([2], "uint32"));
}

/** `random.PRNGKey(seed)`: the same raw uint32 key as `random.key` (we have no typed key arrays). */
export function PRNGKey(seed: number | Tracer): KeyArray {
  return key(seed);
}

/** `random.keyData(key)`: the uint32 words of a key, which here is the key itself. */
export function keyData(keys: KeyArray): Tracer {
  return keys;
}

/** `random.wrapKeyData(data)`: a key from uint32 words of shape (..., 2). */
export function wrapKeyData(data: Tracer): KeyArray {
  if (data.dtype !== "uint32" || data.ndim < 1 || data.shape[data.ndim - 1] !== 2) {
    throw new TypeError(
      `random.wrapKeyData: key data must be uint32 of shape (..., 2), got ${data.dtype}${formatShape(data.shape)}`,
    );
  }
  return data;
}

/**
 * `random.split(key, num = 2)`: `num` new keys, shape (num, 2) (or (...shape, 2) for a shape).
 * Key i is threefry(key, (0, i)), so `split(key, n)[i]` equals `foldIn(key, i)`.
 */
export function split(k: KeyArray, num: number | readonly number[] = 2): Tracer {
  const keyArr = checkKey("split", k);
  const shape = typeof num === "number" ? [num] : [...num];
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new TypeError(`random.split: num must be a non-negative integer, got ${formatShape(shape)}`);
  return bind1(Primitive.RandomSplit, [keyArr], { shape });
}

/** `random.foldIn(key, data)`: a new key, a function of the key and a 32-bit integer. */
export function foldIn(k: KeyArray, data: number | Tracer): KeyArray {
  const keyArr = checkKey("foldIn", k);
  let msg: Tracer;
  if (data instanceof Tracer) {
    if (data.ndim !== 0) {
      throw new TypeError(
        `random.foldIn: data must be a scalar, got shape ${formatShape(data.shape)} (use vmap for batches)`,
      );
    }
    msg = convert(data, "uint32");
  } else {
    if (!Number.isSafeInteger(data))
      throw new TypeError(`random.foldIn: data must be an integer, got ${data}`);
    msg = literalArray(((data % TWO_32) + TWO_32) % TWO_32, new ShapedArray([], "uint32"));
  }
  return bind1(Primitive.RandomFoldIn, [keyArr, msg], {});
}

/**
 * The i-th key of `split(key, n)` without slicing: with partitionable threefry the two are equal
 * (JAX's test_threefry_split_fold_in_symmetry), so the samplers' `k1, k2 = split(key)` become these.
 */
export function splitKey(k: Tracer, i: number): Tracer {
  return bind1(Primitive.RandomFoldIn, [k, literalArray(i, new ShapedArray([], "uint32"))], {});
}

export function checkShape(what: string, shape: readonly number[] | number): number[] {
  const s = typeof shape === "number" ? [shape] : [...shape];
  if (s.some((d) => !Number.isInteger(d) || d < 0))
    throw new TypeError(`random.${what}: invalid shape ${formatShape(s)}`);
  return s;
}

/** `random.bits(key, shape = [], {dtype = "uint32"})`: uniformly random uint32 words. */
export function bits(
  k: KeyArray,
  shape: readonly number[] | number = [],
  options: { dtype?: string } = {},
): Tracer {
  const keyArr = checkKey("bits", k);
  const dtype = options.dtype ?? "uint32";
  if (dtype !== "uint32")
    throw new TypeError(`random.bits: dtype must be uint32 (the only unsigned dtype), got ${dtype}`);
  return bind1(Primitive.RandomBits, [keyArr], { bit_width: 32, shape: checkShape("bits", shape) });
}
