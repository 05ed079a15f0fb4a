/**
 * Tracing a control-flow body to a jaxpr whose closed-over values are explicit operands, as JAX's
 * `_initial_style_jaxpr` does: what the function reads from outside (concrete arrays, or tracers of
 * an enclosing vmap/jvp/jit) becomes a leading input of the jaxpr and is passed to the primitive as
 * a const operand, so enclosing transforms see it. Host-known scalars are inlined as literals.
 */
import type { ShapedArray } from "../core/aval.js";
import { ConcreteArray } from "../core/concrete-array.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";
import { JaxprBuilder, JaxprTrace } from "../core/jaxpr-trace.js";
import { Tracer, fullRaise, withNewDynamic } from "../core/trace.js";
import { asArray } from "../numpy/array-like.js";
import { flatten, type TreeDef } from "../tree.js";

export interface HoistedJaxpr {
  /** Inputs: the hoisted consts, then the arguments; no constvars. */
  jaxpr: ClosedJaxpr;
  /** The values of the hoisted consts, in order. */
  consts: Tracer[];
  outTree: TreeDef;
}

/** Traces `fn` (flat array arguments, any pytree result) on abstract arguments. */
export function traceHoisted(
  fn: (...args: Tracer[]) => unknown,
  inAvals: readonly ShapedArray[],
  what: string,
): HoistedJaxpr {
  const builder = new JaxprBuilder();
  return withNewDynamic(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const inTracers = inAvals.map((a) => builder.newArg(trace, a));
    const [leaves, outTree] = flatten<unknown>(fn(...inTracers));
    const outs = leaves.map((o) => {
      if (o instanceof Tracer) return fullRaise(trace, o);
      if (typeof o === "number" || typeof o === "boolean") return fullRaise(trace, asArray(o));
      throw new TypeError(`${what} returned a ${typeof o}, not an array`);
    });
    const literals = new Map<Var, Literal>();
    const constVars: Var[] = [];
    const consts: Tracer[] = [];
    for (const [v, c] of builder.constValues) {
      const host = c instanceof ConcreteArray && c.ndim === 0 ? c.peekHost() : undefined;
      if (host) literals.set(v, new Literal(c.dtype === "bool" ? host[0] !== 0 : host[0], c.aval));
      else {
        constVars.push(v);
        consts.push(c);
      }
    }
    const inline = (a: Atom): Atom => (a instanceof Var ? (literals.get(a) ?? a) : a);
    const eqns = builder.eqns.map(
      (e) => new JaxprEqn(e.primitive, e.inputs.map(inline), e.params, e.outBinders),
    );
    const jaxpr = new Jaxpr(
      [],
      [...constVars, ...inTracers.map((t) => builder.getVar(t))],
      eqns,
      outs.map((t) => inline(builder.getVar(t))),
    );
    return { jaxpr: new ClosedJaxpr(jaxpr, []), consts, outTree };
  });
}

/**
 * Jaxprs that must take the same operands (a cond's branches): each gets unused inputs for the
 * others' consts, so all take [...consts of jaxpr 0, ...consts of jaxpr 1, ..., ...arguments].
 */
export function withCommonConsts(hoisted: readonly HoistedJaxpr[]): {
  jaxprs: ClosedJaxpr[];
  consts: Tracer[];
} {
  const counts = hoisted.map((h) => h.consts.length);
  const jaxprs = hoisted.map((h, k) => {
    const j = h.jaxpr.jaxpr;
    const own = j.inBinders.slice(0, counts[k]);
    const args = j.inBinders.slice(counts[k]);
    const binders: Var[] = [];
    hoisted.forEach((other, m) => {
      if (m === k) binders.push(...own);
      else binders.push(...other.consts.map((c) => new Var(c.aval)));
    });
    return new ClosedJaxpr(new Jaxpr([], [...binders, ...args], j.eqns, j.outs), []);
  });
  return { jaxprs, consts: hoisted.flatMap((h) => h.consts) };
}
