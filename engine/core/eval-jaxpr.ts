/** Interprets a jaxpr by binding each equation: under any active trace, so transforms compose. */
import { Literal, type Atom, type Jaxpr, type Var } from "./jaxpr.js";
import type { ParamsOf, Primitive } from "./primitive.js";
import { bind, type Tracer } from "./trace.js";
import { literalArray } from "./from-host.js";

export function evalJaxpr(jaxpr: Jaxpr, consts: readonly Tracer[], args: readonly Tracer[]): Tracer[] {
  if (args.length !== jaxpr.inBinders.length) {
    throw new TypeError(`jaxpr takes ${jaxpr.inBinders.length} arguments, got ${args.length}`);
  }
  const env = new Map<Var, Tracer>();
  jaxpr.constVars.forEach((v, i) => env.set(v, consts[i]));
  jaxpr.inBinders.forEach((v, i) => env.set(v, args[i]));
  const read = (a: Atom): Tracer => (a instanceof Literal ? literalArray(a.value, a.aval) : env.get(a)!);
  for (const eqn of jaxpr.eqns) {
    const outs = bind(eqn.primitive, eqn.inputs.map(read), eqn.params as ParamsOf<Primitive>);
    eqn.outBinders.forEach((v, i) => env.set(v, outs[i]));
  }
  return jaxpr.outs.map(read);
}
