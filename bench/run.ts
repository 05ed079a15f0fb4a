/**
 * `npm run bench`: each workload against its baseline, measured in the same run, written to
 * bench/results.json and bench/results.md. Times are medians of repeated runs and include waiting
 * for the device (WebGPU work is synchronised before the clock stops). Each suite is a file of its own.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { init, releaseDevices } from "../engine/index.js";
import type { Row } from "./common.js";
import { eagerRows } from "./eager.js";
import { kernelRows } from "./kernel-rows.js";
// [jit] bench imports
import { vmapJitRows } from "./vmap-jit.js";
// [end jit]
// [webgpu-compiler] bench imports
import { webgpuCompilerRows } from "./webgpu-compiler.js";
// [end webgpu-compiler]
// [autodiff] bench imports
import { autodiffRows } from "./autodiff.js";
// [end autodiff]
// [wasm] bench imports
import { wasmRows } from "./wasm.js";
// [end wasm]
// [peers] bench imports
import { peerComparisonRows } from "./peer-comparison.js";
// [end peers]
// [magics] bench imports
// [end magics]
// [cpu-fusion] bench imports
import { cpuFusionRows } from "./cpu-fusion.js";
// [end cpu-fusion]

async function main(): Promise<void> {
  await init();
  const rows: Row[] = [];
  rows.push(...(await eagerRows()));
  // [jit] bench suites
  rows.push(...(await vmapJitRows()));
  // [end jit]
  // [webgpu-compiler] bench suites
  rows.push(...(await webgpuCompilerRows()));
  // [end webgpu-compiler]
  // [autodiff] bench suites
  rows.push(...(await autodiffRows()));
  // [end autodiff]
  // [wasm] bench suites
  rows.push(...(await wasmRows()));
  // [end wasm]
  // [peers] bench suites
  rows.push(...(await peerComparisonRows()));
  // [end peers]
  // [magics] bench suites
  // [end magics]
  // [cpu-fusion] bench suites
  rows.push(...(await cpuFusionRows()));
  // [end cpu-fusion]
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

await main();
