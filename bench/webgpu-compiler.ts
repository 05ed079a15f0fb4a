/**
 * The WebGPU jaxpr compiler (fused kernels) against eager WebGPU execution (one kernel per
 * primitive) and against the time to stream the bytes once. NumPy+OpenBLAS is measured too when
 * Debian's python3-numpy is installed (it is not on this machine: that row is left out then).
 */
import { execFileSync } from "node:child_process";
import { defaultDevice, devices, jnp, makeJaxpr, type Array } from "../engine/index.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import { compileFor } from "../engine/core/executable.js";
import type { WebGpuDevice } from "../engine/backend/webgpu/webgpu-device.js";
import { median, medianPair, type Row } from "./common.js";

const gflops = (flops: number, ms: number) => flops / ms / 1e6;

/** A plain copy kernel of `n` floats: the time to stream the bytes once (read + write). */
function copyKernel(gpu: WebGpuDevice, n: number): () => Promise<void> {
  const src = gpu.allocate(n * 4);
  const dst = gpu.allocate(n * 4);
  // vec4 loads and a grid-stride loop over few workgroups: the fastest plain copy on lavapipe.
  const groups = Math.min(Math.ceil(n / 4 / 64), gpu.limits.maxGridGroups);
  const code = `@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n / 4}u; i = i + ${groups * 64}u) { b[i] = a[i]; }
}`;
  const pipeline = gpu.pipeline(code, "copy kernel");
  const group = gpu.gpu.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [src, dst].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return async () => {
    const enc = gpu.gpu.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(groups);
    pass.end();
    gpu.gpu.queue.submit([enc.finish()]);
    await gpu.synchronize();
  };
}

