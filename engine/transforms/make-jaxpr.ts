/** `makeJaxpr(f)(...args)`: traces `f` to a jaxpr (JAX's make_jaxpr), printed in JAX's format. */
import { ShapedArray } from "../core/aval.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { JaxprBuilder, JaxprTrace } from "../core/jaxpr-trace.js";
import { Tracer, fullRaise, withNewDynamic } from "../core/trace.js";
import type { DType } from "../dtype.js";
import { asArray } from "../numpy/array-like.js";
import { flatten, unflatten } from "../tree.js";

/** A stand-in argument giving only shape and dtype (JAX's ShapeDtypeStruct). */
export class ShapeDtypeStruct {
  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType = "float32",
  ) {}
}

/** The abstract value of an argument leaf: arrays by their aval; JS numbers are weak float32 scalars. */
function avalOf(x: unknown): ShapedArray {
  if (x instanceof Tracer) return x.aval;
  if (x instanceof ShapeDtypeStruct) return new ShapedArray(x.shape, x.dtype);
  if (typeof x === "number" || typeof x === "boolean") return asArray(x).aval;
  throw new TypeError(`makeJaxpr: cannot trace an argument of type ${typeof x}`);
}

/** Traces `fn` on abstract versions of the flat arguments and returns the closed jaxpr. */
export function traceToJaxpr(fn: (...args: Tracer[]) => Tracer[], inAvals: ShapedArray[]): ClosedJaxpr {
  const builder = new JaxprBuilder();
  return withNewDynamic(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const inTracers = inAvals.map((a) => builder.newArg(trace, a));
    const outs = fn(...inTracers).map((o) => fullRaise(trace, o));
    return builder.build(inTracers, outs);
  });
}

/** What may stand for an array argument when tracing: an array, a shape/dtype spec, or a JS number. */
export type AbstractArgs<T> = {
  [K in keyof T]: T[K] extends Tracer ? Tracer | ShapeDtypeStruct | number : AbstractArgs<T[K]>;
};

export function makeJaxpr<A extends unknown[]>(
  f: (...args: A) => unknown,
): (...args: AbstractArgs<A>) => ClosedJaxpr {
  return (...args: AbstractArgs<A>) => {
    const [leaves, inTree] = flatten<unknown>(args, (x) => x instanceof ShapeDtypeStruct);
    const inAvals = leaves.map(avalOf);
    return traceToJaxpr((...tracers) => {
      const rebuilt = unflatten(inTree, tracers) as unknown as A;
      const [outs] = flatten(f(...rebuilt));
      return outs.map((o) => (o instanceof Tracer ? o : asArray(o)));
    }, inAvals);
  };
}
