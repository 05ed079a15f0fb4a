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

export type { JvpRule };

function notYet(what: string): never {
  throw new TypeError(
    `differentiating through ${what} is not supported yet (issue 7); write the loop unrolled to differentiate it`,
  );
}

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
  [Primitive.Cond]: () => notYet("lax.cond"),
  [Primitive.While]: () => notYet("lax.whileLoop"),
  [Primitive.Scan]: () => notYet("lax.scan"),
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
