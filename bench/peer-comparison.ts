/**
 * The six workloads of issue 6 on vmaplab (jit, both executors) against the peer libraries, measured
 * in the same run (peers in their own processes, see bench/peers/), plus a plain-JS floor.
 */
import { blockUntilReady, defaultDevice, grad, jit, jnp, nn, vmap, type Array } from "../engine/index.js";
import type { Row } from "./common.js";
import { gflops, openblasMatmulMs } from "./openblas.js";
import { PEERS, timePeer, type PeerName, type PeerTimes } from "./peers/run-peers.js";
import { SIZES, WORKLOADS, medianMs, values, type WorkloadName } from "./peers/workloads.js";

const arr = (data: Float32Array, shape: number[]) => jnp.array(data).reshape(shape);

/** vmaplab's version of each workload: a jitted function and its arguments. */
function ours(): Record<WorkloadName, { run: () => Array; repeats: number }> {
  const { n, batch } = SIZES.matvec;
  const W = arr(values(n * n, 1, 0.1), [n, n]);
  const xs = arr(values(batch * n, 2), [batch, n]);
  const matvec = jit(vmap((x: Array) => jnp.dot(W, x)));

  const [d0, d1, d2, d3] = SIZES.mlp.sizes;
  const p = {
    W1: arr(values(d1 * d0, 3, 0.05), [d1, d0]),
    b1: arr(values(d1, 4, 0.1), [d1]),
    W2: arr(values(d2 * d1, 5, 0.05), [d2, d1]),
    b2: arr(values(d2, 6, 0.1), [d2]),
    W3: arr(values(d3 * d2, 7, 0.05), [d3, d2]),
    b3: arr(values(d3, 8, 0.1), [d3]),
  };
  const mlpBatch = arr(values(SIZES.mlp.batch * d0, 9), [SIZES.mlp.batch, d0]);
  const mlp = (x: Array) => {
    const h1 = jnp.tanh(jnp.dot(p.W1, x).add(p.b1));
    const h2 = jnp.tanh(jnp.dot(p.W2, h1).add(p.b2));
    return jnp.dot(p.W3, h2).add(p.b3);
  };
  const mlpJit = jit(vmap(mlp));

  const ex = arr(values(SIZES.elementwise.n, 10), [SIZES.elementwise.n]);
  const elementwise = jit((x: Array) =>
    jnp
      .sin(x)
      .mul(2)
      .add(jnp.exp(x.mul(x).neg())),
  );

  const { examples, features } = SIZES.perExampleGrad;
  const loss = (w: Array, x: Array, y: Array) => {
    const z = jnp.dot(w, x);
    return nn.softplus(z).sub(y.mul(z));
  };
  const perExample = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
  const w = arr(values(features, 11, 0.1), [features]);
  const X = arr(values(examples * features, 12), [examples, features]);
  const y = jnp.array(Float32Array.from(values(examples, 13), (v) => (v > 0 ? 1 : 0)));

  const m = SIZES.matmul.n;
  const A = arr(values(m * m, 14), [m, m]);
  const B = arr(values(m * m, 15), [m, m]);
  const matmul = jit((a: Array, b: Array) => jnp.matmul(a, b));

  const big = arr(values(SIZES.sum.n, 16), [SIZES.sum.n]);
  const sum = jit((x: Array) => jnp.sum(x));

  return {
    matvec: { run: () => matvec(xs), repeats: 9 },
    mlp: { run: () => mlpJit(mlpBatch), repeats: 5 },
    elementwise: { run: () => elementwise(ex), repeats: 9 },
    perExampleGrad: { run: () => perExample(w, X, y), repeats: 9 },
    matmul: { run: () => matmul(A, B), repeats: 5 },
    sum: { run: () => sum(big), repeats: 9 },
  };
}

