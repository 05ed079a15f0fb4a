/**
 * Reductions over axes: sum, prod, max, min, mean, var, std, all, any, argmax, argmin, as
 * `jnp.sum(x, {axis, keepdims, dtype})`, also with the axis given positionally (`jnp.sum(x, 1)`).
 */
import type { AxesReducePrimitive } from "../primitives/reduce.js";
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { isFloating, type DType } from "../dtype.js";
import { formatShape, normalizeAxis } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";
import { divide, multiply, sqrt, subtract } from "./elementwise.js";
import { reshape } from "./shape-ops.js";

export type AxisArg = number | readonly number[] | null;
export interface ReduceOptions {
  axis?: AxisArg;
  keepdims?: boolean;
  /** The dtype to compute and return in (sum, prod, mean, var, std, as numpy's `dtype=`). */
  dtype?: DType;
}
export interface VarOptions extends ReduceOptions {
  /** Delta degrees of freedom: the divisor is N - ddof. */
  ddof?: number;
  /** The Array API name for ddof (JAX accepts either). */
  correction?: number;
}
export interface ArgOptions {
  axis?: number | null;
  keepdims?: boolean;
}

/** Accepts `f(x, axis)`, `f(x, {axis, keepdims})` or `f(x)`. */
function options<O extends ReduceOptions>(arg: AxisArg | O | undefined): O {
  if (arg === undefined || arg === null) return {} as O;
  if (typeof arg === "number" || Array.isArray(arg)) return { axis: arg as number | number[] } as O;
  return arg as O;
}

