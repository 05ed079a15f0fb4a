/** Joining, splitting and repeating arrays: concatenate, stack, hstack, vstack, split, tile, repeat. */
import { Tracer } from "../core/trace.js";
import { formatShape, normalizeAxis, shapeEqual } from "../shape.js";
import * as lax from "../lax/slicing.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { promoteDTypes } from "./promote.js";
import { broadcastTo, ravel, reshape } from "./shape-ops.js";
import { take } from "./take.js";

/** `f(x, axis)` or `f(x, {axis})`. */
export type AxisOption = number | null | { axis?: number | null };

function axisOf(arg: AxisOption | undefined, fallback: number | null): number | null {
  if (arg === undefined) return fallback;
  if (arg === null || typeof arg === "number") return arg;
  return arg.axis === undefined ? fallback : arg.axis;
}

/** jnp.concatenate: joins arrays along an existing axis (default 0; `null` flattens them first). */
export function concatenate(arrays: readonly ArrayLike[], axis?: AxisOption): Tracer {
  if (arrays.length === 0) throw new TypeError("jnp.concatenate: need at least one array to concatenate");
  let xs = promoteDTypes(...arrays);
  let ax = axisOf(axis, 0);
  if (ax === null) {
    xs = xs.map((x) => ravel(x));
    ax = 0;
  }
  if (xs.some((x) => x.ndim === 0))
    throw new TypeError("jnp.concatenate: zero-dimensional arrays cannot be concatenated");
  const rank = xs[0].ndim;
  const a = normalizeAxis("jnp.concatenate", ax, rank);
  const ref = xs[0].shape;
  for (const x of xs) {
    if (x.ndim !== rank || x.shape.some((n, d) => d !== a && n !== ref[d]))
      throw new TypeError(
        `jnp.concatenate: all input array dimensions except for the concatenation axis ${a} must match, ` +
          `got shapes ${xs.map((y) => formatShape(y.shape)).join(", ")}`,
      );
  }
  return lax.concatenate(xs, a);
}

/** jnp.stack: joins arrays of one shape along a new axis. */
export function stack(arrays: readonly ArrayLike[], axis?: AxisOption): Tracer {
  if (arrays.length === 0) throw new TypeError("jnp.stack: need at least one array to stack");
  const xs = promoteDTypes(...arrays);
  const shape = xs[0].shape;
  if (xs.some((x) => !shapeEqual(x.shape, shape)))
    throw new TypeError(
      `jnp.stack: all input arrays must have the same shape, got ${xs.map((x) => formatShape(x.shape)).join(", ")}`,
    );
  const a = normalizeAxis("jnp.stack", axisOf(axis, 0) ?? 0, shape.length + 1);
  return lax.concatenate(
    xs.map((x) => lax.expandDims(x, [a])),
    a,
  );
}

function atLeast(x: Tracer, rank: 1 | 2): Tracer {
  if (x.ndim >= rank) return x;
  if (x.ndim === 0) return reshape(x, rank === 1 ? [1] : [1, 1]);
  return lax.expandDims(x, [0]);
}

/** jnp.hstack: concatenates along axis 1 (axis 0 for 1-D arrays). */
export function hstack(arrays: readonly ArrayLike[]): Tracer {
  const xs = arrays.map((x) => atLeast(asArray(x), 1));
  return concatenate(xs, xs[0]?.ndim === 1 ? 0 : 1);
}

/** jnp.vstack: concatenates along axis 0, after making 1-D arrays rows. */
export function vstack(arrays: readonly ArrayLike[]): Tracer {
  return concatenate(
    arrays.map((x) => atLeast(asArray(x), 2)),
    0,
  );
}

/**
 * jnp.split: into `sections` equal parts, or at the given indices (numpy's rules: indices past the
 * end give empty pieces).
 */