/** The plain-JS floor: the same arithmetic as straightforward loops over Float32Arrays. */
function jsFloor(): Partial<Record<WorkloadName, () => void>> {
  const mv = (
    M: Float32Array,
    rowsM: number,
    cols: number,
    v: Float32Array,
    off: number,
    out: Float32Array,
  ) => {
    for (let r = 0; r < rowsM; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += M[r * cols + c] * v[off + c];
      out[r] = s;
    }
  };
  const { n, batch } = SIZES.matvec;
  const W = values(n * n, 1, 0.1);
  const xs = values(batch * n, 2);
  const ex = values(SIZES.elementwise.n, 10);
  const { examples, features } = SIZES.perExampleGrad;
  const w = values(features, 11, 0.1);
  const X = values(examples * features, 12);
  const y = Float32Array.from(values(examples, 13), (v) => (v > 0 ? 1 : 0));
  const big = values(SIZES.sum.n, 16);
  const m = SIZES.matmul.n;
  const A = values(m * m, 14);
  const B = values(m * m, 15);
  return {
    matvec: () => {
      const out = new Float32Array(n);
      for (let b = 0; b < batch; b++) mv(W, n, n, xs, b * n, out);
    },
    elementwise: () => {
      const out = new Float32Array(ex.length);
      for (let i = 0; i < ex.length; i++) out[i] = Math.sin(ex[i]) * 2 + Math.exp(-ex[i] * ex[i]);
    },
    perExampleGrad: () => {
      const out = new Float32Array(examples * features);
      for (let e = 0; e < examples; e++) {
        let z = 0;
        for (let k = 0; k < features; k++) z += w[k] * X[e * features + k];
        const g = 1 / (1 + Math.exp(-z)) - y[e];
        for (let k = 0; k < features; k++) out[e * features + k] = g * X[e * features + k];
      }
    },
    matmul: () => {
      // i-k-j order, the fast way to write it in plain JS.
      const C = new Float32Array(m * m);
      for (let i = 0; i < m; i++)
        for (let k = 0; k < m; k++) {
          const a = A[i * m + k];
          for (let j = 0; j < m; j++) C[i * m + j] += a * B[k * m + j];
        }
    },
    sum: () => {
      let s = 0;
      for (let i = 0; i < big.length; i++) s += big[i];
      if (Number.isNaN(s)) throw new Error("unreachable");
    },
  };
}

const BACKEND_OF: Record<PeerName, "webgpu" | "cpu"> = {
  "jax-js webgpu": "webgpu",
  "jax-js wasm": "cpu",
  "TensorFlow.js webgpu": "webgpu",
  "TensorFlow.js wasm": "cpu",
};

export async function peerComparisonRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const mine: Record<"webgpu" | "cpu", Partial<Record<WorkloadName, number>>> = { webgpu: {}, cpu: {} };
  for (const device of ["webgpu", "cpu"] as const) {
    defaultDevice(device);
    for (const [name, work] of Object.entries(ours()) as [
      WorkloadName,
      ReturnType<typeof ours>[WorkloadName],
    ][]) {
      // Results are disposed after each run, as the jax-js and TensorFlow.js runners do: a buffer
      // left to the garbage collector is not back in the pool for the next run, and fresh device
      // memory costs ~10 ms per MB to fault in on lavapipe here (the 16 MB result of (c): ~170 ms).
      mine[device][name] = await medianMs(async () => {
        const out = work.run();
        await blockUntilReady(out);
        out.dispose();
      }, work.repeats);
    }
  }
  const floors = jsFloor();
  for (const [name, fn] of Object.entries(floors) as [WorkloadName, () => void][]) {
    const floorMs = await medianMs(async () => fn(), name === "matmul" ? 1 : 3);
    for (const device of ["webgpu", "cpu"] as const) {
      const ms = mine[device][name]!;
      rows.push({
        workload: WORKLOADS[name],
        variant: `vmaplab ${device}, jit`,
        baseline: "plain JS loop",
        medianMs: ms,
        baselineMs: floorMs,
        ratio: ms / floorMs,
      });
    }
  }
  const peerTimes = new Map<PeerName, PeerTimes>(PEERS.map((p) => [p, timePeer(p)]));
  for (const [peer, times] of peerTimes) {
    const device = BACKEND_OF[peer];
    for (const name of Object.keys(WORKLOADS) as WorkloadName[]) {
      const theirs = times[name];
      if (theirs === undefined) continue;
      const ms = mine[device][name]!;
      rows.push({
        workload: WORKLOADS[name],
        variant: `vmaplab ${device}, jit`,
        baseline:
          peer +
          (peer.startsWith("TensorFlow") && name !== "matmul" && name !== "elementwise" && name !== "sum"
            ? " (hand-batched, no vmap)"
            : ""),
        medianMs: ms,
        baselineMs: theirs,
        ratio: ms / theirs,
      });
    }
  }
  // OpenBLAS (numpy) on the matmul workload: the CPU's ceiling for the cpu executor.
  const n = SIZES.matmul.n;
  const blas = openblasMatmulMs(n);
  if (blas) {
    const ms = mine.cpu.matmul!;
    rows.push({
      workload: WORKLOADS.matmul,
      variant: `vmaplab cpu, jit (${gflops(n, n, n, ms).toFixed(1)} GFLOP/s)`,
      baseline: `OpenBLAS via numpy (${gflops(n, n, n, blas.medianMs).toFixed(1)} GFLOP/s)`,
      medianMs: ms,
      baselineMs: blas.medianMs,
      ratio: ms / blas.medianMs,
    });
  }
  return rows;
}
