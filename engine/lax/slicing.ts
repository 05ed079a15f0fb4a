/**
 * lax's slicing and indexing operations: each binds one primitive with lax's strict rules (no dtype
 * promotion), as in `jax.lax`. Dynamic start indices may be negative (counted from the end, JAX's
 * `allow_negative_indices=True`) and are then clamped into range by the primitive, as XLA does.
 */
import { ShapedArray } from "../core/aval.js";
import {
  GatherDimensionNumbers,
  GatherScatterMode,
  ScatterDimensionNumbers,
  parseMode,
  type GatherDimensionNumbersInit,
  type GatherScatterModeLike,
  type ScatterDimensionNumbersInit,
  type ScatterParams,
} from "../core/dimension-numbers.js";
import { Jaxpr, JaxprEqn, Var } from "../core/jaxpr.js";
import { Primitive, type ScatterPrimitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";
import { formatShape } from "../shape.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";
import { defaultFillValue } from "../primitives/gather-scatter.js";

export { GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers };
export type { GatherDimensionNumbersInit, GatherScatterModeLike, ScatterDimensionNumbersInit };

function operand(x: ArrayLike): Tracer {
  return x instanceof Tracer ? x : asArray(x);
}

/** lax.concatenate: operands of one dtype and equal shapes except along `dimension`. */
export function concatenate(operands: readonly ArrayLike[], dimension: number): Tracer {
  if (operands.length === 0) throw new TypeError("lax.concatenate: needs at least one operand");
  const xs = operands.map(operand);
  if (xs.length === 1) return xs[0];
  return bind1(Primitive.Concatenate, xs, { dimension });
}

export type PaddingConfig = readonly (readonly [number, number, number])[];

/** lax.pad: `paddingConfig[d] = [low, high, interior]`; negative low/high crop. */
export function pad(x: ArrayLike, paddingValue: ArrayLike, paddingConfig: PaddingConfig): Tracer {
  const a = operand(x);
  const v = asArray(
    paddingValue,
    typeof paddingValue === "number" || typeof paddingValue === "boolean" ? a.dtype : undefined,
  );
  return bind1(Primitive.Pad, [a, v], {
    padding_config: paddingConfig.map((c) => [c[0], c[1], c[2]] as const),
  });
}

/** lax.slice: static start/limit indices and optional strides. */
export function slice(
  x: ArrayLike,
  startIndices: readonly number[],
  limitIndices: readonly number[],
  strides: readonly number[] | null = null,
): Tracer {
  return bind1(Primitive.Slice, [operand(x)], {
    start_indices: [...startIndices],
    limit_indices: [...limitIndices],
    strides: strides && strides.every((s) => s === 1) ? null : strides ? [...strides] : null,
  });
}

/** lax.rev: reverses the given dimensions. */
export function rev(x: ArrayLike, dimensions: readonly number[]): Tracer {
  return bind1(Primitive.Rev, [operand(x)], { dimensions: [...dimensions] });
}

/** lax.squeeze: removes the given axes, which must have size 1. */
export function squeeze(x: ArrayLike, dimensions: readonly number[]): Tracer {
  const a = operand(x);
  if (dimensions.length === 0) return a;
  const dims = dimensions.map((d) => (d < 0 ? d + a.ndim : d)).sort((p, q) => p - q);
  return bind1(Primitive.Squeeze, [a], { dimensions: dims });
}

/** lax.expand_dims: inserts size-1 axes at `dimensions` (of the result), via broadcast_in_dim as in JAX. */
export function expandDims(x: ArrayLike, dimensions: readonly number[]): Tracer {
  const a = operand(x);
  if (dimensions.length === 0) return a;
  const rank = a.ndim + dimensions.length;
  const dims = new Set(dimensions.map((d) => (d < 0 ? d + rank : d)));
  const shape: number[] = [];
  const kept: number[] = [];
  let k = 0;
  for (let d = 0; d < rank; d++) {
    if (dims.has(d)) shape.push(1);
    else {
      shape.push(a.shape[k++]);
      kept.push(d);
    }
  }
  return bind1(Primitive.BroadcastInDim, [a], { shape, broadcast_dimensions: kept });
}

/**
 * Maps a negative index i to i + size (JAX's `_normalize_index`: `select(i < 0, i + size, i)`);
 * JS numbers are normalised on the host, unsigned indices are left alone.
 */
export function normalizeIndex(index: Tracer | number, size: number): Tracer {
  if (typeof index === "number") return asArray(index < 0 ? index + size : index, "int32");
  if (index.dtype === "uint32") return index;
  const neg = bind1(Primitive.Lt, [index, asArray(0, index.dtype)], {});
  const wrapped = bind1(Primitive.Add, [index, asArray(size, index.dtype)], {});
  return bind1(Primitive.SelectN, [neg, index, wrapped], {});
}

function startIndices(what: string, x: Tracer, starts: readonly (Tracer | number)[]): Tracer[] {
  if (starts.length !== x.ndim)
    throw new TypeError(
      `${what}: ${starts.length} start indices for an operand of shape ${formatShape(x.shape)} (one per axis)`,
    );
  return starts.map((s, d) => {
    if (s instanceof Tracer && (s.ndim !== 0 || (s.dtype !== "int32" && s.dtype !== "uint32")))
      throw new TypeError(`${what}: start index ${d} must be an integer scalar, got ${s.aval.toString()}`);
    return normalizeIndex(s, x.shape[d]);
  });
}

/** lax.dynamic_slice: a `sliceSizes` window at (clamped) traced start indices. */
export function dynamicSlice(
  x: ArrayLike,
  starts: readonly (Tracer | number)[],
  sliceSizes: readonly number[],
): Tracer {
  const a = operand(x);
  return bind1(Primitive.DynamicSlice, [a, ...startIndices("lax.dynamicSlice", a, starts)], {
    slice_sizes: [...sliceSizes],
  });
}

/** lax.dynamic_update_slice: `x` with `update` written at (clamped) traced start indices. */
export function dynamicUpdateSlice(
  x: ArrayLike,
  update: ArrayLike,
  starts: readonly (Tracer | number)[],
): Tracer {
  const a = operand(x);
  const u = asArray(update, typeof update === "number" ? a.dtype : undefined);
  return bind1(
    Primitive.DynamicUpdateSlice,
    [a, u, ...startIndices("lax.dynamicUpdateSlice", a, starts)],
    {},
  );
}

export interface GatherOptions {
  uniqueIndices?: boolean;
  indicesAreSorted?: boolean;
  /** Default `promise_in_bounds` (clamps, as XLA does), as in `lax.gather`. */
  mode?: GatherScatterModeLike | null;
  /** For mode `fill`: default NaN for floats, the lowest int32, the highest uint32, true for bool. */
  fillValue?: number | boolean | null;
}

const gatherDnums = (d: GatherDimensionNumbers | GatherDimensionNumbersInit) =>
  d instanceof GatherDimensionNumbers ? d : new GatherDimensionNumbers(d);
const scatterDnums = (d: ScatterDimensionNumbers | ScatterDimensionNumbersInit) =>
  d instanceof ScatterDimensionNumbers ? d : new ScatterDimensionNumbers(d);

/** lax.gather: XLA's gather (index vector in the last axis of `startIndices`). */
export function gather(
  x: ArrayLike,
  startIdx: ArrayLike,
  dimensionNumbers: GatherDimensionNumbers | GatherDimensionNumbersInit,
  sliceSizes: readonly number[],
  options: GatherOptions = {},
): Tracer {
  const a = operand(x);
  const mode = parseMode(options.mode, GatherScatterMode.PROMISE_IN_BOUNDS);
  const fill =
    mode === GatherScatterMode.FILL_OR_DROP
      ? options.fillValue === undefined || options.fillValue === null
        ? defaultFillValue(a.dtype)
        : Number(options.fillValue)
      : null;
  return bind1(Primitive.Gather, [a, asArray(startIdx, startIdx instanceof Tracer ? undefined : "int32")], {
    dimension_numbers: gatherDnums(dimensionNumbers),
    fill_value: fill,
    indices_are_sorted: options.indicesAreSorted ?? false,
    mode,
    slice_sizes: [...sliceSizes],
    unique_indices: options.uniqueIndices ?? false,
  });
}

export interface ScatterOptions {
  indicesAreSorted?: boolean;
  uniqueIndices?: boolean;
  /** Default `fill` (out-of-bounds updates are dropped), as in `lax.scatter_add`. */
  mode?: GatherScatterModeLike | null;
}

const COMBINER: Partial<Record<ScatterPrimitive, Primitive>> = {
  [Primitive.ScatterAdd]: Primitive.Add,
  [Primitive.ScatterMul]: Primitive.Mul,
  [Primitive.ScatterMin]: Primitive.Min,
  [Primitive.ScatterMax]: Primitive.Max,
};

/** JAX's `update_jaxpr`: the scalar combiner `{ lambda ; a b. let c = add a b in (c,) }`. */
function updateJaxpr(prim: ScatterPrimitive, dtype: DType): Jaxpr | null {
  const combiner = COMBINER[prim];
  if (!combiner) return null;
  const aval = new ShapedArray([], dtype);
  const [p, q, r] = [new Var(aval), new Var(aval), new Var(aval)];
  return new Jaxpr([], [p, q], [new JaxprEqn(combiner, [p, q], {}, [r])], [r]);
}

function scatterWith(prim: ScatterPrimitive) {
  return (
    x: ArrayLike,
    scatterIndices: ArrayLike,
    updates: ArrayLike,
    dimensionNumbers: ScatterDimensionNumbers | ScatterDimensionNumbersInit,
    options: ScatterOptions = {},
  ): Tracer => {
    const a = operand(x);
    const idx = asArray(scatterIndices, scatterIndices instanceof Tracer ? undefined : "int32");
    const u = asArray(updates, updates instanceof Tracer ? undefined : a.dtype);
    const params: ScatterParams = {
      dimension_numbers: scatterDnums(dimensionNumbers),
      indices_are_sorted: options.indicesAreSorted ?? false,
      mode: parseMode(options.mode, GatherScatterMode.FILL_OR_DROP),
      unique_indices: options.uniqueIndices ?? false,
      update_consts: [],
      update_jaxpr: updateJaxpr(prim, a.dtype),
    };
    return bind1(prim, [a, idx, u], params);
  };
}

/** lax.scatter: writes the updates (for repeated indices, the last in index order wins here). */
export const scatter = scatterWith(Primitive.Scatter);
/** lax.scatter_add: adds the updates; repeated indices accumulate. */
export const scatterAdd = scatterWith(Primitive.ScatterAdd);
export const scatterMul = scatterWith(Primitive.ScatterMul);
export const scatterMin = scatterWith(Primitive.ScatterMin);
export const scatterMax = scatterWith(Primitive.ScatterMax);
