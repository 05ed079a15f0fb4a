/** lax wrappers of the iota, sort, erf_inv and threefry2x32 primitives (as in `jax.lax`). */
import { Primitive } from "../core/primitive.js";
import { bind, bind1, type Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";
import { normalizeAxis } from "../shape.js";

/** `lax.iota(dtype, size)`: [0, 1, ..., size - 1]. */
export function iota(dtype: DType, size: number): Tracer {
  return broadcastedIota(dtype, [size], 0);
}

/** `lax.broadcasted_iota`: an array of `shape` whose values count along `dimension`. */
export function broadcastedIota(dtype: DType, shape: readonly number[], dimension: number): Tracer {
  const dim = normalizeAxis("lax.broadcastedIota", dimension, shape.length);
  return bind1(Primitive.Iota, [], { dtype, shape: [...shape], dimension: dim, sharding: null });
}

export interface SortOptions {
  dimension?: number;
  isStable?: boolean;
  numKeys?: number;
}

/**
 * `lax.sort`: sorts one operand, or several together ordered by the first `numKeys` of them.
 * NaNs sort to the end; -0.0 and 0.0 tie.
 */
export function sort(operand: Tracer, options?: SortOptions): Tracer;
export function sort(operands: readonly Tracer[], options?: SortOptions): Tracer[];
export function sort(operands: Tracer | readonly Tracer[], options: SortOptions = {}): Tracer | Tracer[] {
  const list = Array.isArray(operands) ? (operands as readonly Tracer[]) : [operands as Tracer];
  if (list.length === 0) throw new TypeError("lax.sort needs at least one operand");
  const dimension = normalizeAxis("lax.sort", options.dimension ?? -1, list[0].ndim);
  const outs = bind(Primitive.Sort, list, {
    dimension,
    is_stable: options.isStable ?? true,
    num_keys: options.numKeys ?? 1,
  });
  return Array.isArray(operands) ? outs : outs[0];
}

/** `lax.sort_key_val`: sorts `values` by `keys` along `dimension`; returns [sortedKeys, values]. */
export function sortKeyVal(keys: Tracer, values: Tracer, dimension = -1, isStable = true): [Tracer, Tracer] {
  const [k, v] = sort([keys, values], { dimension, isStable, numKeys: 1 });
  return [k, v];
}

/** `lax.erf_inv`: the inverse error function. */
export function erfInv(x: Tracer): Tracer {
  return bind1(Primitive.ErfInv, [x], {});
}

/** The Threefry-2x32 block cipher on uint32 words (JAX's threefry2x32_p): returns [y0, y1]. */
export function threefry2x32(k0: Tracer, k1: Tracer, x0: Tracer, x1: Tracer): [Tracer, Tracer] {
  const [y0, y1] = bind(Primitive.Threefry2x32, [k0, k1, x0, x1], {});
  return [y0, y1];
}
