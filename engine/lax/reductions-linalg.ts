/**
 * lax wrappers of the reduction, scan and contraction primitives: each binds one primitive with
 * lax's strict rules (no promotion, axes as given), as `jax.lax.reduce_sum`, `jax.lax.dot_general`...
 */
import type { AxesReducePrimitive } from "../primitives/reduce.js";
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";
import { formatShape } from "../shape.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";

/** ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)). */
export type DotDimensionNumbers = readonly [
  readonly [readonly number[], readonly number[]],
  readonly [readonly number[], readonly number[]],
];

export interface DotOptions {
  /** Accepted for JAX compatibility; only the default (null) precision exists. */
  precision?: null;
  /** The result dtype; defaults (null, not printed in jaxprs) to the operands' dtype. */
  preferredElementType?: DType | null;
}

export function dotGeneral(
  lhs: ArrayLike,
  rhs: ArrayLike,
  dimensionNumbers: DotDimensionNumbers,
  options: DotOptions = {},
): Tracer {
  const a = asArray(lhs);
  const b = asArray(rhs);
  const [[lc, rc], [lb, rb]] = dimensionNumbers;
  return bind1(Primitive.DotGeneral, [a, b], {
    dimension_numbers: [
      [[...lc], [...rc]],
      [[...lb], [...rb]],
    ],
    precision: null,
    preferred_element_type: options.preferredElementType ?? null,
  });
}

/** lax.dot: vector·vector, matrix·vector or matrix·matrix (last axis of lhs with first of rhs). */
export function dot(lhs: ArrayLike, rhs: ArrayLike, options: DotOptions = {}): Tracer {
  const a = asArray(lhs);
  const b = asArray(rhs);
  if (a.ndim < 1 || a.ndim > 2 || b.ndim < 1 || b.ndim > 2)
    throw new TypeError(
      `lax.dot takes vectors or matrices, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  return dotGeneral(
    a,
    b,
    [
      [[a.ndim - 1], [0]],
      [[], []],
    ],
    options,
  );
}

const reducer =
  (prim: AxesReducePrimitive) =>
  (operand: ArrayLike, axes: readonly number[]): Tracer =>
    bind1(prim, [asArray(operand)], { axes: [...axes] });

export const reduceSum = reducer(Primitive.ReduceSum);
export const reduceMax = reducer(Primitive.ReduceMax);
export const reduceMin = reducer(Primitive.ReduceMin);
export const reduceProd = reducer(Primitive.ReduceProd);
export const reduceAnd = reducer(Primitive.ReduceAnd);
export const reduceOr = reducer(Primitive.ReduceOr);

/** lax.argmax(operand, axis, index_dtype): first index of the maximum (NaN counts as the maximum). */
export function argmax(operand: ArrayLike, axis: number, indexDtype: DType = "int32"): Tracer {
  return bind1(Primitive.Argmax, [asArray(operand)], { axes: [axis], index_dtype: indexDtype });
}

/** lax.argmin(operand, axis, index_dtype): first index of the minimum (NaN counts as the minimum). */
export function argmin(operand: ArrayLike, axis: number, indexDtype: DType = "int32"): Tracer {
  return bind1(Primitive.Argmin, [asArray(operand)], { axes: [axis], index_dtype: indexDtype });
}

export interface CumulativeOptions {
  axis?: number;
  reverse?: boolean;
}

type CumPrimitive = Primitive.Cumsum | Primitive.Cumprod | Primitive.Cummax | Primitive.Cummin;

/** lax.cumsum(operand, axis=0, reverse=False); a negative axis counts from the end, as in lax. */
const cumulative =
  (prim: CumPrimitive) =>
  (operand: ArrayLike, axis: number | CumulativeOptions = 0, reverse = false): Tracer => {
    const x = asArray(operand);
    const opts = typeof axis === "number" ? { axis, reverse } : axis;
    const ax = opts.axis ?? 0;
    return bind1(prim, [x], {
      axis: ax < 0 && ax >= -x.ndim ? ax + x.ndim : ax,
      reverse: opts.reverse ?? false,
    });
  };

export const cumsum = cumulative(Primitive.Cumsum);
export const cumprod = cumulative(Primitive.Cumprod);
export const cummax = cumulative(Primitive.Cummax);
export const cummin = cumulative(Primitive.Cummin);
