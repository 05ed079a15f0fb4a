/**
 * Array methods (`x.add(y)`, `x.reshape(...)`, `x.T`), installed on every tracer as JAX installs its
 * numpy methods on Tracer and ArrayImpl, so they work the same on concrete arrays and inside transforms.
 */
import { Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";
import type { ArrayLike } from "./array-like.js";
import * as ew from "./elementwise.js";
import * as red from "./reductions.js";
import * as so from "./shape-ops.js";

declare module "../core/trace.js" {
  interface Tracer {
    add(other: ArrayLike): Tracer;
    sub(other: ArrayLike): Tracer;
    mul(other: ArrayLike): Tracer;
    div(other: ArrayLike): Tracer;
    pow(other: ArrayLike): Tracer;
    neg(): Tracer;
    reshape(shape: readonly number[] | number): Tracer;
    transpose(axes?: readonly number[]): Tracer;
    astype(dtype: DType): Tracer;
    sum(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    max(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    mean(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    ravel(): Tracer;
    squeeze(axis?: number | readonly number[]): Tracer;
    /** The transpose (all axes reversed). */
    readonly T: Tracer;

    // [elementwise] method types
    abs(): Tracer;
    clip(min?: ArrayLike | null, max?: ArrayLike | null): Tracer;
    round(decimals?: number): Tracer;
    eq(other: ArrayLike): Tracer;
    ne(other: ArrayLike): Tracer;
    lt(other: ArrayLike): Tracer;
    le(other: ArrayLike): Tracer;
    gt(other: ArrayLike): Tracer;
    ge(other: ArrayLike): Tracer;
    // [end elementwise]

    // [reductions-linalg] method types
    // [end reductions-linalg]

    // [shape-indexing] method types
    // [end shape-indexing]

    // [random-sort] method types
    // [end random-sort]
  }
}

const methods: Record<string, (this: Tracer, ...args: never[]) => Tracer> = {
  add(this: Tracer, o: ArrayLike) {
    return ew.add(this, o);
  },
  sub(this: Tracer, o: ArrayLike) {
    return ew.subtract(this, o);
  },
  mul(this: Tracer, o: ArrayLike) {
    return ew.multiply(this, o);
  },
  div(this: Tracer, o: ArrayLike) {
    return ew.divide(this, o);
  },
  pow(this: Tracer, o: ArrayLike) {
    return ew.power(this, o);
  },
  neg(this: Tracer) {
    return ew.negative(this);
  },
  reshape(this: Tracer, shape: readonly number[] | number) {
    return so.reshape(this, shape);
  },
  transpose(this: Tracer, axes?: readonly number[]) {
    return so.transpose(this, axes);
  },
  astype(this: Tracer, dtype: DType) {
    return ew.astype(this, dtype);
  },
  sum(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.sum(this, axis);
  },
  max(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.max(this, axis);
  },
  mean(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.mean(this, axis);
  },
  ravel(this: Tracer) {
    return so.ravel(this);
  },
  squeeze(this: Tracer, axis?: number | readonly number[]) {
    return so.squeeze(this, axis);
  },

  // [elementwise] methods
  abs(this: Tracer) {
    return ew.abs(this);
  },
  clip(this: Tracer, min?: ArrayLike | null, max?: ArrayLike | null) {
    return ew.clip(this, min, max);
  },
  round(this: Tracer, decimals?: number) {
    return ew.round(this, decimals);
  },
  eq(this: Tracer, o: ArrayLike) {
    return ew.equal(this, o);
  },
  ne(this: Tracer, o: ArrayLike) {
    return ew.notEqual(this, o);
  },
  lt(this: Tracer, o: ArrayLike) {
    return ew.less(this, o);
  },
  le(this: Tracer, o: ArrayLike) {
    return ew.lessEqual(this, o);
  },
  gt(this: Tracer, o: ArrayLike) {
    return ew.greater(this, o);
  },
  ge(this: Tracer, o: ArrayLike) {
    return ew.greaterEqual(this, o);
  },
  // [end elementwise]

  // [reductions-linalg] methods
  // [end reductions-linalg]

  // [shape-indexing] methods
  // [end shape-indexing]

  // [random-sort] methods
  // [end random-sort]
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tracer.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tracer.prototype, "T", {
  get(this: Tracer) {
    return so.transpose(this);
  },
  configurable: true,
});
