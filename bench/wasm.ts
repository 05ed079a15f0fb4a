/**
 * The WebAssembly SIMD CPU executor (`cpu`) against the reference CPU interpreter (`cpu-reference`)
 * and plain JS loops, eager. The peer libraries' wasm backends run the same workloads under jit in
 * bench/peer-comparison.ts (each in a process of its own).
 */
import { performance } from "node:perf_hooks";
import { availableParallelism } from "node:os";
import { ConcreteArray, defaultDevice, jnp, type Array } from "../engine/index.js";
import { median, type Row } from "./common.js";
import { gflops, openblasMatmulMs } from "./openblas.js";

function row(workload: string, variant: string, medianMs: number, baseline: string, baselineMs: number): Row {
  return { workload, variant, baseline, medianMs, baselineMs, ratio: medianMs / baselineMs };
}

function random(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** One timed run (for baselines too slow to repeat). */
function once(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function wasmRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const previous = defaultDevice();
  const ours = `vmaplab cpu (wasm SIMD, ${availableParallelism()} threads)`;

  // Matmul 1024^3 (results read back to the host on every side).
  const n = 1024;
  const ha = random(n * n, 1);
  const hb = random(n * n, 2);
  defaultDevice("cpu");
  const a = jnp.array(ha).reshape([n, n]);
  const b = jnp.array(hb).reshape([n, n]);
  const mm = (x: Array, y: Array) => {
    const c = jnp.matmul(x, y);
    (c as ConcreteArray).dataSync();
    c.dispose();
  };
  const oursMs = await median(() => mm(a, b), 5);
  defaultDevice("cpu-reference");
  const ra = jnp.array(ha).reshape([n, n]);
  const rb = jnp.array(hb).reshape([n, n]);
  const refMs = once(() => mm(ra, rb));
  const wl = "matmul 1024³ f32";
  rows.push(row(wl, ours, oursMs, "vmaplab cpu-reference (1 run)", refMs));
  // OpenBLAS (numpy) right after ours: what the CPU can do; ratio = our time / OpenBLAS's.
  const blas = openblasMatmulMs(n);
  if (blas) {
    const g = (ms: number) => gflops(n, n, n, ms).toFixed(1);
    rows.push(
      row(
        wl,
        `${ours}, ${g(oursMs)} GFLOP/s`,
        oursMs,
        `OpenBLAS via numpy (${blas.blas.split(",")[0]}), ${g(blas.medianMs)} GFLOP/s`,
        blas.medianMs,
      ),
    );
  }
  // sin(x)*2 + exp(-x*x) over 4M floats, eager (five kernels), against a plain JS loop.
  const m = 1 << 22;
  const hx = random(m, 3).map((v) => v * 8);
  const jsLoop = () => {
    const y = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      const v = hx[i];
      y[i] = Math.sin(v) * 2 + Math.exp(-v * v);
    }
    return y;
  };
  const loopMs = await median(() => void jsLoop(), 5);
  const f = (x: Array) => jnp.add(jnp.sin(x).mul(2), jnp.exp(jnp.negative(x.mul(x))));
  const ew = "sin(x)·2 + exp(−x²), 4M f32 (eager)";
  for (const device of ["cpu", "cpu-reference"] as const) {
    defaultDevice(device);
    const x = jnp.array(hx);
    const ms = await median(
      () => {
        const y = f(x);
        (y as ConcreteArray).dataSync();
        y.dispose();
      },
      device === "cpu" ? 7 : 2,
    );
    rows.push(row(ew, device === "cpu" ? ours : "vmaplab cpu-reference", ms, "plain JS loop", loopMs));
  }

  // The same chain with intermediates disposed as soon as used: the kernels' own cost. (Undisposed
  // intermediates return to the heap only when finalizers run, so the heap grows meanwhile.)
  defaultDevice("cpu");
  const xd = jnp.array(hx);
  const msDisposed = await median(() => {
    const s1 = jnp.sin(xd);
    const s2 = s1.mul(2);
    s1.dispose();
    const q = xd.mul(xd);
    const nq = jnp.negative(q);
    q.dispose();
    const e = jnp.exp(nq);
    nq.dispose();
    const y = jnp.add(s2, e);
    s2.dispose();
    e.dispose();
    (y as ConcreteArray).dataSync();
    y.dispose();
  }, 7);
  rows.push(row(`${ew}, intermediates disposed`, ours, msDisposed, "plain JS loop", loopMs));

  // Sum over 16M floats against a plain JS loop.
  const k = 1 << 24;
  const hs = random(k, 4);
  const sumLoop = () => {
    let s = 0;
    for (let i = 0; i < k; i++) s += hs[i];
    return s;
  };
  const sumLoopMs = await median(() => void sumLoop(), 5);
  defaultDevice("cpu");
  const xs = jnp.array(hs);
  const sumMs = await median(() => {
    const s = jnp.sum(xs);
    (s as ConcreteArray).dataSync();
    s.dispose();
  }, 9);
  rows.push(row("sum, 16M f32", ours, sumMs, "plain JS loop", sumLoopMs));

  defaultDevice(previous.id);
  return rows;
}
