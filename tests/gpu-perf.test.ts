/**
 * The WebGPU compiler's fast paths for CPU adapters (vec4 elementwise kernels and reductions,
 * dot_general layouts): values against the CPU reference executor, which kernels are chosen, and
 * how many run. WebGPU only (the compiler is the WebGPU executor's).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  defaultDevice,
  jnp,
  makeJaxpr,
  nn,
  releaseDevices,
  vmap,
  grad,
  type Array,
} from "../engine/index.js";
import { compileFor } from "../engine/core/executable.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import type { WebGpuExecutable } from "../engine/backend/webgpu/compiler/executable.js";
import type { WebGpuDevice } from "../engine/backend/webgpu/webgpu-device.js";
import { assertAllClose } from "./helpers/allclose.js";
import { requireWebGpu } from "./helpers/devices.js";

let gpu: WebGpuDevice;

before(async () => {
  gpu = await requireWebGpu();
});
after(() => releaseDevices());

type DT = "float32" | "int32" | "bool";

/** Deterministic values in [-2, 2) (int32: -10..10, bool: 0/1). */
function values(n: number, seed: number, dtype: DT): number[] {
  let s = seed * 7919;
  return globalThis.Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    return dtype === "bool" ? +(u > 0.5) : dtype === "int32" ? Math.floor(u * 21) - 10 : u * 4 - 2;
  });
}

function arrayOn(device: "cpu" | "webgpu", shape: number[], seed: number, dtype: DT = "float32"): Array {
  defaultDevice(device);
  const v = values(
    shape.reduce((a, b) => a * b, 1),
    seed,
    dtype,
  );
  const host =
    dtype === "float32" ? Float32Array.from(v) : dtype === "int32" ? Int32Array.from(v) : Uint8Array.from(v);
  return jnp.array(host, { dtype }).reshape(shape);
}

/**
 * Compiles `f` for the WebGPU device and compares its results with `f` run eagerly on the CPU
 * device; returns the kernel count and the labels of the kernels planned.
 */
async function check(
  f: (...xs: Array[]) => Array | Array[],
  specs: { shape: number[]; dtype?: DT }[],
  tol = { rtol: 1e-4, atol: 1e-5 },
): Promise<{ kernels: number; labels: string[] }> {
  const cpuArgs = specs.map((s, k) => arrayOn("cpu", s.shape, k + 1, s.dtype));
  const gpuArgs = specs.map((s, k) => arrayOn("webgpu", s.shape, k + 1, s.dtype));
  defaultDevice("webgpu");
  const cj = makeJaxpr(f)(...gpuArgs);
  const exe = compileFor(gpu, cj.jaxpr);
  const outs = exe.run([...(cj.consts as ConcreteArray[]), ...(gpuArgs as ConcreteArray[])]);
  await gpu.synchronize();
  defaultDevice("cpu");
  const expected = [f(...cpuArgs)].flat();
  assert.equal(outs.length, expected.length);
  for (let k = 0; k < outs.length; k++) {
    assert.deepEqual(outs[k].shape, expected[k].shape);
    assert.equal(outs[k].dtype, expected[k].dtype);
    const got = await outs[k].tolist();
    const want = await expected[k].tolist();
    if (outs[k].dtype === "float32") assertAllClose(got, want, tol);
    else assert.deepEqual(got, want);
  }
  defaultDevice("webgpu");
  return { kernels: exe.kernelCount, labels: (exe as WebGpuExecutable).kernelLabels };
}

describe("gpu-perf: vec4 elementwise kernels", () => {
  it("computes 4 elements per invocation with vec4 loads and stores (same values as the CPU)", async () => {
    const f = (x: Array) =>
      jnp
        .sin(x)
        .mul(2)
        .add(jnp.exp(x.mul(x).neg()));
    const r = await check(f, [{ shape: [64, 33] }]);
    assert.equal(r.kernels, 1);
    assert.deepEqual(r.labels, ["fused elementwise kernel for f32[64,33] (vec4)"]);
  });

  it("mixes vec4 operands with broadcast, transposed and scalar reads", async () => {
    // y is read at the lanes' indices and through a transpose (vec4 binding, indexed per element);
    // b is broadcast along rows; the literal and the rank-0 z stay scalars.
    const f = (x: Array, y: Array, b: Array, z: Array) =>
      jnp.where(jnp.greater(x, 0), x.mul(y).add(b), jnp.transpose(y).mul(z).sub(1.5));
    const r = await check(f, [{ shape: [16, 16] }, { shape: [16, 16] }, { shape: [16] }, { shape: [] }]);
    assert.equal(r.kernels, 1);
    assert.match(r.labels[0], /\(vec4\)/);
  });

  it("runs int32 and bool results through vec4<i32> / vec4<u32> stores", async () => {
    const f = (x: Array, y: Array) => [x.mul(y).sub(3), jnp.logicalAnd(jnp.greater(x, 0), jnp.less(y, 2))];
    const r = await check(f, [
      { shape: [8, 12], dtype: "int32" },
      { shape: [8, 12], dtype: "int32" },
    ]);
    assert.equal(r.kernels, 2);
    assert.ok(
      r.labels.every((l) => l.endsWith("(vec4)")),
      r.labels.join("; "),
    );
  });

  it("keeps one index per invocation when the size is not a multiple of 4", async () => {
    const r = await check((x: Array) => jnp.cos(x).add(1), [{ shape: [67] }]);
    assert.deepEqual(r.labels, ["fused elementwise kernel for f32[67]"]);
  });
});

