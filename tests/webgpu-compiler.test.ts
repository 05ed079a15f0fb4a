/**
 * The WebGPU jaxpr compiler (fused kernels): kernel counts of fused programs and values against the
 * CPU reference executor's eager results. WebGPU only (the compiler is the WebGPU executor's).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { defaultDevice, jnp, lax, makeJaxpr, releaseDevices, type Array } from "../engine/index.js";
import { compileFor } from "../engine/core/executable.js";
import type { WebGpuExecutable } from "../engine/backend/webgpu/compiler/executable.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import { Primitive } from "../engine/core/primitive.js";
import { Jaxpr, JaxprEqn, Var } from "../engine/core/jaxpr.js";
import { planFusion } from "../engine/compiler/fusion.js";
import { primitiveRules } from "../engine/primitives/index.js";
import type { PrimitiveRules } from "../engine/primitives/rules.js";
import { createWebGpuDevice, type WebGpuDevice } from "../engine/backend/webgpu/webgpu-device.js";
import { DeviceLostError, WgslKernelError } from "../engine/backend/webgpu/errors.js";
import { assertAllClose } from "./helpers/allclose.js";
import { requireWebGpu } from "./helpers/devices.js";

let gpu: WebGpuDevice;

before(async () => {
  gpu = await requireWebGpu();
});
after(() => releaseDevices());

/** Host values, deterministic and varied (some negative, no exact ties unless asked). */
function values(n: number, seed = 1, dtype: "float32" | "int32" | "bool" = "float32"): number[] {
  let s = seed * 7919;
  return globalThis.Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    return dtype === "bool" ? +(u > 0.5) : dtype === "int32" ? Math.floor(u * 21) - 10 : u * 4 - 2;
  });
}

function arrayOn(
  device: "cpu" | "webgpu",
  shape: number[],
  seed: number,
  dtype: "float32" | "int32" | "bool" = "float32",
): Array {
  defaultDevice(device);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = values(n, seed, dtype);
  const host =
    dtype === "float32" ? Float32Array.from(v) : dtype === "int32" ? Int32Array.from(v) : Uint8Array.from(v);
  return jnp.array(host, { dtype }).reshape(shape);
}

/**
 * Compiles `f` for the WebGPU device, runs it, and compares with `f` run eagerly on the CPU device.
 * Returns the executable's kernel count.
 */
async function check(
  f: (...xs: Array[]) => Array | Array[],
  specs: { shape: number[]; dtype?: "float32" | "int32" | "bool" }[],
  tol = { rtol: 1e-4, atol: 1e-5 },
): Promise<number> {
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
  return exe.kernelCount;
}

describe("webgpu compiler: fusion", () => {
  it("fuses an elementwise chain with broadcasts, a literal and a select into one kernel", async () => {
    const f = (x: Array, y: Array) =>
      jnp.where(jnp.greater(x, 0), jnp.sin(x).mul(2).add(y), jnp.exp(jnp.negative(x)));
    assert.equal(await check(f, [{ shape: [4, 5] }, { shape: [5] }]), 1);
  });

  it("turns a dot_general without contracting dims (a batched outer product) into one fused elementwise kernel", async () => {
    // What transposing a batched dot gives: per-example gradients u_i * x_i, batch dims not in front.
    const f = (u: Array, x: Array) =>
      lax
        .dotGeneral(u.mul(3), x.add(1), [
          [[], []],
          [[1], [0]],
        ])
        .mul(2);
    assert.equal(await check(f, [{ shape: [3, 4] }, { shape: [4, 5, 2] }]), 1);
  });

  it("fuses reshapes, transposes and squeezes as index arithmetic", async () => {
    const f = (x: Array, y: Array) =>
      jnp
        .transpose(x.reshape([3, 4, 2]), [2, 0, 1])
        .mul(jnp.squeeze(y, 0))
        .add(jnp.cos(x.reshape([2, 3, 4]).transpose([0, 1, 2])));
    assert.equal(await check(f, [{ shape: [6, 4] }, { shape: [1, 3, 4] }]), 1);
  });

  it("fuses matmul + bias + tanh into one kernel", async () => {
    const f = (x: Array, w: Array, b: Array) => jnp.tanh(jnp.matmul(x, w).add(b));
    assert.equal(await check(f, [{ shape: [33, 47] }, { shape: [47, 29] }, { shape: [29] }]), 1);
  });

  it("runs a softmax in 3 kernels (max; sum of exp with prologue; normalise)", async () => {
    const f = (x: Array) => {
      const e = jnp.exp(x.sub(jnp.max(x, { axis: 1, keepdims: true })));
      return e.div(jnp.sum(e, { axis: 1, keepdims: true }));
    };
    assert.equal(await check(f, [{ shape: [6, 300] }]), 3);
  });

  it("fuses a reduction's prologue and epilogue: sqrt(sum(x*x)) is one kernel", async () => {
    const f = (x: Array) => jnp.sqrt(jnp.sum(x.mul(x), 1)).add(1);
    assert.equal(await check(f, [{ shape: [5, 40] }]), 1);
  });

  it("returns several outputs, a repeated output and an input passed through", async () => {
    const f = (x: Array, y: Array) => {
      const s = jnp.sin(x);
      return [s, s, y, jnp.sum(s)];
    };
    await check(f, [{ shape: [7] }, { shape: [3] }]);
  });
});

