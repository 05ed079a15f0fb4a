/**
 * Inlining of call-like higher-order equations (jit's `pjit`, `closed_call`, custom derivative calls
 * when evaluated): their inner jaxpr's equations replace them, so fusion sees across the call. Loops
 * and conditionals (while, scan, cond) are left alone: they run through their impl rule.
 */
import type { ConcreteArray } from "../core/concrete-array.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";

/** Call primitives whose inner jaxpr (under the param named here) computes the equation's results. */
const CALL_PARAMS: Record<string, string> = {
  pjit: "jaxpr",
  closed_call: "call_jaxpr",
  core_call: "call_jaxpr",
  custom_jvp_call: "call_jaxpr",
  custom_vjp_call: "call_jaxpr",
  custom_vjp_call_jaxpr: "fun_jaxpr",
  checkpoint: "jaxpr",
  remat: "jaxpr",
};

/** The inner jaxpr of a call equation, or undefined for any other equation. */
export function callJaxprOf(eqn: JaxprEqn): { jaxpr: Jaxpr; consts: ConcreteArray[] } | undefined {
  const key = CALL_PARAMS[eqn.primitive as string];
  if (!key) return undefined;
  const inner = (eqn.params as unknown as Record<string, unknown>)[key];
  if (inner instanceof ClosedJaxpr) return { jaxpr: inner.jaxpr, consts: inner.consts };
  if (inner instanceof Jaxpr && inner.constVars.length === 0) return { jaxpr: inner, consts: [] };
  return undefined;
}

/**
 * A jaxpr without call equations. Constants of inlined closed jaxprs become extra constvars,
 * appended after the original ones; `consts` holds their values.
 */
export function inlineCalls(jaxpr: Jaxpr): { jaxpr: Jaxpr; extraConsts: ConcreteArray[] } {
  if (!jaxpr.eqns.some((e) => callJaxprOf(e))) return { jaxpr, extraConsts: [] };
  const extraVars: Var[] = [];
  const extraConsts: ConcreteArray[] = [];
  const eqns: JaxprEqn[] = [];
  const expand = (body: JaxprEqn[], subst: Map<Var, Atom>) => {
    const read = (a: Atom): Atom => (a instanceof Literal ? a : (subst.get(a) ?? a));
    for (const eqn of body) {
      const inputs = eqn.inputs.map(read);
      const call = callJaxprOf(eqn);
      if (!call) {
        // Fresh binders: the same inner jaxpr may be inlined at several call sites.
        const outs = eqn.outBinders.map((v) => {
          const w = new Var(v.aval);
          subst.set(v, w);
          return w;
        });
        eqns.push(new JaxprEqn(eqn.primitive, inputs, eqn.params, outs));
        continue;
      }
      const inner = new Map<Var, Atom>();
      call.jaxpr.constVars.forEach((v, k) => {
        const w = new Var(v.aval);
        extraVars.push(w);
        extraConsts.push(call.consts[k]);
        inner.set(v, w);
      });
      call.jaxpr.inBinders.forEach((v, k) => inner.set(v, inputs[k]));
      expand(call.jaxpr.eqns, inner);
      const results = call.jaxpr.outs.map((a) => (a instanceof Literal ? a : (inner.get(a) ?? a)));
      eqn.outBinders.forEach((v, k) => subst.set(v, results[k]));
    }
  };
  const top = new Map<Var, Atom>();
  expand(jaxpr.eqns, top);
  const outs = jaxpr.outs.map((a) => (a instanceof Literal ? a : (top.get(a) ?? a)));
  return {
    jaxpr: new Jaxpr([...jaxpr.constVars, ...extraVars], jaxpr.inBinders, eqns, outs),
    extraConsts,
  };
}
