/**
 * Collectives over a named axis (psum, pmax, pmin, all_gather), as in JAX: they have meaning only
 * inside `vmap(..., {axisName})`, whose batching rules implement them. Evaluated outside one, they
 * fail with JAX's "unbound axis name" error.
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { checkArity } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

function unbound(prim: Primitive, names: readonly string[]): never {
  throw new Error(
    `unbound axis name: ${names.join(", ")}. ${prim} needs an enclosing vmap or pmap(..., {axisName: ${JSON.stringify(names[0])}})`,
  );
}

function reduction<P extends Primitive.Psum | Primitive.Pmax | Primitive.Pmin>(prim: P): PrimitiveRules<P> {
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 1);
      return [avals[0]];
    },
    cpu: (_x, _in, _out, params) => unbound(prim, (params as { axes: readonly string[] }).axes),
    wgsl: (_in, _out, params) => unbound(prim, (params as { axes: readonly string[] }).axes),
  };
}

export const collectiveRules: RuleGroup<
  Primitive.Psum | Primitive.Pmax | Primitive.Pmin | Primitive.AllGather
> = {
  [Primitive.Psum]: reduction(Primitive.Psum),
  [Primitive.Pmax]: reduction(Primitive.Pmax),
  [Primitive.Pmin]: reduction(Primitive.Pmin),
  [Primitive.AllGather]: {
    abstractEval: ([x], { all_gather_dimension: d, axis_size }) => {
      if (d < 0 || d > x.ndim)
        throw new RangeError(`all_gather: all_gather_dimension ${d} is out of bounds for rank ${x.ndim}`);
      const shape = [...x.shape];
      shape.splice(d, 0, axis_size);
      return [new ShapedArray(shape, x.dtype, x.weakType)];
    },
    cpu: (_x, _in, _out, { axis_name }) => unbound(Primitive.AllGather, [axis_name]),
    wgsl: (_in, _out, { axis_name }) => unbound(Primitive.AllGather, [axis_name]),
  },
};
