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
// [random-sort] imports
import * as srt from "./sorting.js";
// [end random-sort]
// [reductions-linalg] imports
import * as cum from "./cumulative.js";
import * as la from "./linalg.js";
// [end reductions-linalg]
// [shape-indexing] imports
import * as idx from "./indexing.js";
import * as joining from "./joining.js";
import * as rearrange from "./rearrange.js";
import * as tk from "./take.js";
// [end shape-indexing]

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
    /** Sub-arrays along the first axis, as iterating a JAX array gives (`const [a, b] = x`). */
    [Symbol.iterator](): Iterator<Tracer>;

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
    min(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    prod(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    argmax(axis?: number | null | red.ArgOptions): Tracer;
    argmin(axis?: number | null | red.ArgOptions): Tracer;
    all(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    any(axis?: red.AxisArg | red.ReduceOptions): Tracer;
    cumsum(axis?: number | null | cum.CumulativeOptions): Tracer;
    cumprod(axis?: number | null | cum.CumulativeOptions): Tracer;
    var(axis?: red.AxisArg | red.VarOptions): Tracer;
    std(axis?: red.AxisArg | red.VarOptions): Tracer;
    dot(other: ArrayLike): Tracer;
    matmul(other: ArrayLike): Tracer;
    // [end reductions-linalg]

    // [shape-indexing] method types
    /** numpy indexing: `x.slice(0, "1:3", null, "...", [2, 0])` is numpy's `x[0, 1:3, None, ..., [2, 0]]`. */
    slice(...indices: idx.Index[]): Tracer;
    /** JAX's `x.at[...]`: `x.at(1, ":").set(v)` returns a new array; `x` is unchanged. */
    at(...indices: idx.Index[]): idx.IndexUpdateRef;
    flatten(): Tracer;
    swapaxes(axis1: number, axis2: number): Tracer;
    take(indices: ArrayLike, options?: number | null | tk.TakeOptions): Tracer;
    repeat(repeats: number | readonly number[], axis?: number | null | joining.RepeatOptions): Tracer;
    // [end shape-indexing]

    // [random-sort] method types
    sort(axis?: number | null | srt.SortOptions): Tracer;
    argsort(axis?: number | null | srt.SortOptions): Tracer;
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
  min(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.min(this, axis);
  },
  prod(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.prod(this, axis);
  },
  argmax(this: Tracer, axis?: number | null | red.ArgOptions) {
    return red.argmax(this, axis);
  },
  argmin(this: Tracer, axis?: number | null | red.ArgOptions) {
    return red.argmin(this, axis);
  },
  all(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.all(this, axis);
  },
  any(this: Tracer, axis?: red.AxisArg | red.ReduceOptions) {
    return red.any(this, axis);
  },
  cumsum(this: Tracer, axis?: number | null | cum.CumulativeOptions) {
    return cum.cumsum(this, axis);
  },
  cumprod(this: Tracer, axis?: number | null | cum.CumulativeOptions) {
    return cum.cumprod(this, axis);
  },
  var(this: Tracer, axis?: red.AxisArg | red.VarOptions) {
    return red.var_(this, axis);
  },
  std(this: Tracer, axis?: red.AxisArg | red.VarOptions) {
    return red.std(this, axis);
  },
  dot(this: Tracer, o: ArrayLike) {
    return la.dot(this, o);
  },
  matmul(this: Tracer, o: ArrayLike) {
    return la.matmul(this, o);
  },
  // [end reductions-linalg]

  // [shape-indexing] methods
  slice(this: Tracer, ...indices: idx.Index[]) {
    return idx.sliceMethod(this, indices);
  },
  flatten(this: Tracer) {
    return so.ravel(this);
  },
  swapaxes(this: Tracer, axis1: number, axis2: number) {
    return rearrange.swapaxes(this, axis1, axis2);
  },
  take(this: Tracer, indices: ArrayLike, options?: number | null | tk.TakeOptions) {
    return tk.take(this, indices, options);
  },
  repeat(this: Tracer, repeats: number | readonly number[], axis?: number | null | joining.RepeatOptions) {
    return joining.repeat(this, repeats, axis);
  },
  // [end shape-indexing]

  // [random-sort] methods
  sort(this: Tracer, axis?: number | null | srt.SortOptions) {
    return srt.sort(this, axis);
  },
  argsort(this: Tracer, axis?: number | null | srt.SortOptions) {
    return srt.argsort(this, axis);
  },
  // [end random-sort]
};

// [shape-indexing] at
// `at` returns an update reference, not an array, so it is installed beside the table.
Object.defineProperty(Tracer.prototype, "at", {
  value: function (this: Tracer, ...indices: idx.Index[]) {
    return new idx.IndexUpdateRef(this, indices);
  },
  writable: true,
  configurable: true,
});
// [end shape-indexing]

Object.defineProperty(Tracer.prototype, Symbol.iterator, {
  value: function* (this: Tracer): Generator<Tracer> {
    if (this.ndim === 0) throw new TypeError("iteration over a 0-d array");
    for (let i = 0; i < this.shape[0]; i++) yield idx.index(this, i);
  },
  writable: true,
  configurable: true,
});

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tracer.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tracer.prototype, "T", {
  get(this: Tracer) {
    return so.transpose(this);
  },
  configurable: true,
});