export function split(
  ary: ArrayLike,
  indicesOrSections: number | readonly number[],
  axis?: AxisOption,
): Tracer[] {
  const x = asArray(ary);
  const a = normalizeAxis("jnp.split", axisOf(axis, 0) ?? 0, x.ndim);
  const n = x.shape[a];
  let points: number[];
  if (typeof indicesOrSections === "number") {
    const k = indicesOrSections;
    if (!Number.isInteger(k) || k <= 0)
      throw new RangeError(`jnp.split: the number of sections must be a positive integer, got ${k}`);
    if (n % k !== 0)
      throw new RangeError(
        `jnp.split: array split does not result in an equal division: axis ${a} of size ${n} into ${k} sections`,
      );
    points = Array.from({ length: k - 1 }, (_, j) => ((j + 1) * n) / k);
  } else {
    points = indicesOrSections.map((p) => Math.min(Math.max(p < 0 ? p + n : p, 0), n));
  }
  const bounds = [0, ...points, n];
  const pieces: Tracer[] = [];
  for (let j = 0; j + 1 < bounds.length; j++) {
    const lo = bounds[j];
    const hi = Math.max(lo, bounds[j + 1]);
    const start = x.shape.map((_, d) => (d === a ? lo : 0));
    const limit = x.shape.map((s, d) => (d === a ? hi : s));
    pieces.push(lo === 0 && hi === n ? x : lax.slice(x, start, limit));
  }
  return pieces;
}

/** jnp.tile: repeats the whole array `reps` times along each axis (JAX: reshape, broadcast, reshape). */
export function tile(A: ArrayLike, reps: number | readonly number[]): Tracer {
  const x = asArray(A);
  const r = typeof reps === "number" ? [reps] : [...reps];
  if (r.some((k) => !Number.isInteger(k) || k < 0))
    throw new RangeError(`jnp.tile: reps must be non-negative integers, got ${formatShape(r)}`);
  const shape = [...new Array<number>(Math.max(0, r.length - x.ndim)).fill(1), ...x.shape];
  const rr = [...new Array<number>(shape.length - r.length).fill(1), ...r];
  if (rr.every((k) => k === 1)) return shape.length === x.ndim ? x : reshape(x, shape);
  const interleaved = reshape(
    x,
    shape.flatMap((n) => [1, n]),
  );
  const tiled = broadcastTo(
    interleaved,
    shape.flatMap((n, d) => [rr[d], n]),
  );
  return reshape(
    tiled,
    shape.map((n, d) => n * rr[d]),
  );
}

export interface RepeatOptions {
  axis?: number | null;
}

/**
 * jnp.repeat: each element `repeats` times (a number, or one count per element along the axis), along
 * `axis` (default: the flattened array). Per-element counts are static: they fix the result's size.
 */
export function repeat(
  a: ArrayLike,
  repeats: number | readonly number[],
  axis?: number | null | RepeatOptions,
): Tracer {
  let x = asArray(a);
  let ax = typeof axis === "object" && axis !== null ? (axis.axis ?? null) : (axis ?? null);
  if (ax === null) {
    x = ravel(x);
    ax = 0;
  }
  const d = normalizeAxis("jnp.repeat", ax, x.ndim);
  const n = x.shape[d];
  const counts = typeof repeats === "number" ? null : [...repeats];
  if (counts && counts.length === 1) return repeat(x, counts[0], d);
  if (counts === null) {
    const k = repeats as number;
    if (!Number.isInteger(k) || k < 0)
      throw new RangeError(`jnp.repeat: repeats must be a non-negative integer, got ${k}`);
    if (k === 1) return x;
    const expanded = lax.expandDims(x, [d + 1]);
    const shape = [...x.shape.slice(0, d + 1), k, ...x.shape.slice(d + 1)];
    const out = [...x.shape];
    out[d] = n * k;
    return reshape(broadcastTo(expanded, shape), out);
  }
  if (counts.length !== n)
    throw new TypeError(
      `jnp.repeat: ${counts.length} repeats for axis ${d} of size ${n} (need one per element, or one)`,
    );
  if (counts.some((k) => !Number.isInteger(k) || k < 0))
    throw new RangeError(`jnp.repeat: repeats must be non-negative integers, got ${formatShape(counts)}`);
  const idx = counts.flatMap((k, j) => new Array<number>(k).fill(j));
  return take(x, idx, { axis: d, mode: "clip" });
}
