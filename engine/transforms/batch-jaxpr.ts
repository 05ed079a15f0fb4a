/**
 * Batched versions of a closed jaxpr (JAX's `batching.batch_jaxpr`), for the batching rules of
 * higher-order primitives: the jaxpr is interpreted under a batch trace inside a jaxpr trace, so the
 * result is a new jaxpr taking and returning batched values. `batchJaxpr` (pjit) leaves each result's
 * batch axis where the rules put it; `batchClosedJaxpr` (cond, while, scan) puts batched results at
 * axis 0 and can force chosen results to be batched (JAX's `instantiate`: a loop carry must keep one
 * batchedness from iteration to iteration).
 */
import { ShapedArray } from "../core/aval.js";
import { BatchTrace, BatchTracer, type BatchDim } from "../core/batch-trace.js";
import { evalJaxpr } from "../core/eval-jaxpr.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { fullRaise, withNewMain, type Tracer } from "../core/trace.js";
import { batchAtFront } from "./batching-rules.js";
import { traceToJaxpr } from "./make-jaxpr.js";

export interface BatchedJaxpr {
  jaxpr: ClosedJaxpr;
  /** Where each result's batch axis ended up (null: the same for every example). */
  outDims: BatchDim[];
}

export interface BatchedClosedJaxpr {
  jaxpr: ClosedJaxpr;
  /** Per output: batched (batch axis 0) or not. */
  outBatched: boolean[];
}

/** Batched jaxprs already built, per jaxpr and batching (repeated vmap calls and loop fixpoints reuse them). */
const cache = new WeakMap<ClosedJaxpr, Map<string, BatchedJaxpr>>();

/** The aval with an axis of `size` inserted at `dim`. */
export function withBatchAxis(a: ShapedArray, dim: BatchDim, size: number): ShapedArray {
  if (dim === null) return a;
  const shape = [...a.shape];
  shape.splice(dim, 0, size);
  return new ShapedArray(shape, a.dtype, a.weakType);
}

/** Traces `closed` batched; `place` decides each result's value and batch axis. Cached by `key`. */
function batchTraced(
  closed: ClosedJaxpr,
  inDims: readonly BatchDim[],
  axisSize: number,
  axisName: string | undefined,
  mode: string,
  place: (t: BatchTracer, k: number) => [Tracer, BatchDim],
): BatchedJaxpr {
  const key = `${inDims.map((d) => (d === null ? "n" : d)).join(",")}|${mode}|${axisSize}|${axisName ?? ""}`;
  let perJaxpr = cache.get(closed);
  if (!perJaxpr) cache.set(closed, (perJaxpr = new Map()));
  const hit = perJaxpr.get(key);
  if (hit) return hit;
  const inAvals = closed.inAvals.map((a, i) => withBatchAxis(a, inDims[i], axisSize));
  const outDims: BatchDim[] = [];
  const jaxpr = traceToJaxpr(
    (...args: Tracer[]) =>
      withNewMain(BatchTrace, { axisSize, axisName }, (main) => {
        const trace = new BatchTrace(main);
        const ins = args.map((x, i) => (inDims[i] === null ? x : new BatchTracer(trace, x, inDims[i])));
        return evalJaxpr(closed.jaxpr, closed.consts, ins).map((o, k) => {
          const [val, dim] = place(fullRaise(trace, o) as BatchTracer, k);
          outDims[k] = dim;
          return val;
        });
      }),
    inAvals,
  );
  const result = { jaxpr, outDims };
  perJaxpr.set(key, result);
  return result;
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
  return batchTraced(closed, inDims, axisSize, axisName, "any", (t) => [t.val, t.batchDim]);
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
  const { jaxpr, outDims } = batchTraced(
    closed,
    inDims,
    axisSize,
    axisName,
    `front:${force.map(Number).join("")}`,
    (t, k) =>
      t.batchDim === null && !force[k] ? [t.val, null] : [batchAtFront(t.val, t.batchDim, axisSize), 0],
  );
  return { jaxpr, outBatched: outDims.map((d) => d !== null) };
}
