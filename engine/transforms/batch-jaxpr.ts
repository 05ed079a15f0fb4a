/**
 * `batchClosedJaxpr`: the batched version of a closed jaxpr (JAX's `batching.batch_jaxpr` with its
 * `instantiate` argument), what the batching rules of cond, while and scan bind in place of the
 * original. The jaxpr is traced again under a batching trace; batched results come out with the
 * batch axis first, and `instantiate` forces chosen results to be batched (a loop carry must keep
 * one batchedness from iteration to iteration).
 */
import { ShapedArray } from "../core/aval.js";
import { BatchTrace, BatchTracer, type BatchDim } from "../core/batch-trace.js";
import { evalJaxpr } from "../core/eval-jaxpr.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { fullRaise, withNewMain } from "../core/trace.js";
import { batchAtFront } from "./batching-rules.js";
import { traceToJaxpr } from "./make-jaxpr.js";

export interface BatchedClosedJaxpr {
  jaxpr: ClosedJaxpr;
  /** Per output: batched (batch axis 0) or not. */
  outBatched: boolean[];
}

/** Batched jaxprs already built (the fixpoints of while/scan and repeated vmap calls reuse them). */
const batchedCache = new WeakMap<ClosedJaxpr, Map<string, BatchedClosedJaxpr>>();

/** The aval with an axis of `size` inserted at `dim`. */
export function withBatchAxis(a: ShapedArray, dim: BatchDim, size: number): ShapedArray {
  if (dim === null) return a;
  const shape = [...a.shape];
  shape.splice(dim, 0, size);
  return new ShapedArray(shape, a.dtype, a.weakType);
}

/**
 * Batches `closed` for inputs whose batch axes are `inDims` (null: not batched). `instantiate`
 * forces outputs to be batched (all of them, or per output), broadcasting unbatched ones, as JAX's
 * `instantiate` argument does; other outputs stay unbatched when they do not depend on the batch.
 */
export function batchClosedJaxpr(
  closed: ClosedJaxpr,
  inDims: readonly BatchDim[],
  axisSize: number,
  axisName?: string,
  instantiate: boolean | readonly boolean[] = false,
): BatchedClosedJaxpr {
  const force = closed.outAvals.map((_, k) =>
    typeof instantiate === "boolean" ? instantiate : instantiate[k],
  );
  const key = `${inDims.map((d) => (d === null ? "n" : d)).join(",")}|${force.map(Number).join("")}|${axisSize}|${axisName ?? ""}`;
  let perJaxpr = batchedCache.get(closed);
  if (!perJaxpr) batchedCache.set(closed, (perJaxpr = new Map()));
  const hit = perJaxpr.get(key);
  if (hit) return hit;
  const inAvals = closed.inAvals.map((a, i) => withBatchAxis(a, inDims[i], axisSize));
  const outBatched: boolean[] = [];
  const jaxpr = traceToJaxpr(
    (...ins) =>
      withNewMain(BatchTrace, { axisSize, axisName }, (main) => {
        const trace = new BatchTrace(main);
        const wrapped = ins.map((x, i) => {
          const d = inDims[i];
          return d === null ? x : new BatchTracer(trace, x, d);
        });
        const outs = evalJaxpr(closed.jaxpr, closed.consts, wrapped);
        return outs.map((o, k) => {
          const t = fullRaise(trace, o) as BatchTracer;
          if (t.batchDim === null && !force[k]) {
            outBatched[k] = false;
            return t.val;
          }
          outBatched[k] = true;
          return batchAtFront(t.val, t.batchDim, axisSize);
        });
      }),
    inAvals,
  );
  const result = { jaxpr, outBatched };
  perJaxpr.set(key, result);
  return result;
}
