/**
 * `batchJaxpr`: the batched version of a closed jaxpr (JAX's `batching.batch_jaxpr`), for the batching
 * rules of higher-order primitives (pjit, and cond/while/scan): it interprets the jaxpr under a batch
 * trace inside a jaxpr trace, so the result is a new jaxpr taking and returning batched values.
 */
import { ShapedArray } from "../core/aval.js";
import { BatchTrace, BatchTracer, type BatchDim } from "../core/batch-trace.js";
import { evalJaxpr } from "../core/eval-jaxpr.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { fullRaise, withNewMain, type Tracer } from "../core/trace.js";
import { traceToJaxpr } from "./make-jaxpr.js";

export interface BatchedJaxpr {
  jaxpr: ClosedJaxpr;
  /** Where each result's batch axis ended up (null: the same for every example). */
  outDims: BatchDim[];
}

/** Batched jaxprs already built, per jaxpr and batching (vmap(jit(f)) called again reuses them). */
const cache = new WeakMap<ClosedJaxpr, Map<string, BatchedJaxpr>>();

/** The aval of a batched operand: the example's aval with `axisSize` inserted at `dim`. */
function batchedAval(a: ShapedArray, dim: BatchDim, axisSize: number): ShapedArray {
  if (dim === null) return a;
  const shape = [...a.shape];
  shape.splice(dim, 0, axisSize);
  return new ShapedArray(shape, a.dtype, a.weakType);
}

/**
 * `closed` with its inputs batched along `inDims` (null: not batched) over `axisSize` examples; the
 * outputs' batch axes are wherever the batching rules left them (`outDims`).
 */
export function batchJaxpr(
  closed: ClosedJaxpr,
  inDims: readonly BatchDim[],
  axisSize: number,
  axisName?: string,
): BatchedJaxpr {
  const key = `${inDims.map((d) => (d === null ? "n" : d)).join(",")}|${axisSize}|${axisName ?? ""}`;
  let perJaxpr = cache.get(closed);
  if (!perJaxpr) cache.set(closed, (perJaxpr = new Map()));
  const hit = perJaxpr.get(key);
  if (hit) return hit;

  const inAvals = closed.inAvals.map((a, i) => batchedAval(a, inDims[i], axisSize));
  let outDims: BatchDim[] = [];
  const jaxpr = traceToJaxpr(
    (...args: Tracer[]) =>
      withNewMain(BatchTrace, { axisSize, axisName }, (main) => {
        const trace = new BatchTrace(main);
        const ins = args.map((x, i) => (inDims[i] === null ? x : new BatchTracer(trace, x, inDims[i])));
        const outs = evalJaxpr(closed.jaxpr, closed.consts, ins).map(
          (o) => fullRaise(trace, o) as BatchTracer,
        );
        outDims = outs.map((o) => o.batchDim);
        return outs.map((o) => o.val);
      }),
    inAvals,
  );
  const result = { jaxpr, outDims };
  perJaxpr.set(key, result);
  return result;
}
