/**
 * The JVP rule of every primitive (JAX's `primitive_jvps`). The table is total: a primitive added
 * without a JVP rule does not compile. Rules bind primitives, so they compose with vmap, jit and
 * with autodiff itself; tangents may be symbolic zeros (`Zero`).
 */
import { Primitive } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { elementwiseJvpRules } from "./ad/jvp-elementwise.js";
import { structuralJvpRules } from "./ad/jvp-structural.js";
import type { JvpRule } from "./ad/ops.js";
import { Zero } from "./ad/zero.js";
import { jvpFlat } from "./ad/linearize.js";
import { evalJaxpr } from "../core/eval-jaxpr.js";
import { condJvp, scanJvp, whileJvp } from "./ad/control-flow.js";

export type { JvpRule };

export const jvpRules: { [P in Primitive]: JvpRule<P> } = {
  ...elementwiseJvpRules,
  ...structuralJvpRules,

  // [jit] jvp rules
  // A jitted call is differentiated through its body (the call is inlined into the JVP, as JAX's
  // `inline=True`): the outer jit, if any, compiles the result as a whole.
  [Primitive.Pjit]: (primals, tangents, params) =>
    jvpFlat((xs) => evalJaxpr(params.jaxpr.jaxpr, params.jaxpr.consts, xs), primals, tangents),
  // [end jit]

  // [control-flow] jvp rules
  // Forward mode jvp's the inner jaxprs; under linearize, cond and scan split into a primal part
  // (run now) and a linear part (recorded), as JAX's partial evaluation (ad/control-flow.ts).
  [Primitive.Cond]: (primals, tangents, params) => condJvp(primals, tangents, params),
  [Primitive.While]: (primals, tangents, params) => whileJvp(primals, tangents, params),
  [Primitive.Scan]: (primals, tangents, params) => scanJvp(primals, tangents, params),
  // [end control-flow]

  // The value passes, its derivative does not.
  [Primitive.StopGradient]: ([x]) => {
    const out = bind1(Primitive.StopGradient, [x], {});
    return [[out], [Zero.of(out.aval)]];
  },
  [Primitive.AxisIndex]: (_xs, _ts, params) => {
    const out = bind1(Primitive.AxisIndex, [], params);
    return [[out], [Zero.of(out.aval)]];
  },
  [Primitive.CustomLin]: () => {
    throw new TypeError("can't apply forward-mode autodiff (jvp) to a custom_vjp function");
  },
};
