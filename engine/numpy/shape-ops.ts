/** Shape manipulation: reshape, transpose, broadcastTo, expandDims, squeeze, ravel. */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { broadcastShapes, formatShape, normalizeAxis, shapeEqual, sizeOf } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { broadcastTo as broadcastToShape } from "./promote.js";

/** Resolves one `-1` in a requested shape, with an error that names both shapes. */
function resolveShape(x: Tracer, shape: readonly number[]): number[] {
  const unknown = shape.filter((d) => d === -1).length;
  const known = sizeOf(shape.filter((d) => d !== -1));
  const bad = () =>
    new TypeError(
      `jnp.reshape: cannot reshape array of shape ${formatShape(x.shape)} (size ${x.size}) into shape ${formatShape(shape)}`,
    );
  if (unknown > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw bad();
  if (unknown === 1) {
    if (known === 0 || x.size % known !== 0) throw bad();
    return shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (known !== x.size) throw bad();
  return [...shape];
}

export function reshape(x: ArrayLike, shape: readonly number[] | number): Tracer {
  const a = asArray(x);
  const newShape = resolveShape(a, typeof shape === "number" ? [shape] : shape);
  if (shapeEqual(newShape, a.shape)) return a;
  return bind1(Primitive.Reshape, [a], { new_sizes: newShape, dimensions: null });
}

export function ravel(x: ArrayLike): Tracer {
  return reshape(x, [-1]);
}

export function transpose(x: ArrayLike, axes?: readonly number[] | { axes?: readonly number[] }): Tracer {
  const a = asArray(x);
  const given = Array.isArray(axes)
    ? (axes as readonly number[])
    : (axes as { axes?: readonly number[] } | undefined)?.axes;
  const perm = given
    ? given.map((p) => normalizeAxis("jnp.transpose", p, a.ndim))
    : a.shape.map((_, i) => a.ndim - 1 - i);
  if (perm.length !== a.ndim || new Set(perm).size !== perm.length) {
    throw new TypeError(
      `jnp.transpose: axes (${(given ?? []).join(", ")}) are not a permutation of the ${a.ndim} axes of shape ${formatShape(a.shape)}`,
    );
  }
  if (perm.every((p, i) => p === i)) return a;
  return bind1(Primitive.Transpose, [a], { permutation: perm });
}

export function broadcastTo(x: ArrayLike, shape: readonly number[]): Tracer {
  const a = asArray(x);
  const out = broadcastShapes("jnp.broadcastTo", a.shape, shape);
  if (!shapeEqual(out, shape)) {
    throw new TypeError(
      `jnp.broadcastTo: cannot broadcast shape ${formatShape(a.shape)} to ${formatShape(shape)}`,
    );
  }
  if (a.ndim === 0 && shape.length > 0)
    return bind1(Primitive.BroadcastInDim, [a], { shape: [...shape], broadcast_dimensions: [] });
  return broadcastToShape(a, shape);
}

export function expandDims(x: ArrayLike, axis: number | readonly number[]): Tracer {
  const a = asArray(x);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const rank = a.ndim + list.length;
  const axes = list.map((ax) => normalizeAxis("jnp.expandDims", ax, rank)).sort((p, q) => p - q);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : a.shape[k++]);
  return reshape(a, shape);
}

export function squeeze(x: ArrayLike, axis?: number | readonly number[] | null): Tracer {
  const a = asArray(x);
  const axes =
    axis === undefined || axis === null
      ? a.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : (typeof axis === "number" ? [axis] : [...axis]).map((ax) => normalizeAxis("jnp.squeeze", ax, a.ndim));
  for (const ax of axes) {
    if (a.shape[ax] !== 1) {
      throw new TypeError(
        `jnp.squeeze: cannot select axis ${ax} of shape ${formatShape(a.shape)}: its size is ${a.shape[ax]}, not 1`,
      );
    }
  }
  return reshape(
    a,
    a.shape.filter((_, i) => !axes.includes(i)),
  );
}
