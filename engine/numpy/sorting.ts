/** `jnp.sort` and `jnp.argsort`, through the sort primitive as in JAX (jax/_src/numpy/sorting.py). */
import { Primitive } from "../core/primitive.js";
import { bind, bind1, type Tracer } from "../core/trace.js";
import { normalizeAxis } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { ravel } from "./shape-ops.js";

export interface SortOptions {
  /** The axis to sort along (default -1); null sorts the flattened array. */
  axis?: number | null;
  /** Keep ties in their original order (JAX's default for both functions). */
  stable?: boolean;
  /** Largest first. */
  descending?: boolean;
}

function options(arg: number | null | SortOptions | undefined): SortOptions {
  if (arg === undefined) return {};
  if (arg === null || typeof arg === "number") return { axis: arg };
  return arg;
}

function sortParams(dimension: number, stable: boolean, numKeys = 1) {
  return { dimension, is_stable: stable, num_keys: numKeys };
}

/**
 * Reverses `xs` (all of one shape) along `dimension` (JAX uses lax.rev here): a stable sort keyed by
 * the reversed positions n-1-i, so it needs no primitive beyond sort and iota.
 * TODO: use lax.rev once the shape-indexing area provides it.
 */
function reverseAlong(xs: Tracer[], dimension: number): Tracer[] {
  const shape = xs[0].shape;
  const pos = bind1(Primitive.Iota, [], { dtype: "int32", shape: [...shape], dimension, sharding: null });
  const reversed = bind1(Primitive.Sub, [asArray(shape[dimension] - 1, "int32"), pos], {});
  return bind(Primitive.Sort, [reversed, ...xs], sortParams(dimension, true)).slice(1);
}

function prepare(what: string, x0: ArrayLike, opts: SortOptions): [Tracer, number] {
  let x = asArray(x0);
  let axis = opts.axis === undefined ? -1 : opts.axis;
  if (axis === null) {
    x = ravel(x);
    axis = 0;
  }
  if (x.ndim === 0) throw new TypeError(`${what}: cannot sort a rank-0 array (shape ())`);
  return [x, normalizeAxis(what, axis, x.ndim)];
}

/** `jnp.sort(x, {axis=-1, stable=true, descending=false})`: NaNs sort to the end. */
export function sort(x: ArrayLike, axis?: number | null | SortOptions): Tracer {
  const opts = options(axis);
  const [a, dim] = prepare("jnp.sort", x, opts);
  const [sorted] = bind(Primitive.Sort, [a], sortParams(dim, opts.stable ?? true));
  return opts.descending ? reverseAlong([sorted], dim)[0] : sorted;
}

/**
 * `jnp.argsort(x, {axis=-1, stable=true, descending=false})`: int32 indices that sort `x`; sorts
 * (x, iota) with num_keys=1 and keeps the second result. A stable descending sort reverses x and
 * the indices first, so that ties keep their original order once the result is reversed (as JAX).
 */
export function argsort(x: ArrayLike, axis?: number | null | SortOptions): Tracer {
  const opts = options(axis);
  const stable = opts.stable ?? true;
  const [a, dim] = prepare("jnp.argsort", x, opts);
  let operands = [
    a,
    bind1(Primitive.Iota, [], { dtype: "int32", shape: [...a.shape], dimension: dim, sharding: null }),
  ];
  if (opts.descending && stable) operands = reverseAlong(operands, dim);
  const [, indices] = bind(Primitive.Sort, operands, sortParams(dim, stable));
  return opts.descending ? reverseAlong([indices], dim)[0] : indices;
}
