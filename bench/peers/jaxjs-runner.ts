/**
 * Runs the six workloads on jax-js (`node jaxjs-runner.js webgpu|wasm`) and prints one JSON line:
 * {workload: median ms}. A process of its own: jax-js brings up its own Dawn instance and workers.
 * jax-js runs in Node with `navigator.gpu` from the `webgpu` package, and its wasm backend uses its
 * worker pool when a global `Worker` exists (here NodeWebWorker).
 */
import { NodeWebWorker } from "./web-worker.js";
import { SIZES, medianMs, values, type WorkloadName } from "./workloads.js";

const backend = process.argv[2] as "webgpu" | "wasm";
if (backend === "webgpu") {
  process.env.XDG_RUNTIME_DIR ??= `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`;
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, "navigator", {
    value: { gpu: create([]), userAgent: "Node.js", hardwareConcurrency: 2 },
    configurable: true,
  });
} else {
  const { availableParallelism } = await import("node:os");
  Object.defineProperty(globalThis, "navigator", {
    value: { userAgent: "Node.js", hardwareConcurrency: availableParallelism() },
    configurable: true,
  });
  Object.assign(globalThis, { Worker: NodeWebWorker });
}

const jax = await import("@jax-js/jax");
const { numpy: np, nn, jit, vmap, grad, blockUntilReady } = jax;
type Arr = ReturnType<typeof np.array>;
const available = await jax.init();
if (!available.includes(backend))
  throw new Error(`jax-js: backend ${backend} is not available (${available})`);
jax.defaultDevice(backend);

const arr = (data: Float32Array, shape: number[]): Arr => np.array(data).reshape(shape);

/** Times `f(...args)`; arguments are passed as new references (jax-js functions consume them). */
async function time(f: (...a: Arr[]) => Arr, args: Arr[], repeats: number): Promise<number> {
  return medianMs(async () => {
    const out = f(...args.map((a) => a.ref));
    await blockUntilReady(out);
    out.dispose();
  }, repeats);
}

const results: Partial<Record<WorkloadName, number>> = {};
const only = process.argv[3]?.split(",");
const want = (w: WorkloadName) => !only || only.includes(w);

if (want("matvec")) {
  const { n, batch } = SIZES.matvec;
  const W = arr(values(n * n, 1, 0.1), [n, n]);
  const f = (x: Arr) => np.dot(W.ref, x);
  results.matvec = await time(jit(vmap(f)), [arr(values(batch * n, 2), [batch, n])], 9);
}
if (want("mlp")) {
  const [d0, d1, d2, d3] = SIZES.mlp.sizes;
  const W1 = arr(values(d1 * d0, 3, 0.05), [d1, d0]);
  const b1 = arr(values(d1, 4, 0.1), [d1]);
  const W2 = arr(values(d2 * d1, 5, 0.05), [d2, d1]);
  const b2 = arr(values(d2, 6, 0.1), [d2]);
  const W3 = arr(values(d3 * d2, 7, 0.05), [d3, d2]);
  const b3 = arr(values(d3, 8, 0.1), [d3]);
  const mlp = (x: Arr) => {
    const h1 = np.tanh(np.dot(W1.ref, x).add(b1.ref));
    const h2 = np.tanh(np.dot(W2.ref, h1).add(b2.ref));
    return np.dot(W3.ref, h2).add(b3.ref);
  };
  results.mlp = await time(jit(vmap(mlp)), [arr(values(SIZES.mlp.batch * d0, 9), [SIZES.mlp.batch, d0])], 5);
}
if (want("elementwise")) {
  const f = jit((x: Arr) =>
    np
      .sin(x.ref)
      .mul(2)
      .add(np.exp(np.negative(x.ref.mul(x)))),
  );
  results.elementwise = await time(f, [arr(values(SIZES.elementwise.n, 10), [SIZES.elementwise.n])], 9);
}
if (want("perExampleGrad")) {
  const { examples, features } = SIZES.perExampleGrad;
  // Logistic loss of one example: softplus(w·x) − y (w·x); its gradient is (σ(w·x) − y) x.
  const loss = (w: Arr, x: Arr, y: Arr) => {
    const z = np.dot(w, x);
    return nn.softplus(z.ref).sub(y.mul(z));
  };
  const perExample = jit(vmap(grad(loss), [null, 0, 0]));
  const w = arr(values(features, 11, 0.1), [features]);
  const X = arr(values(examples * features, 12), [examples, features]);
  const y = np.array(Float32Array.from(values(examples, 13), (v) => (v > 0 ? 1 : 0)));
  results.perExampleGrad = await time(perExample, [w, X, y], 9);
}
if (want("matmul")) {
  const { n } = SIZES.matmul;
  const mm = jit((a: Arr, b: Arr) => np.matmul(a, b));
  results.matmul = await time(mm, [arr(values(n * n, 14), [n, n]), arr(values(n * n, 15), [n, n])], 5);
}
if (want("sum")) {
  const s = jit((x: Arr) => np.sum(x));
  results.sum = await time(s, [arr(values(SIZES.sum.n, 16), [SIZES.sum.n])], 9);
}
console.log(JSON.stringify(results));
process.exit(0);
