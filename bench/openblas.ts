/**
 * OpenBLAS's float32 matmul as a baseline: numpy's `a @ b` under Debian's /usr/bin/python3 (packages
 * python3-numpy and libopenblas0-pthread), timed in a process of its own by bench/peers/numpy-matmul.py.
 * Without numpy (or python) the baseline is skipped with a note instead of failing the bench.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

/** Debian's interpreter (the python3 on PATH may be another one); VMAPLAB_PYTHON overrides it. */
const PYTHON = process.env.VMAPLAB_PYTHON ?? "/usr/bin/python3";
const SCRIPT = path.resolve(import.meta.dirname, "../../bench/peers/numpy-matmul.py");

export interface BlasTime {
  medianMs: number;
  /** The BLAS library numpy loaded (e.g. openblas-pthread/libopenblasp-r0.3.21.so). */
  blas: string;
}

/** Median ms of an n x n x n float32 matmul in OpenBLAS, or undefined (with a note printed). */
export function openblasMatmulMs(n: number, runs = 15): BlasTime | undefined {
  const r = spawnSync(PYTHON, [SCRIPT, String(n), String(runs)], { encoding: "utf8", timeout: 120_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim() || `exit status ${r.status}`);
    console.warn(`[bench] OpenBLAS baseline skipped: ${PYTHON} numpy matmul failed (${why})`);
    return undefined;
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { median_ms: number; blas: string };
  return { medianMs: out.median_ms, blas: out.blas };
}

/** GFLOP/s of an m x k x n matmul (2 m k n flops) taking `ms` milliseconds. */
export function gflops(m: number, k: number, n: number, ms: number): number {
  return (2 * m * k * n) / ms / 1e6;
}
