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
// [pmap] bench imports
import { pmapRows } from "./pmap.js";
// [end pmap]

/** The suites in the order they run; `npm run bench -- NAME...` runs only the named ones. */
const suites: { name: string; run: () => Promise<Row[]> | Row[] }[] = [
  { name: "eager", run: eagerRows },
  // [jit] bench suites
  { name: "vmap-jit", run: vmapJitRows },
  // [end jit]
  // [webgpu-compiler] bench suites
  { name: "webgpu-compiler", run: webgpuCompilerRows },
  // [end webgpu-compiler]
  // [autodiff] bench suites
  { name: "autodiff", run: autodiffRows },
  // [end autodiff]
  // [wasm] bench suites
  { name: "wasm", run: wasmRows },
  // [end wasm]
  // [peers] bench suites
  { name: "peers", run: peerComparisonRows },
  // [end peers]
  // [magics] bench suites
  // [end magics]
  // [cpu-fusion] bench suites
  { name: "cpu-fusion", run: cpuFusionRows },
  // [end cpu-fusion]
  // [pmap] bench suites
  { name: "pmap", run: pmapRows },
  // [end pmap]
  // The kernel suite starts kernels in processes of their own: it runs after the devices are released.
  { name: "kernel", run: kernelRows },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown bench suite(s) ${unknown.join(", ")}; suites: ${suites.map((s) => s.name).join(", ")}`,
    );
  }
  await init();
  const rows: Row[] = [];
  for (const suite of suites) {
    if (only.length > 0 && !only.includes(suite.name)) continue;
    if (suite.name === "kernel") releaseDevices();
    rows.push(...(await suite.run()));
  }
  releaseDevices();

  const dir = path.resolve(import.meta.dirname, "../../bench");
  // A run of some suites only does not replace the full results.
  const stem = only.length > 0 ? "results-partial" : "results";
  writeFileSync(
    path.join(dir, `${stem}.json`),
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
  writeFileSync(path.join(dir, `${stem}.md`), table + "\n");
  console.log(table);
}

await main();
