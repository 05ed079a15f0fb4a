/**
 * Forward mode, linearize and transposition (Autodidax's `jvp_flat`, `linearize_flat` and
 * `backward_pass`). Linearize is partial evaluation of the JVP: the tangent inputs are tracers of a
 * jaxpr trace opened below the JVP trace, so everything computed from primals alone runs now (or
 * on the traces below: vmap, jit, an outer grad), while every operation touching a tangent is
 * recorded as an equation of a linear jaxpr whose constants are the primal values it needs (JAX's
 * known/unknown split, with the JVP's structure deciding what is known). Transposing that jaxpr
 * equation by equation from the output cotangents gives reverse mode.
 */
import { ShapedArray } from "../../core/aval.js";
import { literalArray } from "../../core/from-host.js";
import { Jaxpr, JaxprEqn, Literal, Var } from "../../core/jaxpr.js";
import { JaxprBuilder, JaxprTrace } from "../../core/jaxpr-trace.js";
import { JVPTrace, JVPTracer, hasTangent } from "../../core/jvp-trace.js";
import type { ParamsOf, Primitive } from "../../core/primitive.js";
import { bind, fullRaise, withNewMain, type Tracer } from "../../core/trace.js";
import { evalJaxpr } from "../../core/eval-jaxpr.js";
import { transposeRules, UndefinedPrimal, type TransposeRule } from "../transpose-rules.js";
import { add, zeros } from "./ops.js";
import { Zero, type Tangent } from "./zero.js";

/** The tangent type of a primal: same shape and dtype, never weak. */
export function tangentAval(aval: ShapedArray): ShapedArray {
  return new ShapedArray(aval.shape, aval.dtype);
}

/** Runs `f` on JVP tracers: primal results and their tangents (symbolic zeros where independent). */
export function jvpFlat(
  f: (xs: Tracer[]) => Tracer[],
  primals: Tracer[],
  tangents: Tangent[],
): [Tracer[], Tangent[]] {
  return withNewMain(JVPTrace, null, (main) => {
    const trace = new JVPTrace(main);
    const ins = primals.map(
      (p, i) => new JVPTracer(trace, p, hasTangent(p.aval) ? tangents[i] : Zero.of(p.aval)),
    );
    const outs = f(ins).map((o) => fullRaise(trace, o) as JVPTracer);
    return [outs.map((o) => o.primal), outs.map((o) => o.tangent)];
  });
}

/**
 * A linear function as a jaxpr: `inVars[i]` is the tangent input of primal i (null: no tangent, an
 * integer input), `outs[j]` the tangent output j (null: a symbolic zero). The constants are primal
 * values (concrete arrays or tracers of enclosing transforms).
 */
export class LinearJaxpr {
  constructor(
    readonly constVars: Var[],
    readonly consts: Tracer[],
    readonly inVars: (Var | null)[],
    readonly inAvals: ShapedArray[],
    readonly eqns: JaxprEqn[],
    readonly outs: (Var | null)[],
    readonly outAvals: ShapedArray[],
  ) {}

  /** The jaxpr itself (zero outputs left out), as JAX prints a linearized function. */
  get jaxpr(): Jaxpr {
    return new Jaxpr(
      this.constVars,
      this.inVars.filter((v): v is Var => v !== null),
      this.eqns,
      this.outs.filter((v): v is Var => v !== null),
    );
  }

  /** Forward: tangents of the outputs from tangents of the inputs. */
  apply(tangents: Tracer[]): Tracer[] {
    const args = this.inVars.flatMap((v, i) => (v ? [tangents[i]] : []));
    const outs = evalJaxpr(this.jaxpr, this.consts, args);
    let k = 0;
    return this.outs.map((v, j) => (v ? outs[k++] : zeros(this.outAvals[j])));
  }

  /** Reverse: cotangents of the inputs from cotangents of the outputs (null: zero). */
  transpose(cts: (Tracer | null)[]): Tangent[] {
    return backwardPass(this, cts);
  }
}

