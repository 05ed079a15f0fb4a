/**
 * Collectives over a named vmapped axis, as `jax.lax.psum/pmean/pmax/pmin/all_gather`: the building
 * blocks of batch-normalisation style code inside `vmap(f, {axisName})`.
 */
import type { BatchMainData } from "../core/batch-trace.js";
import { Primitive } from "../core/primitive.js";
import { bind1, findMain, fullRaise, type MainTrace, type Tracer } from "../core/trace.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";

type AxisNames = string | readonly string[];

const names = (axisName: AxisNames): string[] => (typeof axisName === "string" ? [axisName] : [...axisName]);

function axisMain(name: string, prim: string): MainTrace {
  const main = findMain((m) => (m.globalData as BatchMainData | null)?.axisName === name);
  if (!main) {
    throw new Error(
      `unbound axis name: ${name}. ${prim} needs an enclosing vmap or pmap(..., {axisName: ${JSON.stringify(name)}})`,
    );
  }
  return main;
}

/**
 * The operand as a tracer of the vmap that owns the axis (or of a deeper trace): a collective of a
 * value that does not depend on the batch (psum(1)) must still reach that vmap's batching rule.
 */
function raised(x: ArrayLike, axisNames: readonly string[], prim: string): Tracer {
  const a = asArray(x);
  const mains = axisNames.map((n) => axisMain(n, prim));
  const innermost = mains.reduce((m, n) => (n.level > m.level ? n : m));
  return a._trace.main.level >= innermost.level ? a : fullRaise(new innermost.traceType(innermost), a);
}

function reduction(
  prim: Primitive.Psum | Primitive.Pmax | Primitive.Pmin,
  x: ArrayLike,
  axisName: AxisNames,
): Tracer {
  const axes = names(axisName);
  return bind1(prim, [raised(x, axes, prim)], { axes, axis_index_groups: null });
}

export function psum(x: ArrayLike, axisName: AxisNames): Tracer {
  return reduction(Primitive.Psum, x, axisName);
}

/** The mean over the named axis: psum(x) / psum(1), as JAX computes it. */
export function pmean(x: ArrayLike, axisName: AxisNames): Tracer {
  const a = asArray(x);
  return bind1(Primitive.Div, [psum(a, axisName), psum(asArray(1, a.dtype), axisName)], {});
}

export function pmax(x: ArrayLike, axisName: AxisNames): Tracer {
  return reduction(Primitive.Pmax, x, axisName);
}

export function pmin(x: ArrayLike, axisName: AxisNames): Tracer {
  return reduction(Primitive.Pmin, x, axisName);
}

/** Every example's value, stacked along a new axis `axis` (default 0), in every example. */
export function allGather(x: ArrayLike, axisName: string, options: { axis?: number } = {}): Tracer {
  const main = axisMain(axisName, "all_gather");
  return bind1(Primitive.AllGather, [raised(x, [axisName], "all_gather")], {
    all_gather_dimension: options.axis ?? 0,
    axis_index_groups: null,
    axis_name: axisName,
    axis_size: (main.globalData as BatchMainData).axisSize,
    tiled: false,
  });
}

export { allGather as all_gather };
