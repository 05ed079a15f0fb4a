/**
 * The batching trace (Autodidax's BatchTrace): a batch tracer carries a value and the axis of that
 * value along which examples are stacked (or `null`: not mapped, the same for every example). Each
 * primitive is handled by its batching rule, which binds primitives on the underlying values.
 */
import { ShapedArray } from "./aval.js";
import type { ParamsOf, Primitive } from "./primitive.js";
import { Trace, Tracer } from "./trace.js";
import { batchingRules, type BatchRule } from "../transforms/batching-rules.js";

export type BatchDim = number | null;

export class BatchTracer extends Tracer {
  constructor(
    readonly _trace: BatchTrace,
    readonly val: Tracer,
    readonly batchDim: BatchDim,
  ) {
    super();
  }

  /** What one example looks like: the value's aval without the batch axis. */
  get aval(): ShapedArray {
    const a = this.val.aval;
    if (this.batchDim === null) return a;
    return new ShapedArray(
      a.shape.filter((_, i) => i !== this.batchDim),
      a.dtype,
      a.weakType,
    );
  }

  override fullLower(): Tracer {
    return this.batchDim === null ? this.val.fullLower() : this;
  }
}

export interface BatchMainData {
  axisSize: number;
  /** The vmap's `axisName`, which collectives (psum, all_gather, ...) refer to. */
  axisName?: string;
}

export class BatchTrace extends Trace {
  get axisSize(): number {
    return (this.main.globalData as BatchMainData).axisSize;
  }

  lift(x: Tracer): Tracer {
    return new BatchTracer(this, x, null);
  }

  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const ts = tracers as BatchTracer[];
    const data = this.main.globalData as BatchMainData;
    const rule = batchingRules[prim] as BatchRule<P>;
    const [outs, dims] = rule(
      ts.map((t) => t.val),
      ts.map((t) => t.batchDim),
      params,
      data.axisSize,
      data.axisName,
    );
    return outs.map((o, i) => new BatchTracer(this, o, dims[i]));
  }
}
