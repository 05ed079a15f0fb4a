/**
 * `npm run bench`: each workload against its baseline, measured in the same run, written to
 * bench/results.json and bench/results.md. Times are medians of repeated runs and include waiting
 * for the device (WebGPU work is synchronised before the clock stops).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { blockUntilReady, defaultDevice, init, jnp, releaseDevices, type Array } from "../engine/index.js";

interface Row {
  workload: string;
  variant: string;
  baseline: string;
  medianMs: number;
  baselineMs: number;
  ratio: number;
}

async function median(fn: () => Promise<void> | void, repeats: number): Promise<number> {
  await fn(); // warm-up: pipelines compiled, caches filled
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main(): Promise<void> {
  await init();
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

  const dir = path.resolve(import.meta.dirname, "../../bench");
  writeFileSync(
    path.join(dir, "results.json"),
    JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + "\n",
  );
  const table = [
    "| workload | variant | median ms | baseline | baseline ms | time / baseline |",
    "|---|---|---:|---|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.variant} | ${r.medianMs.toFixed(2)} | ${r.baseline} | ${r.baselineMs.toFixed(2)} | ${r.ratio.toFixed(2)}× |`,
    ),
  ].join("\n");
  writeFileSync(path.join(dir, "results.md"), table + "\n");
  console.log(table);
  releaseDevices();
}

await main();