describe("webgpu compiler: planning", () => {
  it("plans a softmax as reduce, reduce (exp prologue), elementwise (the backend-neutral planner)", () => {
    defaultDevice("webgpu");
    const cj = makeJaxpr((x: Array) => {
      const e = jnp.exp(x.sub(jnp.max(x, { axis: 1, keepdims: true })));
      return e.div(jnp.sum(e, { axis: 1, keepdims: true }));
    })(arrayOn("webgpu", [2, 3], 1));
    const plan = planFusion(cj.jaxpr);
    assert.deepEqual(
      plan.steps.map((s) => (s.kind === "reduce" ? `reduce:${s.anchor.primitive}` : s.kind)),
      ["reduce:reduce_max", "reduce:reduce_sum", "elementwise"],
    );
  });

  it("splits a kernel that would bind more buffers than the device allows", async () => {
    const specs = globalThis.Array.from({ length: 20 }, () => ({ shape: [3] }));
    const f = (...xs: Array[]) => xs.reduce((acc, x, k) => (k % 2 ? acc.add(x) : acc.mul(x)));
    const kernels = await check(f, specs);
    assert.ok(kernels >= 2, `${kernels} kernels`);
  });

  it("inlines a pjit equation (a call) so that fusion sees across it", async () => {
    defaultDevice("webgpu");
    const x = arrayOn("webgpu", [5], 2) as ConcreteArray;
    const inner = makeJaxpr((a: Array) => jnp.sin(a).mul(3))(x);
    const a = new Var(x.aval);
    const b = new Var(x.aval);
    const c = new Var(x.aval);
    const call = new JaxprEqn("pjit" as Primitive, [a], { jaxpr: inner, name: "g" } as never, [b]);
    const outer = new Jaxpr([], [a], [call, new JaxprEqn(Primitive.Exp, [b], {} as never, [c])], [c]);
    const exe = compileFor(gpu, outer);
    assert.equal(exe.kernelCount, 1);
    const [y] = exe.run([x]);
    const want = (await x.tolist()) as number[];
    assertAllClose(
      await y.tolist(),
      want.map((v) => Math.exp(Math.fround(Math.sin(v)) * 3)),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });
});

describe("webgpu compiler: matmul", () => {
  it("runs the workgroup-memory tiled kernel (the real-GPU path) with a fused epilogue", async () => {
    const saved = gpu.limits.matmulTiling;
    gpu.limits.matmulTiling = "workgroup";
    try {
      const f = (x: Array, w: Array, b: Array) => jnp.tanh(jnp.matmul(x, w).add(b));
      assert.equal(await check(f, [{ shape: [2, 37, 21] }, { shape: [2, 21, 45] }, { shape: [45] }]), 1);
    } finally {
      gpu.limits.matmulTiling = saved;
    }
  });

  it("handles shapes that are not tile multiples", async () => {
    const f = (x: Array, w: Array) => jnp.matmul(x, w);
    await check(f, [{ shape: [65, 3] }, { shape: [3, 70] }]);
    await check(f, [{ shape: [5, 130] }, { shape: [130, 67] }]);
    await check(f, [{ shape: [1, 1] }, { shape: [1, 1] }]);
  });

  it("handles batch dimensions", async () => {
    const f = (x: Array, w: Array) => jnp.matmul(x, w);
    assert.equal(await check(f, [{ shape: [3, 5, 17] }, { shape: [3, 17, 9] }]), 1);
    // batch in the middle of lhs and last in rhs
    const g = (x: Array, w: Array) =>
      lax.dotGeneral(x, w, [
        [[2], [0]],
        [[1], [2]],
      ]);
    await check(g, [{ shape: [4, 3, 6] }, { shape: [6, 5, 3] }]);
  });

  it("handles transposed and multiple contracting dimensions", async () => {
    // x^T w^T: contract lhs dim 0 with rhs dim 1
    const f = (x: Array, w: Array) =>
      lax.dotGeneral(x, w, [
        [[0], [1]],
        [[], []],
      ]);
    await check(f, [{ shape: [19, 6] }, { shape: [11, 19] }]);
    const g = (x: Array, w: Array) =>
      lax.dotGeneral(x, w, [
        [
          [0, 2],
          [1, 0],
        ],
        [[], []],
      ]);
    await check(g, [{ shape: [3, 4, 5] }, { shape: [5, 3, 7] }]);
  });

  it("reads operands through textures (the lavapipe path) for any shape, layout and epilogue", async () => {
    const saved = { tiling: gpu.limits.matmulTiling, min: gpu.limits.matmulTextureMinMacs };
    gpu.limits.matmulTiling = "registers";
    gpu.limits.matmulTextureMinMacs = 0;
    try {
      const mm = (x: Array, w: Array) => jnp.matmul(x, w);
      const labels = (f: (...xs: Array[]) => Array, specs: number[][]) => {
        defaultDevice("webgpu");
        const args = specs.map((shape, k) => arrayOn("webgpu", shape, k + 1));
        return (compileFor(gpu, makeJaxpr(f)(...args).jaxpr) as WebGpuExecutable).kernelLabels;
      };
      assert.ok(
        labels(mm, [
          [5, 7],
          [7, 3],
        ]).some((l) => l.includes("from textures")),
      );
      await check(mm, [{ shape: [65, 3] }, { shape: [3, 70] }]);
      await check(mm, [{ shape: [5, 130] }, { shape: [130, 67] }]);
      await check(mm, [{ shape: [1, 1] }, { shape: [1, 1] }]);
      await check(mm, [{ shape: [3, 5, 17] }, { shape: [3, 17, 9] }]);
      await check((x: Array) => jnp.matmul(x, x), [{ shape: [9, 9] }]);
      const t = (x: Array, w: Array) =>
        lax.dotGeneral(x, w, [
          [[0], [1]],
          [[], []],
        ]);
      await check(t, [{ shape: [19, 6] }, { shape: [11, 19] }]);
      const g = (x: Array, w: Array) =>
        lax.dotGeneral(x, w, [
          [
            [0, 2],
            [1, 0],
          ],
          [[], []],
        ]);
      await check(g, [{ shape: [3, 4, 5] }, { shape: [5, 3, 7] }]);
      const b = (x: Array, w: Array) =>
        lax.dotGeneral(x, w, [
          [[2], [0]],
          [[1], [2]],
        ]);
      await check(b, [{ shape: [4, 3, 6] }, { shape: [6, 5, 3] }]);
      // The epilogue reads an operand of the matmul too.
      const e = (x: Array, w: Array, c: Array) => jnp.tanh(jnp.matmul(x, w).add(c)).mul(w.sum(0));
      await check(e, [{ shape: [33, 40] }, { shape: [40, 21] }, { shape: [21] }]);
    } finally {
      gpu.limits.matmulTiling = saved.tiling;
      gpu.limits.matmulTextureMinMacs = saved.min;
    }
  });

  it("computes int32 and bool matmuls exactly", async () => {
    const f = (x: Array, w: Array) => jnp.matmul(x, w).mul(2);
    await check(f, [
      { shape: [9, 13], dtype: "int32" },
      { shape: [13, 6], dtype: "int32" },
    ]);
    const g = (x: Array, w: Array) =>
      lax.dotGeneral(x, w, [
        [[1], [0]],
        [[], []],
      ]);
    await check(g, [
      { shape: [4, 6], dtype: "bool" },
      { shape: [6, 5], dtype: "bool" },
    ]);
  });
});

describe("webgpu compiler: dtypes and reductions", () => {
  it("fuses int32 and bool elementwise chains", async () => {
    const f = (x: Array, y: Array) =>
      jnp.where(jnp.logicalAnd(jnp.greater(x, 0), jnp.less(y, 3)), x.mul(y).sub(7), jnp.negative(x));
    assert.equal(
      await check(f, [
        { shape: [4, 6], dtype: "int32" },
        { shape: [4, 6], dtype: "int32" },
      ]),
      1,
    );
    const g = (a: Array, b: Array) => [jnp.logicalNot(jnp.logicalXor(a, b)), jnp.any(a, 0), jnp.all(b, 1)];
    await check(g, [
      { shape: [5, 3], dtype: "bool" },
      { shape: [5, 3], dtype: "bool" },
    ]);
  });

  it("reduces along several axes with every strategy (thread, workgroup tree, two passes)", async () => {
    const f = (x: Array) => [jnp.sum(x, [0, 2]), jnp.max(x, 1), jnp.min(x, [0, 1]), jnp.prod(x.mul(0.5), 2)];
    await check(f, [{ shape: [3, 4, 5] }]);
    // 300 outputs of 300: one workgroup per output; 3 outputs of 70000: row segments then partials.
    await check((x: Array) => jnp.sum(x, 0).mul(2), [{ shape: [300, 300] }], { rtol: 1e-4, atol: 1e-3 });
    await check((x: Array) => jnp.sum(jnp.abs(x), 1), [{ shape: [3, 70000] }], { rtol: 1e-4, atol: 1e-2 });
    await check((x: Array) => jnp.max(x, 1), [{ shape: [3, 70000] }]);
    await check((x: Array) => jnp.sum(x, 1), [{ shape: [4, 7], dtype: "int32" }]);
  });

  it("computes argmax and argmin (first index on ties) with thread and workgroup strategies", async () => {
    const f = (x: Array) => [jnp.argmax(x, 0), jnp.argmin(x, 1), jnp.argmax(jnp.floor(x), 1)];
    await check(f, [{ shape: [6, 9] }]);
    await check((x: Array) => [jnp.argmax(x, 1), jnp.argmin(jnp.round(x), 1)], [{ shape: [3, 1000] }]);
    await check((x: Array) => jnp.argmax(x, 1), [{ shape: [3, 400], dtype: "int32" }]);
  });
});

describe("webgpu compiler: errors and memory", () => {
  it("reports a WGSL error as a WgslKernelError carrying the kernel source", async () => {
    const rules = primitiveRules[Primitive.Cumsum] as PrimitiveRules<Primitive.Cumsum>;
    const original = rules.wgsl;
    rules.wgsl = () => ({ body: "out[i] = this_is_not_wgsl_;" });
    try {
      defaultDevice("webgpu");
      const cj = makeJaxpr((x: Array) => jnp.cumsum(x.add(1)))(arrayOn("webgpu", [5], 1));
      const exe = compileFor(gpu, cj.jaxpr);
      exe.run([...(cj.consts as ConcreteArray[]), arrayOn("webgpu", [5], 1) as ConcreteArray]);
      await assert.rejects(gpu.synchronize(), (e: unknown) => {
        assert.ok(e instanceof WgslKernelError, String(e));
        assert.match(e.message, /WebGPU rejected the WGSL of the cumsum kernel/);
        assert.match(e.message, /this_is_not_wgsl_/);
        assert.match(e.wgsl, /out\[i\] = this_is_not_wgsl_;/);
        return true;
      });
    } finally {
      rules.wgsl = original;
    }
    // The device keeps working afterwards.
    await check((x: Array) => jnp.sin(x), [{ shape: [3] }]);
  });

  it("keeps memory bounded over 10,000 runs of a compiled program", async () => {
    defaultDevice("webgpu");
    const x = arrayOn("webgpu", [64, 16], 3) as ConcreteArray;
    const w = arrayOn("webgpu", [16, 8], 4) as ConcreteArray;
    const f = (a: Array, b: Array) => jnp.sum(jnp.tanh(jnp.matmul(jnp.sin(a), b)), 0);
    const cj = makeJaxpr(f)(x, w);
    const exe = compileFor(gpu, cj.jaxpr);
    const first = exe.run([x, w]);
    const expected = await first[0].tolist();
    first[0].dispose();
    await gpu.synchronize();
    const start = gpu.memoryStats();
    let peak = 0;
    for (let k = 0; k < 10_000; k++) {
      const [y] = exe.run([x, w]);
      if (k % 2500 === 0) assertAllClose(await y.tolist(), expected);
      y.dispose();
      if (k % 500 === 0) await gpu.synchronize();
      const s = gpu.memoryStats();
      peak = Math.max(peak, s.liveBytes + s.pooledBytes);
    }
    await gpu.synchronize();
    const end = gpu.memoryStats();
    assert.ok(end.liveBytes <= start.liveBytes, `live bytes grew: ${start.liveBytes} -> ${end.liveBytes}`);
    assert.ok(end.buffers <= start.buffers + 4, `buffers grew: ${start.buffers} -> ${end.buffers}`);
    assert.ok(peak <= start.liveBytes + start.pooledBytes + 64 * 1024, `peak ${peak} bytes`);
  });

  it("destroys a buffer released past the pool's cap only after the commands using it", async () => {
    defaultDevice("webgpu");
    // Fill the pool to its cap with buffers of sizes nothing else uses.
    const fillers = [...new Int8Array(17).keys()].map((k) => gpu.allocate((16 << 20) + 4 * (k + 1)));
    for (const b of fillers) gpu.releaseBuffer(b);
    assert.ok(gpu.memoryStats().pooledBytes + (16 << 20) > 256 << 20, "no room in the pool for 16 MiB more");
    // A new program's first runs record into an encoder of their own; the 16 MiB intermediate it
    // frees midway cannot be pooled and must outlive that encoder's submit.
    const n = 1 << 22;
    const x = jnp.array(Float32Array.from({ length: n }, (_, i) => i % 5)) as ConcreteArray;
    const f = (a: Array) => jnp.sum(jnp.cumsum(a.mul(2)).mul(0).add(a));
    const exe = compileFor(gpu, makeJaxpr(f)(x).jaxpr);
    const expected = (n / 5) * (0 + 1 + 2 + 3 + 4);
    for (let k = 0; k < 2; k++) {
      const [y] = exe.run([x]);
      assertAllClose(await y.item(), expected, { rtol: 1e-5 });
      y.dispose();
    }
    await gpu.synchronize();
    x.dispose();
  });

  it("reports a lost device clearly on the next call", async () => {
    const { device } = await createWebGpuDevice();
    assert.ok(device);
    defaultDevice("cpu");
    const cj = makeJaxpr((a: Array) => jnp.exp(a))(arrayOn("cpu", [4], 1));
    const exe = compileFor(device, cj.jaxpr);
    device.gpu.destroy();
    await device.lost;
    assert.throws(
      () => exe.run([arrayOn("cpu", [4], 1) as ConcreteArray]),
      (e: unknown) => {
        assert.ok(e instanceof DeviceLostError, String(e));
        assert.match(e.message, /webgpu:0 was lost/);
        return true;
      },
    );
    await assert.rejects(device.synchronize(), DeviceLostError);
  });
});
