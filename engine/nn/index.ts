/** `nn`: neural-network helpers built from jnp (as `jax.nn`). */
export {};
// [elementwise] nn
// [end elementwise]
