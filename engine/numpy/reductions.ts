/** Reductions over axes: `jnp.sum(x, {axis, keepdims})`, also with the axis given positionally. */
import { Primitive, type ReducePrimitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { normalizeAxis } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";
import { divide } from "./elementwise.js";
import { reshape } from "./shape-ops.js";

export type AxisArg = number | readonly number[] | null;
export interface ReduceOptions {
  axis?: AxisArg;
  keepdims?: boolean;
}

/** Accepts `f(x, axis)`, `f(x, {axis, keepdims})` or `f(x)`. */
function options(arg: AxisArg | ReduceOptions | undefined): ReduceOptions {
  if (arg === undefined || arg === null) return {};
  if (typeof arg === "number" || Array.isArray(arg)) return { axis: arg as number | number[] };
  return arg as ReduceOptions;
}

export function reductionAxes(what: string, x: Tracer, axis: AxisArg | undefined): number[] {
  if (axis === undefined || axis === null) return x.shape.map((_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const axes = list.map((a) => normalizeAxis(what, a, x.ndim));
  if (new Set(axes).size !== axes.length)
    throw new RangeError(`${what}: repeated axis in (${list.join(", ")})`);
  return axes.sort((a, b) => a - b);
}

function reduce(prim: ReducePrimitive, name: string, x0: ArrayLike, arg?: AxisArg | ReduceOptions): Tracer {
  const opts = options(arg);
  let x = asArray(x0);
  if (x.dtype === "bool") x = convert(x, "int32");
  const axes = reductionAxes(`jnp.${name}`, x, opts.axis);
  if (prim === Primitive.ReduceMax && axes.some((a) => x.shape[a] === 0)) {
    throw new RangeError(`jnp.${name}: zero-size array to reduction operation ${name} which has no identity`);
  }
  const out = axes.length ? bind1(prim, [x], { axes }) : x;
  return opts.keepdims
    ? reshape(
        out,
        x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      )
    : out;
}

export function sum(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  return reduce(Primitive.ReduceSum, "sum", x, axis);
}

export function max(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  return reduce(Primitive.ReduceMax, "max", x, axis);
}

export function mean(x: ArrayLike, axis?: AxisArg | ReduceOptions): Tracer {
  const a = asArray(x);
  const axes = reductionAxes("jnp.mean", a, options(axis).axis);
  const count = axes.reduce((n, d) => n * a.shape[d], 1);
  return divide(sum(a.dtype === "float32" ? a : convert(a, "float32"), axis), count);
}
