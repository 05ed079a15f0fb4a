/** Moving and reordering elements: moveaxis, swapaxes, flip, roll, pad. */
import type { Tracer } from "../core/trace.js";
import { formatShape, normalizeAxis } from "../shape.js";
import * as lax from "../lax/slicing.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { ravel, reshape, transpose } from "./shape-ops.js";
import { take } from "./take.js";

const list = (x: number | readonly number[]): number[] => (typeof x === "number" ? [x] : [...x]);

function uniqueAxes(what: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(what, a, rank));
  if (new Set(out).size !== out.length)
    throw new RangeError(`${what}: repeated axis in ${formatShape(axes)}`);
  return out;
}

/** jnp.moveaxis: moves axes `source` to positions `destination`, the others keeping their order. */
export function moveaxis(
  a: ArrayLike,
  source: number | readonly number[],
  destination: number | readonly number[],
): Tracer {
  const x = asArray(a);
  const src = uniqueAxes("jnp.moveaxis", list(source), x.ndim);
  const dst = uniqueAxes("jnp.moveaxis", list(destination), x.ndim);
  if (src.length !== dst.length)
    throw new TypeError(
      `jnp.moveaxis: source ${formatShape(list(source))} and destination ${formatShape(list(destination))} must have the same number of elements`,
    );
  // numpy's algorithm: the other axes in order, then each source inserted at its destination.
  const order = x.shape.map((_, d) => d).filter((d) => !src.includes(d));
  dst
    .map((d, k) => [d, src[k]] as const)
    .sort((p, q) => p[0] - q[0])
    .forEach(([d, s]) => order.splice(d, 0, s));
  return transpose(x, order);
}

/** jnp.swapaxes: exchanges two axes. */
export function swapaxes(a: ArrayLike, axis1: number, axis2: number): Tracer {
  const x = asArray(a);
  const p = normalizeAxis("jnp.swapaxes", axis1, x.ndim);
  const q = normalizeAxis("jnp.swapaxes", axis2, x.ndim);
  const perm = x.shape.map((_, d) => (d === p ? q : d === q ? p : d));
  return transpose(x, perm);
}

/** jnp.flip: reverses the order of elements along the given axes (default: all). */
export function flip(
  m: ArrayLike,
  axis?: number | readonly number[] | null | { axis?: number | readonly number[] | null },
): Tracer {
  const x = asArray(m);
  const ax =
    axis !== null && typeof axis === "object" && !Array.isArray(axis)
      ? (axis as { axis?: number | readonly number[] | null }).axis
      : (axis as number | readonly number[] | null | undefined);
  const dims =
    ax === undefined || ax === null ? x.shape.map((_, d) => d) : uniqueAxes("jnp.flip", list(ax), x.ndim);
  if (dims.length === 0) return x;
  return lax.rev(x, dims);
}

/**
 * jnp.roll: shifts elements along axes, wrapping around (default: the flattened array). As JAX does
 * for static shifts: two slices concatenated.
 */
export function roll(
  a: ArrayLike,
  shift: number | readonly number[],
  axis?: number | readonly number[] | null | { axis?: number | readonly number[] | null },
): Tracer {
  let x = asArray(a);
  const ax =
    axis !== null && typeof axis === "object" && !Array.isArray(axis)
      ? (axis as { axis?: number | readonly number[] | null }).axis
      : (axis as number | readonly number[] | null | undefined);
  if (ax === undefined || ax === null) return reshape(roll(ravel(x), shift, 0), x.shape);
  const shifts = list(shift);
  const axes = list(ax);
  if (shifts.some((s) => !Number.isInteger(s)))
    throw new TypeError(`jnp.roll: shifts must be integers (JS numbers), got ${formatShape(shifts)}`);
  const n = Math.max(shifts.length, axes.length);
  if ((shifts.length !== n && shifts.length !== 1) || (axes.length !== n && axes.length !== 1))
    throw new TypeError(
      `jnp.roll: shift ${formatShape(shifts)} and axis ${formatShape(axes)} do not broadcast`,
    );
  for (let k = 0; k < n; k++) {
    const d = normalizeAxis("jnp.roll", axes[axes.length === 1 ? 0 : k], x.ndim);
    const size = x.shape[d];
    if (size === 0) continue;
    const off = ((shifts[shifts.length === 1 ? 0 : k] % size) + size) % size;
    if (off === 0) continue;
    const limits = [...x.shape];
    const zeros = x.shape.map(() => 0);
    const tailStart = zeros.map((z, e) => (e === d ? size - off : z));
    const headLimit = limits.map((l, e) => (e === d ? size - off : l));
    x = lax.concatenate([lax.slice(x, tailStart, limits), lax.slice(x, zeros, headLimit)], d);
  }
  return x;
}

