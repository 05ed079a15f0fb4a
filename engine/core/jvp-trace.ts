/**
 * The JVP trace (Autodidax's JVPTrace): a JVP tracer carries a primal value and its tangent. Tangents
 * may be symbolic zeros (JAX's `ad.Zero`): integer and bool values, constants and values that do not
 * depend on the differentiated inputs carry a `Zero`, which costs nothing and is never materialised
 * unless a rule needs an array.
 */
import { ShapedArray } from "./aval.js";
import { isFloating } from "../dtype.js";
import type { ParamsOf, Primitive } from "./primitive.js";
import { bind, Trace, Tracer } from "./trace.js";
import { jvpRules } from "../transforms/jvp-rules.js";
import type { JvpRule } from "../transforms/ad/ops.js";
import { Zero, type Tangent } from "../transforms/ad/zero.js";

export { Zero, type Tangent };

/** Tangents exist only for floating values; others always get a symbolic zero (JAX's float0). */
export function hasTangent(aval: ShapedArray): boolean {
  return isFloating(aval.dtype);
}

export class JVPTracer extends Tracer {
  constructor(
    readonly _trace: JVPTrace,
    readonly primal: Tracer,
    readonly tangent: Tangent,
  ) {
    super();
  }

  get aval(): ShapedArray {
    return this.primal.aval;
  }

  /** A value with a zero tangent is just its primal to the traces below. */
  override fullLower(): Tracer {
    return this.tangent instanceof Zero ? this.primal.fullLower() : this;
  }
}

export class JVPTrace extends Trace {
  lift(x: Tracer): Tracer {
    return new JVPTracer(this, x, Zero.of(x.aval));
  }

  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const ts = tracers as JVPTracer[];
    const primals = ts.map((t) => t.primal);
    const tangents = ts.map((t) => t.tangent);
    // No tangent flows in: the primitive runs on the primals alone, every tangent out is zero.
    if (tangents.every((t) => t instanceof Zero)) {
      return bind(prim, primals, params).map((o) => new JVPTracer(this, o, Zero.of(o.aval)));
    }
    const rule = jvpRules[prim] as JvpRule<P>;
    const [outs, outTangents] = rule(primals, tangents, params);
    return outs.map((o, i) => {
      const t = outTangents[i];
      return new JVPTracer(this, o, hasTangent(o.aval) ? t : Zero.of(o.aval));
    });
  }
}
