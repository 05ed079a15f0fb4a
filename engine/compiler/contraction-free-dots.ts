/**
 * A `dot_general` with no contracting dimensions is a broadcast product (transposing a batched
 * `dot_general` gives one: the per-example gradient `(σ(w·x) − y) x` arrives as
 * `dot_general[(([], []), ([0], [0]))] u X`). Rewritten as transposes, broadcasts and a `mul`, it
 * fuses with its neighbours into one elementwise kernel instead of running a matmul kernel that has
 * nothing to sum.
 */
import { ShapedArray } from "../core/aval.js";
import { Jaxpr, JaxprEqn, Var, type Atom } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";

export function expandContractionFreeDots(jaxpr: Jaxpr): Jaxpr {
  const matches = (e: JaxprEqn) => {
    if (e.primitive !== Primitive.DotGeneral) return false;
    const p = e.params as ParamsOf<Primitive.DotGeneral>;
    const out = e.outBinders[0].aval;
    return (
      p.dimension_numbers[0][0].length === 0 &&
      e.inputs.every((a) => a.aval.dtype === out.dtype) &&
      (p.preferred_element_type === null || p.preferred_element_type === out.dtype)
    );
  };
  if (!jaxpr.eqns.some(matches)) return jaxpr;
  const eqns: JaxprEqn[] = [];
  for (const eqn of jaxpr.eqns) {
    if (!matches(eqn)) {
      eqns.push(eqn);
      continue;
    }
    const [, [lhsBatch, rhsBatch]] = (eqn.params as ParamsOf<Primitive.DotGeneral>).dimension_numbers;
    const out = eqn.outBinders[0];
    const nb = lhsBatch.length;
    const [lhs, rhs] = eqn.inputs;
    const lhsFree = lhs.aval.shape.map((_, i) => i).filter((i) => !lhsBatch.includes(i));
    const rhsFree = rhs.aval.shape.map((_, i) => i).filter((i) => !rhsBatch.includes(i));
    // Each operand in (batch..., free...) order, then broadcast into the result's (batch, lhs free,
    // rhs free) layout: its axes map to increasing result axes.
    const place = (x: Atom, order: number[], resultAxes: number[]): Atom => {
      let a = x;
      if (order.some((d, i) => d !== i)) {
        const v = new Var(
          new ShapedArray(
            order.map((d) => x.aval.shape[d]),
            x.aval.dtype,
            x.aval.weakType,
          ),
        );
        eqns.push(new JaxprEqn(Primitive.Transpose, [a], { permutation: order }, [v]));
        a = v;
      }
      const v = new Var(new ShapedArray(out.aval.shape, out.aval.dtype));
      eqns.push(
        new JaxprEqn(
          Primitive.BroadcastInDim,
          [a],
          { shape: [...out.aval.shape], broadcast_dimensions: resultAxes },
          [v],
        ),
      );
      return v;
    };
    const batchAxes = lhsBatch.map((_, i) => i);
    const l = place(lhs, [...lhsBatch, ...lhsFree], [...batchAxes, ...lhsFree.map((_, i) => nb + i)]);
    const r = place(
      rhs,
      [...rhsBatch, ...rhsFree],
      [...batchAxes, ...rhsFree.map((_, i) => nb + lhsFree.length + i)],
    );
    eqns.push(new JaxprEqn(Primitive.Mul, [l, r], {}, [out]));
  }
  return new Jaxpr(jaxpr.constVars, jaxpr.inBinders, eqns, jaxpr.outs);
}
