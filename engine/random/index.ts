/** `random`: JAX's functional PRNG (explicit keys; same key, same numbers, on every device). */
export {};
// [random-sort] random
// [end random-sort]
