/** Eager (op-by-op) workloads against plain JS loops, and eager vmap against a per-example loop. */
import { blockUntilReady, defaultDevice, jnp, vmap, type Array } from "../engine/index.js";
import { median, type Row } from "./common.js";

export async function eagerRows(): Promise<Row[]> {
  const n = 1 << 20;
  const host = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 1000);
  const rows: Row[] = [];

  // Workload 1: y = 2 sin(x) + x, eager (one kernel per primitive), against a plain JS loop.
  const jsLoop = () => {
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) y[i] = 2 * Math.fround(Math.sin(host[i])) + host[i];
    return y;
  };
  const baselineMs = await median(() => void jsLoop(), 9);
  for (const device of ["cpu", "webgpu"] as const) {
    defaultDevice(device);
    const x = jnp.array(host);
    const f = (a: Array) => jnp.add(jnp.sin(a).mul(2), a);
    const ms = await median(async () => {
      await blockUntilReady(f(x));
    }, 9);
    rows.push({
      workload: `2·sin(x)+x, n=2^20 (eager)`,
      variant: `vmaplab ${device}`,
      baseline: "plain JS loop",
      medianMs: ms,
      baselineMs,
      ratio: ms / baselineMs,
    });
  }

  // Workload 2: row sums of a 1024x1024 matrix, against a plain JS double loop.
  const m = 1024;
  const mat = Float32Array.from({ length: m * m }, (_, i) => (i % 7) - 3);
  const rowSums = () => {
    const out = new Float32Array(m);
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += mat[r * m + c];
      out[r] = s;
    }
    return out;
  };
  const sumBaseline = await median(() => void rowSums(), 9);
  for (const device of ["cpu", "webgpu"] as const) {
    defaultDevice(device);
    const x = jnp.array(mat).reshape([m, m]);
    const ms = await median(async () => {
      await blockUntilReady(jnp.sum(x, 1));
    }, 9);
    rows.push({
      workload: "row sums, 1024×1024",
      variant: `vmaplab ${device}`,
      baseline: "plain JS loop",
      medianMs: ms,
      baselineMs: sumBaseline,
      ratio: ms / sumBaseline,
    });
  }

  // Workload 3: a one-example function (tanh(W·x), W 64×64) over 128 examples: vmap against a loop over
  // examples (eager; both on the same device).
  for (const device of ["cpu", "webgpu"] as const) {
    defaultDevice(device);
    const W = jnp
      .array(Float32Array.from({ length: 64 * 64 }, (_, i) => ((i * 7) % 13) / 13 - 0.5))
      .reshape([64, 64]);
    const xs = jnp
      .array(Float32Array.from({ length: 128 * 64 }, (_, i) => ((i * 3) % 11) / 11))
      .reshape([128, 64]);
    const f = (x: Array) => jnp.tanh(jnp.dot(W, x));
    const batched = vmap(f);
    const loopMs = await median(async () => {
      await blockUntilReady([...xs].map(f));
    }, 5);
    const vmapMs = await median(async () => {
      await blockUntilReady(batched(xs));
    }, 5);
    rows.push({
      workload: "tanh(W·x) over 128 examples, W 64×64 (eager)",
      variant: `vmap, ${device}`,
      baseline: `per-example loop, ${device}`,
      medianMs: vmapMs,
      baselineMs: loopMs,
      ratio: vmapMs / loopMs,
    });
  }

  return rows;
}
