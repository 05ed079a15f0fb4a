/**
 * Wide concatenates split into a tree of narrower ones, for executors whose kernels bind each
 * operand (a WebGPU shader binds at most `maxStorageBuffersPerShaderStage` buffers): the same
 * result, as concatenation is associative.
 */
import { ShapedArray } from "../core/aval.js";
import { Jaxpr, JaxprEqn, Var, type Atom } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";

/** `jaxpr` with every concatenate of more than `maxOperands` operands split in groups. */
export function splitWideConcatenates(jaxpr: Jaxpr, maxOperands: number): Jaxpr {
  const wide = (e: JaxprEqn) => e.primitive === Primitive.Concatenate && e.inputs.length > maxOperands;
  if (maxOperands < 2 || !jaxpr.eqns.some(wide)) return jaxpr;
  const eqns: JaxprEqn[] = [];
  for (const eqn of jaxpr.eqns) {
    if (!wide(eqn)) {
      eqns.push(eqn);
      continue;
    }
    const params = eqn.params as ParamsOf<Primitive.Concatenate>;
    const out = eqn.outBinders[0];
    let operands: Atom[] = eqn.inputs;
    while (operands.length > maxOperands) {
      const next: Atom[] = [];
      for (let k = 0; k < operands.length; k += maxOperands) {
        const group = operands.slice(k, k + maxOperands);
        if (group.length === 1) {
          next.push(group[0]);
          continue;
        }
        const shape = [...out.aval.shape];
        shape[params.dimension] = group.reduce((n, a) => n + a.aval.shape[params.dimension], 0);
        const v = new Var(new ShapedArray(shape, out.aval.dtype, out.aval.weakType));
        eqns.push(new JaxprEqn(Primitive.Concatenate, group, params, [v]));
        next.push(v);
      }
      operands = next;
    }
    eqns.push(new JaxprEqn(Primitive.Concatenate, operands, params, [out]));
  }
  return new Jaxpr(jaxpr.constVars, jaxpr.inBinders, eqns, jaxpr.outs);
}
