/**
 * The jaxpr-building trace (Autodidax's JaxprTrace): each primitive applied to its tracers becomes an
 * equation; constants met along the way become constvars, scalar constants inline literals.
 */
import { abstractEval } from "../primitives/index.js";
import type { ShapedArray } from "./aval.js";
import { ConcreteArray } from "./concrete-array.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, type Atom } from "./jaxpr.js";
import type { AnyParams, ParamsOf, Primitive } from "./primitive.js";
import { Trace, Tracer, type MainTrace } from "./trace.js";

export class JaxprTracer extends Tracer {
  constructor(
    readonly _trace: JaxprTrace,
    readonly aval: ShapedArray,
  ) {
    super();
  }
}

/** What one jaxpr trace accumulates: equations, and which tracer is which variable. */
export class JaxprBuilder {
  readonly eqns: JaxprEqn[] = [];
  readonly tracerToVar = new Map<Tracer, Var>();
  readonly constTracers = new Map<Tracer, JaxprTracer>();
  readonly constValues = new Map<Var, Tracer>();

  newArg(trace: JaxprTrace, aval: ShapedArray): JaxprTracer {
    const t = new JaxprTracer(trace, aval);
    this.tracerToVar.set(t, new Var(aval));
    return t;
  }

  getVar(t: Tracer): Var {
    const v = this.tracerToVar.get(t);
    if (!v) throw new Error(`a tracer was used outside the function being traced (${t})`);
    return v;
  }

  /** With `hoistTracerConsts`: the outer transforms' tracers closed over, in the jaxpr's leading inputs. */
  readonly hoistedConsts: Tracer[] = [];

  /**
   * Builds the jaxpr; `inTracers` are the arguments, `outTracers` the results. Constants that are
   * tracers of an outer transform become leading inputs when `hoistTracerConsts` is set (JAX's
   * convert_constvars_jaxpr: jit passes them as operands), and are an error otherwise.
   */
  build(inTracers: Tracer[], outTracers: Tracer[], hoistTracerConsts = false): ClosedJaxpr {
    const hoistedVars: Var[] = [];
    const constVars = [...this.constValues.keys()];
    const constVals = constVars.map((v) => this.constValues.get(v)!);
    // Scalar constants whose values the host knows are printed inline, as JAX inlines literals.
    const literals = new Map<Var, Literal>();
    const keptVars: Var[] = [];
    const keptVals: ConcreteArray[] = [];
    constVars.forEach((v, k) => {
      const c = constVals[k];
      const host = c instanceof ConcreteArray && c.ndim === 0 ? c.peekHost() : undefined;
      if (host && c instanceof ConcreteArray) {
        literals.set(v, new Literal(c.dtype === "bool" ? host[0] !== 0 : host[0], c.aval));
      } else if (c instanceof ConcreteArray) {
        keptVars.push(v);
        keptVals.push(c);
      } else if (hoistTracerConsts) {
        hoistedVars.push(v);
        this.hoistedConsts.push(c);
      } else {
        throw new Error("closing over a tracer of an outer transform inside makeJaxpr is not supported yet");
      }
    });
    const inline = (a: Atom): Atom => (a instanceof Var ? (literals.get(a) ?? a) : a);
    const eqns = this.eqns.map(
      (e) => new JaxprEqn(e.primitive, e.inputs.map(inline), e.params, e.outBinders),
    );
    const jaxpr = new Jaxpr(
      keptVars,
      [...hoistedVars, ...inTracers.map((t) => this.getVar(t))],
      eqns,
      outTracers.map((t) => inline(this.getVar(t))),
    );
    return new ClosedJaxpr(jaxpr, keptVals);
  }
}

export class JaxprTrace extends Trace {
  private get builder(): JaxprBuilder {
    return this.main.globalData as JaxprBuilder;
  }

  /** Anything from below (a concrete array, an outer tracer) enters the jaxpr as a constant. */
  lift(x: Tracer): Tracer {
    const b = this.builder;
    let t = b.constTracers.get(x);
    if (!t) {
      t = new JaxprTracer(this, x.aval);
      const v = new Var(x.aval);
      b.tracerToVar.set(t, v);
      b.constTracers.set(x, t);
      b.constValues.set(v, x);
    }
    return t;
  }

  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const b = this.builder;
    const outAvals = abstractEval(
      prim,
      tracers.map((t) => t.aval),
      params,
    );
    const outs = outAvals.map((a) => new JaxprTracer(this, a));
    const outVars = outs.map((t) => {
      const v = new Var(t.aval);
      b.tracerToVar.set(t, v);
      return v;
    });
    b.eqns.push(
      new JaxprEqn(
        prim,
        tracers.map((t) => b.getVar(t)),
        params as AnyParams,
        outVars,
      ),
    );
    return outs;
  }
}

export type { MainTrace };
