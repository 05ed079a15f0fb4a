/** The kernel benchmark (bench/kernel/kernel_bench.py through Debian's jupyter_client), tslab as baseline. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Row } from "./common.js";

interface KernelMeasure {
  kernel: string;
  start_s: number;
  trivial_cell_ms: number;
  trivial_cell_idle_ms: number;
  varied_cell_ms: number;
  varied_cell_idle_ms: number;
  complete_ms: number;
  toplevel_loop_ms: number;
  function_loop_ms: number;
}

/**
 * The kernel benchmark (bench/kernel/kernel_bench.py, through Debian's jupyter_client): vmaplab
 * against tslab, installed for the run into a temporary Jupyter path.
 */
export function kernelRows(): Row[] {
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const root = path.resolve(import.meta.dirname, "../..");
  const script = path.join(root, "bench/kernel/kernel_bench.py");
  const prefix = mkdtempSync(path.join(tmpdir(), "vmaplab-bench-"));
  // tslab's kernelspec runs `tslab` from PATH.
  const env = {
    ...process.env,
    // The caller's JUPYTER_PATH stays (after tslab's prefix): it may name the vmaplab kernel to measure.
    JUPYTER_PATH: [path.join(prefix, "share/jupyter"), process.env.JUPYTER_PATH]
      .filter(Boolean)
      .join(path.delimiter),
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
    row("trivial cell `1+1` to idle (median of 50)", ours.trivial_cell_idle_ms, theirs?.trivial_cell_idle_ms),
    row("trivial cells `i+1`, a new text each, round trip", ours.varied_cell_ms, theirs?.varied_cell_ms),
    row(
      "trivial cells `i+1`, a new text each, to idle",
      ours.varied_cell_idle_ms,
      theirs?.varied_cell_idle_ms,
    ),
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
