/**
 * Traces and tracers, following JAX's Autodidax: every transform (eval, jaxpr building, and later
 * vmap/jvp) is a Trace with a `processPrimitive`; `bind` finds the innermost trace among the operands
 * and lets it handle the primitive. Concrete arrays are tracers of the bottom (eval) trace.
 */
import type { ShapedArray } from "./aval.js";
import type { DType, TypedArray } from "../dtype.js";

/** Nested JS arrays, as `tolist()` returns them. */
export type NestedList = number | boolean | NestedList[];
import type { Shape } from "../shape.js";
import type { ParamsOf, Primitive } from "./primitive.js";

export abstract class Tracer {
  abstract readonly _trace: Trace;
  abstract get aval(): ShapedArray;

  get shape(): Shape {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.ndim;
  }
  get size(): number {
    return this.aval.size;
  }
  /** Weakly typed: stands for a JS number and defers to the other operand's dtype. */
  get weakType(): boolean {
    return this.aval.weakType;
  }
  /** jax-js compatibility: there are no reference counts to bump, so `x.ref` is `x`. */
  get ref(): this {
    return this;
  }

  /** The values, read back from the device. Only concrete arrays have them. */
  data(): Promise<TypedArray> {
    return Promise.reject(this.concretizationError("data()"));
  }
  /** The values as nested JS arrays. */
  tolist(): Promise<NestedList> {
    return Promise.reject(this.concretizationError("tolist()"));
  }
  /** The single value of a size-1 array. */
  item(): Promise<number | boolean> {
    return Promise.reject(this.concretizationError("item()"));
  }
  /** Releases device memory now rather than when the array is collected. */
  dispose(): void {}

  protected concretizationError(what: string): Error {
    return new TypeError(
      `${what} needs a concrete value, but this is an abstract tracer ${this.aval.toString()} inside a transform ` +
        `(JAX's ConcretizationTypeError): compute on it with jnp functions and read the result outside the transform`,
    );
  }

  /** The value to hand back to the caller once the trace that made it is done with it. */
  fullLower(): Tracer {
    return this;
  }

  toString(): string {
    return `Traced<${this.aval.toString()}>with<${this._trace.constructor.name}>`;
  }
}

export interface TraceConstructor {
  new (main: MainTrace): Trace;
}

/** One level of the trace stack: which transform, and the data it shares across its tracers. */
export class MainTrace {
  constructor(
    readonly level: number,
    readonly traceType: TraceConstructor,
    readonly globalData: unknown,
  ) {}
}

export abstract class Trace {
  constructor(readonly main: MainTrace) {}

  /** Wraps a value from a lower level (a concrete array or an outer trace's tracer) for this trace. */
  abstract lift(x: Tracer): Tracer;

  abstract processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[];
}

const traceStack: MainTrace[] = [];
let dynamicTrace: MainTrace | null = null;
let base: Trace | undefined;

/** Installs the bottom of the stack (the eval trace); called once by the eval trace's module. */
export function setBaseTrace(traceType: TraceConstructor): void {
  const main = new MainTrace(0, traceType, null);
  traceStack.length = 0;
  traceStack.push(main);
  base = new traceType(main);
}

/** The eval trace that concrete arrays belong to. */
export function baseTrace(): Trace {
  if (!base)
    throw new Error("the engine's eval trace is not installed (import the engine through its index)");
  return base;
}

/** The innermost trace level whose shared data satisfies `test` (e.g. a vmap with a given axis name). */
export function findMain(test: (main: MainTrace) => boolean): MainTrace | undefined {
  for (let i = traceStack.length - 1; i >= 0; i--) if (test(traceStack[i])) return traceStack[i];
  return undefined;
}

/** Runs `body` with a new trace level of the given type pushed on the stack. */
export function withNewMain<T>(
  traceType: TraceConstructor,
  globalData: unknown,
  body: (main: MainTrace) => T,
): T {
  const main = new MainTrace(traceStack.length, traceType, globalData);
  traceStack.push(main);
  try {
    return body(main);
  } finally {
    traceStack.pop();
  }
}

/** Like `withNewMain`, and makes this level catch every primitive, even on constants (for jaxprs). */
export function withNewDynamic<T>(
  traceType: TraceConstructor,
  globalData: unknown,
  body: (main: MainTrace) => T,
): T {
  return withNewMain(traceType, globalData, (main) => {
    const previous = dynamicTrace;
    dynamicTrace = main;
    try {
      return body(main);
    } finally {
      dynamicTrace = previous;
    }
  });
}

export function findTopTrace(args: readonly Tracer[]): Trace {
  let top = traceStack[0];
  for (const x of args) if (x._trace.main.level > top.level) top = x._trace.main;
  if (dynamicTrace && dynamicTrace.level > top.level) top = dynamicTrace;
  return new top.traceType(top);
}

export function fullRaise(trace: Trace, x: Tracer): Tracer {
  const level = trace.main.level;
  if (x._trace.main === trace.main) return x;
  if (x._trace.main.level < level) return trace.lift(x);
  if (x._trace.main.level > level) {
    throw new Error(
      `a tracer from an inner transform escaped into an outer one (level ${x._trace.main.level} > ${level}); ` +
        `did a function save a traced value in a variable outside itself?`,
    );
  }
  throw new Error(`different traces at the same level ${level}`);
}

/** Applies a primitive to operands, dispatching to the innermost active trace. */
export function bind<P extends Primitive>(prim: P, args: readonly Tracer[], params: ParamsOf<P>): Tracer[] {
  const trace = findTopTrace(args);
  const tracers = args.map((a) => fullRaise(trace, a));
  return trace.processPrimitive(prim, tracers, params).map((t) => t.fullLower());
}

/** `bind` for the (usual) single-result primitives. */
export function bind1<P extends Primitive>(prim: P, args: readonly Tracer[], params: ParamsOf<P>): Tracer {
  return bind(prim, args, params)[0];
}
