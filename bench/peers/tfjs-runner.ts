/**
 * Runs the six workloads on TensorFlow.js (`node tfjs-runner.js wasm|webgpu`) and prints one JSON
 * line: {workload: median ms}. TensorFlow.js has no vmap: the batched workloads are written batched
 * by hand (per-example gradients as the hand-derived (σ(Xw) − y) ⊙ X). Its wasm backend runs with
 * threads (SIMD, pthreads forced on; the pthread workers' blob sources are written to files).
 */
import { createRequire } from "node:module";
import { textToFile, blobText } from "./blob-files.js";
import { SIZES, medianMs, values, type WorkloadName } from "./workloads.js";
import type * as TF from "@tensorflow/tfjs";

const backend = process.argv[2] as "webgpu" | "wasm";
const require = createRequire(import.meta.url);
const { availableParallelism } = await import("node:os");
Object.defineProperty(globalThis, "navigator", {
  value: { userAgent: "Node.js", hardwareConcurrency: availableParallelism() },
  configurable: true,
});
if (backend === "webgpu") {
  process.env.XDG_RUNTIME_DIR ??= `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`;
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  Object.assign((globalThis as unknown as { navigator: object }).navigator, { gpu: create([]) });
}
const tf = require("@tensorflow/tfjs") as typeof TF;

if (backend === "wasm") {
  const wasm = require("@tensorflow/tfjs-backend-wasm") as {
    setWasmPaths(prefix: string): void;
    setThreadsCount(n: number): void;
  };
  // Emscripten's pthread workers load the main script from a Blob, whose text refers to names the
  // bundler gave its requires: define them before the text.
  const prelude =
    "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), " +
    "require$$4 = require('os'), commonjsGlobal = globalThis;\n";
  const { Worker } = await import("node:worker_threads");
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: InstanceType<typeof Worker>, msg: unknown, ...rest: []) {
    const m = msg as { cmd?: string; urlOrBlob?: Blob | string };
    if (m?.cmd === "load" && m.urlOrBlob instanceof Blob) {
      const text = blobText(m.urlOrBlob);
      if (text !== undefined) msg = { ...m, urlOrBlob: textToFile(text, prelude) };
    }
    return post.call(this, msg, ...rest);
  };
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = (blob: Blob) => {
    const text = blobText(blob);
    return text !== undefined ? textToFile(text, prelude) : createObjectURL(blob);
  };
  wasm.setWasmPaths(
    require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm").replace(/[^/]*$/, ""),
  );
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(availableParallelism());
} else {
  require("@tensorflow/tfjs-backend-webgpu");
}
if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js: backend ${backend} failed to start`);
await tf.ready();

type T = TF.Tensor;
const arr = (data: Float32Array, shape: number[]): T => tf.tensor(data, shape);

/** Times `f(...args)`, waiting for the result by reading back one element of it. */
async function time(f: (...a: T[]) => T, args: T[], repeats: number): Promise<number> {
  return medianMs(async () => {
    const out = tf.tidy(() => f(...args));
    const probe = tf.slice(tf.reshape(out, [-1]), 0, 1);
    await probe.data();
    tf.dispose([out, probe]);
  }, repeats);
}

const results: Partial<Record<WorkloadName, number>> = {};
const only = process.argv[3]?.split(",");
const want = (w: WorkloadName) => !only || only.includes(w);

if (want("matvec")) {
  const { n, batch } = SIZES.matvec;
  const W = arr(values(n * n, 1, 0.1), [n, n]);
  results.matvec = await time(
    (xs) => tf.matMul(xs, W, false, true),
    [arr(values(batch * n, 2), [batch, n])],
    9,
  );
}
if (want("mlp")) {
  const [d0, d1, d2, d3] = SIZES.mlp.sizes;
  const W1 = arr(values(d1 * d0, 3, 0.05), [d1, d0]);
  const b1 = arr(values(d1, 4, 0.1), [d1]);
  const W2 = arr(values(d2 * d1, 5, 0.05), [d2, d1]);
  const b2 = arr(values(d2, 6, 0.1), [d2]);
  const W3 = arr(values(d3 * d2, 7, 0.05), [d3, d2]);
  const b3 = arr(values(d3, 8, 0.1), [d3]);
  const mlp = (xs: T) => {
    const h1 = tf.tanh(tf.add(tf.matMul(xs, W1, false, true), b1));
    const h2 = tf.tanh(tf.add(tf.matMul(h1, W2, false, true), b2));
    return tf.add(tf.matMul(h2, W3, false, true), b3);
  };
  results.mlp = await time(mlp, [arr(values(SIZES.mlp.batch * d0, 9), [SIZES.mlp.batch, d0])], 5);
}
if (want("elementwise")) {
  const f = (x: T) => tf.add(tf.mul(tf.sin(x), 2), tf.exp(tf.neg(tf.mul(x, x))));
  results.elementwise = await time(f, [arr(values(SIZES.elementwise.n, 10), [SIZES.elementwise.n])], 9);
}
if (want("perExampleGrad")) {
  const { examples, features } = SIZES.perExampleGrad;
  const w = arr(values(features, 11, 0.1), [features, 1]);
  const X = arr(values(examples * features, 12), [examples, features]);
  const y = arr(
    Float32Array.from(values(examples, 13), (v) => (v > 0 ? 1 : 0)),
    [examples, 1],
  );
  const perExample = (wv: T, Xv: T, yv: T) => tf.mul(tf.sub(tf.sigmoid(tf.matMul(Xv, wv)), yv), Xv);
  results.perExampleGrad = await time(perExample, [w, X, y], 9);
}
if (want("matmul")) {
  const { n } = SIZES.matmul;
  results.matmul = await time(
    (a, b) => tf.matMul(a, b),
    [arr(values(n * n, 14), [n, n]), arr(values(n * n, 15), [n, n])],
    5,
  );
}
if (want("sum")) {
  results.sum = await time((x) => tf.sum(x), [arr(values(SIZES.sum.n, 16), [SIZES.sum.n])], 9);
}
console.log(JSON.stringify(results));
process.exit(0);
