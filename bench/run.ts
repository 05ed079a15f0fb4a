/**
 * `npm run bench`: each workload against its baseline, measured in the same run, written to
 * bench/results.json and bench/results.md. Times are medians of repeated runs and include waiting
 * for the device (WebGPU work is synchronised before the clock stops).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import {
  blockUntilReady,
  defaultDevice,
  init,
  jnp,
  releaseDevices,
  vmap,
  type Array,
} from "../engine/index.js";

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

  releaseDevices();
  rows.push(...kernelRows());

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
}

interface KernelMeasure {
  kernel: string;
  start_s: number;
  trivial_cell_ms: number;
  complete_ms: number;
  toplevel_loop_ms: number;
  function_loop_ms: number;
}

/**
 * The kernel benchmark (bench/kernel/kernel_bench.py, through Debian's jupyter_client): vmaplab
 * against tslab, installed for the run into a temporary Jupyter path.
 */
function kernelRows(): Row[] {
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const root = path.resolve(import.meta.dirname, "../..");
  const script = path.join(root, "bench/kernel/kernel_bench.py");
  const prefix = mkdtempSync(path.join(tmpdir(), "vmaplab-bench-"));
  // tslab's kernelspec runs `tslab` from PATH.
  const env = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, "share/jupyter"),
    PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
  };
  const tslab = path.join(root, "node_modules/tslab/bin/tslab");
  const haveTslab =
    existsSync(tslab) &&
    spawnSync(process.execPath, [tslab, "install", "--python", python, "--prefix", prefix], { env })
      .status === 0;
  const measure = (name: string): KernelMeasure | undefined => {
    const r = spawnSync(python, [script, name], { env, encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) {
      console.error(`kernel benchmark of ${name} failed:\n${r.stderr}`);
      return undefined;
    }
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as KernelMeasure;
  };
  const ours = measure("vmaplab");
  const theirs = haveTslab ? measure("tslab") : undefined;
  if (!ours) return [];
  const row = (workload: string, value: number, base: number | undefined, unit = 1): Row => ({
    workload,
    variant: "vmaplab kernel",
    baseline: base === undefined ? "tslab (not available)" : "tslab kernel",
    medianMs: value * unit,
    baselineMs: (base ?? NaN) * unit,
    ratio: base === undefined ? NaN : value / base,
  });
  return [
    row("kernel start → kernel_info reply", ours.start_s, theirs?.start_s, 1000),
    row("trivial cell `1+1` round trip (median of 50)", ours.trivial_cell_ms, theirs?.trivial_cell_ms),
    row("completion request (median of 20)", ours.complete_ms, theirs?.complete_ms),
    row("loop of 2e6 over top-level variables", ours.toplevel_loop_ms, theirs?.toplevel_loop_ms),
    {
      workload: "loop over top-level variables vs the same loop in a function",
      variant: "vmaplab kernel",
      baseline: "same loop in a function",
      medianMs: ours.toplevel_loop_ms,
      baselineMs: ours.function_loop_ms,
      ratio: ours.toplevel_loop_ms / ours.function_loop_ms,
    },
  ];
}

await main();