export type PadWidth = number | readonly number[] | readonly (readonly number[])[];
export type PadMode = "constant" | "edge" | "reflect" | "symmetric" | "wrap";
export interface PadOptions {
  mode?: PadMode;
  /** The value for mode "constant" (default 0). */
  constantValues?: number | boolean;
}

/** numpy's pad_width forms: n, [n], [before, after], [[before, after]], or one pair per axis. */
function padPairs(width: PadWidth, rank: number): [number, number][] {
  let pairs: [number, number][];
  if (typeof width === "number") pairs = new Array(rank).fill([width, width]);
  else if (width.length > 0 && typeof width[0] === "number") {
    const w = width as readonly number[];
    if (w.length === 1) pairs = new Array(rank).fill([w[0], w[0]]);
    else if (w.length === 2) pairs = new Array(rank).fill([w[0], w[1]]);
    else
      throw new TypeError(
        `jnp.pad: pad_width ${formatShape(w)} must be n, [n], [before, after] or one pair per axis`,
      );
  } else {
    const w = width as readonly (readonly number[])[];
    const pair = (p: readonly number[]): [number, number] => (p.length === 1 ? [p[0], p[0]] : [p[0], p[1]]);
    if (w.length === 1) pairs = new Array(rank).fill(pair(w[0]));
    else if (w.length === rank) pairs = w.map(pair);
    else throw new TypeError(`jnp.pad: pad_width has ${w.length} pairs for an array of rank ${rank}`);
  }
  for (const [b, e] of pairs)
    if (!Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e < 0)
      throw new RangeError(`jnp.pad: pad widths must be non-negative integers, got (${b}, ${e})`);
  return pairs;
}

/** Source position along an axis of size n for padded position j (j < 0 or j >= n are padding). */
const SOURCE: Record<Exclude<PadMode, "constant">, (j: number, n: number) => number> = {
  edge: (j, n) => Math.min(Math.max(j, 0), n - 1),
  wrap: (j, n) => ((j % n) + n) % n,
  // Mirror without repeating the edge: period 2n - 2.
  reflect: (j, n) => {
    if (n === 1) return 0;
    const m = ((j % (2 * n - 2)) + 2 * n - 2) % (2 * n - 2);
    return m < n ? m : 2 * n - 2 - m;
  },
  // Mirror repeating the edge: period 2n.
  symmetric: (j, n) => {
    const m = ((j % (2 * n)) + 2 * n) % (2 * n);
    return m < n ? m : 2 * n - 1 - m;
  },
};

/**
 * jnp.pad: mode "constant" is one lax.pad; "edge", "reflect", "symmetric" and "wrap" gather each axis
 * at source positions computed on the host (one gather per padded axis).
 */
export function pad(array: ArrayLike, padWidth: PadWidth, options: PadOptions = {}): Tracer {
  let x = asArray(array);
  const pairs = padPairs(padWidth, x.ndim);
  const mode = options.mode ?? "constant";
  if (mode === "constant") {
    if (pairs.every(([b, e]) => b === 0 && e === 0)) return x;
    return lax.pad(
      x,
      asArray(options.constantValues ?? 0, x.dtype),
      pairs.map(([b, e]) => [b, e, 0] as const),
    );
  }
  const source = SOURCE[mode];
  if (!source)
    throw new TypeError(
      `jnp.pad: unsupported mode '${String(mode)}' (constant, edge, reflect, symmetric, wrap)`,
    );
  pairs.forEach(([b, e], d) => {
    if (b === 0 && e === 0) return;
    const n = x.shape[d];
    if (n === 0) throw new RangeError(`jnp.pad: cannot pad axis ${d} of size 0 with mode '${mode}'`);
    const idx = Array.from({ length: b + n + e }, (_, k) => source(k - b, n));
    x = take(x, idx, { axis: d, mode: "clip" });
  });
  return x;
}
