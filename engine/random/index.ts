/**
 * `random`: JAX's functional PRNG (explicit keys; same key, same numbers, on every device).
 *
 * Keys are uint32 arrays of shape (2,), like JAX's legacy `jax.random.PRNGKey` (raw key data, no
 * typed key arrays): `random.key(0)` and `random.PRNGKey(0)` both give [0, 0]. The bit streams are
 * JAX's Threefry-2x32 ones under its default `jax_threefry_partitionable=True`.
 */
// [random-sort] random
export { key, PRNGKey, keyData, wrapKeyData, split, foldIn, bits, type KeyArray } from "./keys.js";
export {
  uniform,
  normal,
  gumbel,
  bernoulli,
  categorical,
  randint,
  permutation,
  type UniformOptions,
} from "./distributions.js";
// [end random-sort]