describe("gpu-perf: vec4 reductions", () => {
  it("reduces contiguous rows 4 elements at a time with every strategy", async () => {
    // thread per output (short rows), workgroup tree per output, two passes (few long rows)
    const f = (x: Array) => [jnp.sum(x.mul(x), 1), jnp.max(jnp.sin(x), 1)];
    await check(f, [{ shape: [9, 12] }]);
    await check(f, [{ shape: [5, 1000] }], { rtol: 1e-4, atol: 1e-3 });
    const g = (x: Array) => jnp.sqrt(jnp.sum(jnp.abs(x)));
    const r = await check(g, [{ shape: [1 << 17] }], { rtol: 1e-4, atol: 1e-2 });
    assert.equal(r.kernels, 2);
  });

  it("keeps NaN propagation and int32 sums exact", async () => {
    // log of negative values gives NaN: max over a row that holds one is NaN, as on the CPU.
    await check((x: Array) => [jnp.max(jnp.log(x), 1), jnp.min(x, 1)], [{ shape: [6, 400] }]);
    await check((x: Array) => jnp.sum(x, 1), [{ shape: [5, 16], dtype: "int32" }]);
  });
});

describe("gpu-perf: dot_general layouts", () => {
  it("computes vmap(W·x) as one x·Wᵀ kernel (no transposing copy), bias and tanh fused", async () => {
    const f = (xs: Array, W: Array, b: Array) => vmap((x: Array) => jnp.tanh(jnp.dot(W, x).add(b)))(xs);
    const r = await check(f, [{ shape: [12, 16] }, { shape: [8, 16] }, { shape: [8] }]);
    assert.equal(r.kernels, 1);
    assert.match(
      r.labels[0],
      /dot_general f32\[12,16\] x f32\[8,16\] \(register-blocked 4x4, vec4 A, vec4 Bᵀ\)/,
    );
  });

  it("swaps the operands of a transposed batched product", async () => {
    const f = (a: Array, b: Array) => jnp.transpose(jnp.matmul(a, b), [0, 2, 1]).mul(2);
    const r = await check(f, [{ shape: [3, 5, 8] }, { shape: [3, 8, 6] }]);
    assert.equal(r.kernels, 1);
    // The permutation (0, 1, 2) is not the swap of the free axes: the transpose stays as index arithmetic.
    const g = (a: Array, b: Array) => jnp.transpose(jnp.matmul(a, b), [1, 0, 2]);
    await check(g, [{ shape: [3, 5, 8] }, { shape: [3, 8, 6] }]);
  });

  it("runs products without contracting dimensions as elementwise kernels", async () => {
    const f = (u: Array, x: Array) => vmap((a: Array, v: Array) => v.mul(a))(u, x);
    await check(f, [{ shape: [6] }, { shape: [6, 8] }]);
    const loss = (w: Array, x: Array, y: Array) => {
      const z = jnp.dot(w, x);
      return nn.softplus(z).sub(y.mul(z));
    };
    const g = (w: Array, x: Array, y: Array) => vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y);
    const r = await check(g, [{ shape: [24] }, { shape: [20, 24] }, { shape: [20] }]);
    // X·w with the gradient's scalar chain as epilogue; then g[e] * X[e, :] elementwise.
    assert.equal(r.kernels, 2);
    assert.match(r.labels[1], /^fused elementwise kernel for f32\[20,24\] \(vec4\)$/);
  });
});

describe("gpu-perf: workloads of issue 6", () => {
  it("per-example logistic-regression gradients match the CPU", async () => {
    const loss = (w: Array, x: Array, y: Array) => {
      const z = jnp.dot(w, x);
      return nn.softplus(z).sub(y.mul(z));
    };
    const f = (w: Array, x: Array, y: Array) => vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y);
    await check(f, [{ shape: [24] }, { shape: [20, 24] }, { shape: [20] }]);
  });
});