export function reductionAxes(what: string, x: Tracer, axis: AxisArg | undefined): number[] {
  if (axis === undefined || axis === null) return x.shape.map((_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const axes = list.map((a) => normalizeAxis(what, a, x.ndim));
  if (new Set(axes).size !== axes.length)
    throw new RangeError(`${what}: repeated axis in (${list.join(", ")})`);
  return axes.sort((a, b) => a - b);
}

function keepDims(out: Tracer, x: Tracer, axes: readonly number[], keepdims: boolean | undefined): Tracer {
  return keepdims
    ? reshape(
        out,
        x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      )
    : out;
}

/** The dtype sum/prod accumulate in: bool becomes int32 (numpy's default integer), as in JAX. */
function accumulationDType(x: Tracer, dtype: DType | undefined): DType {
  return dtype ?? (x.dtype === "bool" ? "int32" : x.dtype);
}

function reduce(
  prim: AxesReducePrimitive,
  name: string,
  x0: ArrayLike,
  opts: ReduceOptions,
  identity: boolean,
): Tracer {
  const x = asArray(x0);
  const axes = reductionAxes(`jnp.${name}`, x, opts.axis);
  if (!identity && axes.some((a) => x.shape[a] === 0)) {
    throw new RangeError(
      `jnp.${name}: zero-size array to reduction operation ${name} which has no identity (shape ${formatShape(x.shape)}, axis (${axes.join(", ")}))`,
    );
  }
  const out = axes.length ? bind1(prim, [x], { axes }) : x;
  return keepDims(out, x, axes, opts.keepdims);
}

export function sum(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  const opts = options(axis);
  const a = asArray(x);
  return reduce(
    Primitive.ReduceSum,
    "sum",
    convert(a, accumulationDType(a, opts.dtype), a.weakType),
    opts,
    true,
  );
}

export function prod(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  const opts = options(axis);
  const a = asArray(x);
  return reduce(
    Primitive.ReduceProd,
    "prod",
    convert(a, accumulationDType(a, opts.dtype), a.weakType),
    opts,
    true,
  );
}

/** max of bool is a logical or (XLA reduces PRED with max = or). */
export function max(x: ArrayLike, axis?: AxisArg | Omit<ReduceOptions, "dtype">): Tracer {
  const a = asArray(x);
  return reduce(
    a.dtype === "bool" ? Primitive.ReduceOr : Primitive.ReduceMax,
    "max",
    a,
    options(axis),
    false,
  );
}

/** min of bool is a logical and. */
export function min(x: ArrayLike, axis?: AxisArg | Omit<ReduceOptions, "dtype">): Tracer {
  const a = asArray(x);
  return reduce(
    a.dtype === "bool" ? Primitive.ReduceAnd : Primitive.ReduceMin,
    "min",
    a,
    options(axis),
    false,
  );
}

/** Whether every element is truthy (non-zero; NaN counts as true), as numpy's all. */
export function all(x: ArrayLike, axis?: AxisArg | Omit<ReduceOptions, "dtype">): Tracer {
  return reduce(Primitive.ReduceAnd, "all", convert(asArray(x), "bool"), options(axis), true);
}

/** Whether any element is truthy. */
export function any(x: ArrayLike, axis?: AxisArg | Omit<ReduceOptions, "dtype">): Tracer {
  return reduce(Primitive.ReduceOr, "any", convert(asArray(x), "bool"), options(axis), true);
}

/** The float dtype mean/var compute in: integers and bools become float32. */
function floatDType(x: Tracer, dtype: DType | undefined): DType {
  return dtype ?? (isFloating(x.dtype) ? x.dtype : "float32");
}

function count(x: Tracer, axes: readonly number[]): number {
  return axes.reduce((n, d) => n * x.shape[d], 1);
}

/** mean = sum / N (JAX: lax.div(sum(x), N)); N = 0 gives NaN, as numpy. */
export function mean(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  const opts = options(axis);
  const a = asArray(x);
  const axes = reductionAxes("jnp.mean", a, opts.axis);
  const f = convert(a, floatDType(a, opts.dtype), a.weakType);
  return divide(sum(f, { axis: opts.axis, keepdims: opts.keepdims }), count(a, axes));
}

/** var = sum((x - mean(x))^2) / (N - ddof), centred first for accuracy as JAX does. */
export function var_(x: ArrayLike, axis?: AxisArg | VarOptions): Tracer {
  const opts = options<VarOptions>(axis);
  if (opts.ddof !== undefined && opts.correction !== undefined)
    throw new TypeError("jnp.var: ddof and correction can't both be given");
  const ddof = opts.correction ?? opts.ddof ?? 0;
  const a = asArray(x);
  const axes = reductionAxes("jnp.var", a, opts.axis);
  const f = convert(a, floatDType(a, opts.dtype), a.weakType);
  const centered = subtract(f, mean(f, { axis: opts.axis, keepdims: true }));
  return divide(
    sum(multiply(centered, centered), { axis: opts.axis, keepdims: opts.keepdims }),
    count(a, axes) - ddof,
  );
}

/** std = sqrt(var). */
export function std(x: ArrayLike, axis?: AxisArg | VarOptions): Tracer {
  return sqrt(var_(x, axis));
}

function argReduce(
  prim: Primitive.Argmax | Primitive.Argmin,
  name: string,
  x0: ArrayLike,
  arg?: number | null | ArgOptions,
): Tracer {
  const opts: ArgOptions =
    arg === undefined || arg === null ? {} : typeof arg === "number" ? { axis: arg } : arg;
  let x = asArray(x0);
  // jnp.argmax of bool compares False < True.
  if (x.dtype === "bool") x = convert(x, "int32");
  const original = x;
  let axis: number;
  if (opts.axis === undefined || opts.axis === null) {
    x = reshape(x, [-1]);
    axis = 0;
  } else axis = normalizeAxis(`jnp.${name}`, opts.axis, x.ndim);
  if (x.shape[axis] === 0)
    throw new RangeError(
      `jnp.${name}: attempt to get ${name} of an empty sequence (shape ${formatShape(original.shape)})`,
    );
  const out = bind1(prim, [x], { axes: [axis], index_dtype: "int32" });
  if (!opts.keepdims) return out;
  const reduced = opts.axis === undefined || opts.axis === null ? original.shape.map((_, i) => i) : [axis];
  return keepDims(out, original, reduced, true);
}

/** Index of the first maximum (a NaN counts as the maximum); axis null flattens. */
export function argmax(x: ArrayLike, axis?: number | null | ArgOptions): Tracer {
  return argReduce(Primitive.Argmax, "argmax", x, axis);
}

/** Index of the first minimum (a NaN counts as the minimum); axis null flattens. */
export function argmin(x: ArrayLike, axis?: number | null | ArgOptions): Tracer {
  return argReduce(Primitive.Argmin, "argmin", x, axis);
}