/**
 * The builder of a linearize trace: marks its tracers as tangents being linearized, so the JVP rules
 * of control flow know to split their work into a primal part (run now) and a linear part (recorded).
 */
export class LinearizeBuilder extends JaxprBuilder {}

export function linearizeFlat(f: (xs: Tracer[]) => Tracer[], primals: Tracer[]): [Tracer[], LinearJaxpr] {
  const builder = new LinearizeBuilder();
  return withNewMain(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const tanIns = primals.map((p) =>
      hasTangent(p.aval) ? builder.newArg(trace, tangentAval(p.aval)) : null,
    );
    const [outs, tanOuts] = jvpFlat(
      f,
      primals,
      tanIns.map((t, i) => t ?? Zero.of(primals[i].aval)),
    );
    // A tangent that came out of no tangent operation (a constant) is lifted in as a constant.
    const outVars = tanOuts.map((t) => (t instanceof Zero ? null : builder.getVar(fullRaise(trace, t))));
    const constVars = [...builder.constValues.keys()];
    const lin = new LinearJaxpr(
      constVars,
      constVars.map((v) => builder.constValues.get(v)!),
      tanIns.map((t) => (t ? builder.getVar(t) : null)),
      primals.map((p) => tangentAval(p.aval)),
      [...builder.eqns],
      outVars,
      outs.map((o) => tangentAval(o.aval)),
    );
    return [outs, lin];
  });
}

/**
 * Autodidax's `backward_pass`: walks the linear equations backwards, calling each primitive's
 * transpose rule and accumulating cotangents per variable (absent = symbolic zero).
 */
export function backwardPass(lin: LinearJaxpr, cts: (Tracer | null)[]): Tangent[] {
  const linear = new Set<Var>();
  for (const v of lin.inVars) if (v) linear.add(v);
  const constEnv = new Map<Var, Tracer>();
  lin.constVars.forEach((v, i) => constEnv.set(v, lin.consts[i]));
  const readConst = (a: Var | Literal): Tracer =>
    a instanceof Literal ? literalArray(a.value, a.aval) : constEnv.get(a)!;
  // Equations with no linear operand are constants: evaluate them now (forward).
  const linearEqns: JaxprEqn[] = [];
  for (const eqn of lin.eqns) {
    if (eqn.inputs.some((a) => a instanceof Var && linear.has(a))) {
      eqn.outBinders.forEach((v) => linear.add(v));
      linearEqns.push(eqn);
    } else {
      const outs = bind(eqn.primitive, eqn.inputs.map(readConst), eqn.params as ParamsOf<Primitive>);
      eqn.outBinders.forEach((v, i) => constEnv.set(v, outs[i]));
    }
  }
  const ctEnv = new Map<Var, Tracer>();
  const accumulate = (v: Var, ct: Tracer) => {
    if (!linear.has(v)) return;
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev ? add(prev, ct) : ct);
  };
  lin.outs.forEach((v, j) => {
    const ct = cts[j];
    if (v && ct) accumulate(v, ct);
  });
  for (let e = linearEqns.length - 1; e >= 0; e--) {
    const eqn = linearEqns[e];
    const outCts = eqn.outBinders.map((v) => ctEnv.get(v));
    if (outCts.every((c) => c === undefined)) continue;
    eqn.outBinders.forEach((v) => ctEnv.delete(v));
    const args = eqn.inputs.map((a) =>
      a instanceof Var && linear.has(a) ? new UndefinedPrimal(a.aval) : readConst(a),
    );
    const rule = transposeRules[eqn.primitive] as TransposeRule<Primitive>;
    const inCts = rule(
      outCts.map((c, k) => c ?? zeros(eqn.outBinders[k].aval)),
      args,
      eqn.params as ParamsOf<Primitive>,
    );
    inCts.forEach((c, k) => {
      const a = eqn.inputs[k];
      if (c && a instanceof Var) accumulate(a, c);
    });
  }
  return lin.inVars.map((v, i) => (v && ctEnv.get(v)) || Zero.of(lin.inAvals[i]));
}