/** NumPy+OpenBLAS 1024^3 matmul in ms, or undefined when Debian's numpy is not installed. */
function numpyMatmulMs(): number | undefined {
  try {
    const out = execFileSync(
      "/usr/bin/python3",
      [
        "-c",
        "import numpy as np, time\na=np.random.rand(1024,1024).astype(np.float32)\nb=np.random.rand(1024,1024).astype(np.float32)\na@b\nts=[]\nfor _ in range(7):\n t=time.perf_counter(); a@b; ts.append(time.perf_counter()-t)\nts.sort(); print(ts[3]*1000)",
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    return Number(out.trim());
  } catch {
    return undefined;
  }
}

export async function webgpuCompilerRows(): Promise<Row[]> {
  const gpu = devices().find((d) => d.kind === "webgpu") as WebGpuDevice | undefined;
  if (!gpu) return [];
  defaultDevice("webgpu");
  const rows: Row[] = [];
  const run = async (exe: ReturnType<typeof compileFor>, inputs: ConcreteArray[]) => {
    for (const y of exe.run(inputs)) {
      await gpu.synchronize();
      y.dispose();
    }
  };
  const eager = async (f: () => Array | Array[]) => {
    const ys = [f()].flat();
    await gpu.synchronize();
    for (const y of ys) y.dispose();
  };

  // 1. matmul 1024^3: the fused compiler's kernel against the eager dot_general kernel.
  {
    const n = 1024;
    const a = jnp
      .array(Float32Array.from({ length: n * n }, (_, i) => (i % 7) / 7))
      .reshape([n, n]) as ConcreteArray;
    const b = jnp
      .array(Float32Array.from({ length: n * n }, (_, i) => (i % 5) / 5))
      .reshape([n, n]) as ConcreteArray;
    const exe = compileFor(gpu, makeJaxpr((x: Array, y: Array) => jnp.matmul(x, y))(a, b).jaxpr);
    const ms = await median(() => run(exe, [a, b]), 3);
    const baseMs = await median(() => eager(() => jnp.matmul(a, b)), 2);
    const flops = 2 * n ** 3;
    rows.push({
      workload: "matmul 1024×1024×1024 f32",
      variant: `compiled (8x8 register tiles read from textures): ${gflops(flops, ms).toFixed(2)} GFLOP/s`,
      baseline: `eager dot_general on WebGPU: ${gflops(flops, baseMs).toFixed(2)} GFLOP/s`,
      medianMs: ms,
      baselineMs: baseMs,
      ratio: ms / baseMs,
    });
    const npMs = numpyMatmulMs();
    if (npMs !== undefined)
      rows.push({
        workload: "matmul 1024×1024×1024 f32",
        variant: `compiled (8x8 register tiles read from textures): ${gflops(flops, ms).toFixed(2)} GFLOP/s`,
        baseline: `NumPy+OpenBLAS: ${gflops(flops, npMs).toFixed(2)} GFLOP/s`,
        medianMs: ms,
        baselineMs: npMs,
        ratio: ms / npMs,
      });
    a.dispose();
    b.dispose();
  }

  // 2. sin(x)*2 + exp(-x*x) over 4M floats: one fused kernel vs 6 eager kernels vs a plain copy.
  {
    const n = 1 << 22;
    const x = jnp.array(Float32Array.from({ length: n }, (_, i) => (i % 1000) / 500 - 1)) as ConcreteArray;
    const f = (v: Array) =>
      jnp
        .sin(v)
        .mul(2)
        .add(jnp.exp(jnp.negative(v.mul(v))));
    const exe = compileFor(gpu, makeJaxpr(f)(x).jaxpr);
    const eagerMs = await median(() => eager(() => f(x)), 9);
    // Alternately with the copy: lavapipe drifts between speed modes over seconds.
    const [ms, copyMs] = await medianPair(() => run(exe, [x]), copyKernel(gpu, n), 15);
    const common = {
      workload: "sin(x)·2 + exp(−x²), 4M f32",
      variant: `compiled: ${exe.kernelCount} kernel`,
      medianMs: ms,
    };
    rows.push({ ...common, baseline: "eager WebGPU (6 kernels)", baselineMs: eagerMs, ratio: ms / eagerMs });
    rows.push({
      ...common,
      baseline: "plain copy kernel of the same bytes",
      baselineMs: copyMs,
      ratio: ms / copyMs,
    });
    x.dispose();
  }

  // 3. A tiny compiled program, 1000 calls then one wait: the dispatch overhead (the CPU time until
  // the calls are queued: what each call costs the caller) and the time until the device has run
  // them all (on lavapipe that includes the software device running 1000 small dispatches).
  {
    const x = jnp.array([1, 2, 3, 4]) as ConcreteArray;
    const f = (v: Array) => jnp.tanh(v.mul(2).add(1));
    const exe = compileFor(gpu, makeJaxpr(f)(x).jaxpr);
    const calls = 1000;
    const loop = async (g: () => ConcreteArray[]): Promise<[number, number]> => {
      const t0 = performance.now();
      for (let k = 0; k < calls; k++) for (const y of g()) y.dispose();
      const queued = performance.now();
      await gpu.synchronize();
      return [(queued - t0) / calls, (performance.now() - t0) / calls];
    };
    const timings = async (g: () => ConcreteArray[]): Promise<[number, number]> => {
      await loop(g);
      const runs: [number, number][] = [];
      for (let r = 0; r < 7; r++) runs.push(await loop(g));
      const mid = (k: 0 | 1) => runs.map((t) => t[k]).sort((p, q) => p - q)[3];
      return [mid(0), mid(1)];
    };
    const [dispatchMs, doneMs] = await timings(() => exe.run([x]));
    const [eagerDispatchMs, eagerDoneMs] = await timings(() => [f(x) as ConcreteArray]);
    const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs/call`;
    rows.push({
      workload: "tiny compiled call, tanh(2x+1) on f32[4]: dispatch overhead",
      variant: `compiled: ${us(dispatchMs)}`,
      baseline: `eager, 3 kernels: ${us(eagerDispatchMs)}`,
      medianMs: dispatchMs,
      baselineMs: eagerDispatchMs,
      ratio: dispatchMs / eagerDispatchMs,
    });
    rows.push({
      workload: "tiny compiled call, tanh(2x+1) on f32[4]: until the device is done",
      variant: `compiled: ${us(doneMs)}`,
      baseline: `eager, 3 kernels: ${us(eagerDoneMs)}`,
      medianMs: doneMs,
      baselineMs: eagerDoneMs,
      ratio: doneMs / eagerDoneMs,
    });
  }

  // 4. sum over 16M floats: two-pass segmented tree reduction vs the eager reduce_sum kernel.
  {
    const n = 1 << 24;
    const x = jnp.array(Float32Array.from({ length: n }, (_, i) => (i % 3) - 1)) as ConcreteArray;
    const exe = compileFor(gpu, makeJaxpr((v: Array) => jnp.sum(v))(x).jaxpr);
    const eagerMs = await median(() => eager(() => jnp.sum(x)), 2);
    const [ms, copyMs] = await medianPair(() => run(exe, [x]), copyKernel(gpu, n), 7);
    const common = {
      workload: "sum of 16M f32",
      variant: `compiled: ${exe.kernelCount} kernels`,
      medianMs: ms,
    };
    rows.push({
      ...common,
      baseline: "eager reduce_sum on WebGPU",
      baselineMs: eagerMs,
      ratio: ms / eagerMs,
    });
    rows.push({
      ...common,
      baseline: "plain copy kernel of the same bytes",
      baselineMs: copyMs,
      ratio: ms / copyMs,
    });
    x.dispose();
  }
  return rows;
}
