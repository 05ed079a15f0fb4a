/**
 * The WebGPU executor's batched submission (compiled runs and eager kernels share one pending
 * compute pass, submitted before uploads, reads, host-driven steps and buffer destruction) and the
 * vec4-accumulator reductions: values against the CPU executor and hand-computed values.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  defaultDevice,
  jit,
  jnp,
  lax,
  makeJaxpr,
  releaseDevices,
  vmap,
  type Array,
} from "../engine/index.js";
import { compileFor } from "../engine/core/executable.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import type { WebGpuDevice } from "../engine/backend/webgpu/webgpu-device.js";
import { assertAllClose } from "./helpers/allclose.js";
import { requireWebGpu } from "./helpers/devices.js";

let gpu: WebGpuDevice;

before(async () => {
  gpu = await requireWebGpu();
  defaultDevice("webgpu");
});
after(() => releaseDevices());

const affine = (x: Array) => x.mul(2).add(1);

describe("webgpu-peers: batched submission", () => {
  it("gives every run of a loop without awaits its own values (past the pending-dispatch cap)", async () => {
    defaultDevice("webgpu");
    const x0 = jnp.array([0, 0, 0, 0]) as ConcreteArray;
    const exe = compileFor(gpu, makeJaxpr(affine)(x0).jaxpr);
    // Two checked runs first: later runs join the shared pending pass.
    for (let k = 0; k < 2; k++) for (const y of exe.run([x0])) y.dispose();
    const outs: ConcreteArray[] = [];
    for (let k = 0; k < 600; k++) {
      // Each input is an upload into a buffer the previous iteration gave back to the pool while
      // its reader was still pending: the upload must not overtake that reader.
      const x = jnp.array([k, -k, k / 2, 1]) as ConcreteArray;
      outs.push(exe.run([x])[0]);
      x.dispose();
    }
    for (let k = 0; k < outs.length; k += 37) {
      assert.deepEqual(await outs[k].tolist(), [2 * k + 1, -2 * k + 1, k + 1, 3], `run ${k}`);
    }
    assert.deepEqual(await outs[599].tolist(), [1199, -1197, 600, 3]);
  });

  it("keeps a pending run's input intact when its buffer is reused by an upload", async () => {
    defaultDevice("webgpu");
    const f = (x: Array) => jnp.sum(x.mul(x));
    const host = Float32Array.from({ length: 1024 }, (_, i) => (i % 7) - 3);
    const expected = host.reduce((s, v) => s + v * v, 0);
    const a = jnp.array(host) as ConcreteArray;
    const exe = compileFor(gpu, makeJaxpr(f)(a).jaxpr);
    for (let k = 0; k < 2; k++) for (const y of exe.run([a])) y.dispose();
    const out = exe.run([a])[0];
    a.dispose();
    const b = jnp.array(new Float32Array(1024).fill(100)); // same size: the pooled buffer of a
    assert.equal(await out.item(), expected);
    assert.equal(await jnp.sum(b).item(), 102400);
  });

  it("keeps an upload's values when its buffer was a pending kernel's output, and batches fresh uploads", async () => {
    defaultDevice("webgpu");
    const x = jnp.array([1, 2, 3, 4]);
    await x.data();
    // The kernel writing `a` is still pending when `a` goes back to the pool and the upload gets
    // its buffer: the kernel must run before the write, not overwrite it.
    const a = x.mul(2);
    a.dispose();
    const b = jnp.array([10, 20, 30, 40]);
    // Read through a kernel: the array itself answers from its host copy.
    assert.deepEqual(await b.add(1).tolist(), [11, 21, 31, 41]);
    // Eager ops with scalar operands (an upload each, into fresh or long-pooled buffers) in a loop
    // without awaits: every result its own.
    const outs = [...new Float32Array(50).keys()].map((k) => x.mul(k).add(k / 2));
    for (const k of [0, 1, 17, 49])
      assert.deepEqual(
        await outs[k].tolist(),
        [1, 2, 3, 4].map((v) => v * k + k / 2),
        `op ${k}`,
      );
  });

  it("says when an array is larger than the adapter can bind", () => {
    const limit = gpu.gpu.limits.maxStorageBufferBindingSize;
    assert.throws(
      () => gpu.allocate(limit + 4),
      new RegExp(
        `an array of ${limit + 4} bytes is larger than this adapter's maxStorageBufferBindingSize \\(${limit} bytes\\)`,
      ),
    );
  });

  it("orders eager kernels, compiled runs and a host-driven loop as written", async () => {
    defaultDevice("webgpu");
    const step = jit((x: Array) => x.mul(3).sub(1));
    let x: Array = jnp.array([1, 2]);
    for (let k = 0; k < 5; k++) x = step(x.add(1)); // eager add, then a compiled run
    // x_{k+1} = 3 (x_k + 1) - 1: [1,2] -> [5,8] -> [17,26] -> [53,80] -> [161,242] -> [485,728]
    // Doubles x until its largest entry reaches 2000 (the predicate is read back each iteration).
    const counted = lax.whileLoop(
      (s: Array[]) => jnp.less(jnp.max(s[0]), 2000),
      (s: Array[]) => [s[0].mul(2), s[1].add(1)],
      [x, jnp.array(0)],
    );
    const after = step(counted[0]);
    assert.deepEqual(await x.tolist(), [485, 728]);
    assert.deepEqual(await counted[0].tolist(), [1940, 2912]);
    assert.equal(await counted[1].item(), 2);
    assert.deepEqual(await after.tolist(), [5819, 8735]);
  });
});

describe("webgpu-peers: vec4 accumulators in reductions", () => {
  const cases: [string, (x: Array) => Array, number[], number][] = [
    ["sum over long rows (workgroup tree)", (x) => jnp.sum(x.mul(0.5), 1), [3, 4096], 1e-2],
    ["sum of one long row (two passes)", (x) => jnp.sum(jnp.abs(x)), [1 << 17], 5e-1],
    ["sum over short rows (thread per output)", (x) => jnp.sum(x, -1), [7, 5, 12], 1e-4],
    // Row lengths in vec4 blocks not multiples of the two-block stride: the second block's guard.
    ["sum over odd-length rows (workgroup tree)", (x) => jnp.sum(x, 1), [3, 4004], 1e-3],
    ["sum over two long odd rows (two passes)", (x) => jnp.sum(x.mul(x), 1), [2, 280004], 5e-1],
    ["prod over rows near 1", (x) => jnp.prod(x.mul(0.05).add(1), 1), [6, 64], 1e-4],
    ["mean with an epilogue over a batch axis", (x) => jnp.tanh(jnp.mean(x, [1, 2])), [4, 8, 300], 1e-5],
  ];
  for (const [name, f, shape, atol] of cases) {
    it(name, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const host = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 50 - 1);
      defaultDevice("cpu");
      const want = await f(jnp.array(host).reshape(shape)).tolist();
      defaultDevice("webgpu");
      const got = await jit(f)(jnp.array(host).reshape(shape)).tolist();
      assertAllClose(got, want, { rtol: 1e-4, atol });
    });
  }

  it("sums int32 rows exactly through vec4<i32> accumulators", async () => {
    for (const shape of [
      [4, 1024],
      [1, 1 << 17],
    ]) {
      const n = shape[0] * shape[1];
      const host = Int32Array.from({ length: n }, (_, i) => (i % 13) - 6 + (i % 1001 === 0 ? 1 : 0));
      defaultDevice("cpu");
      const want = await jnp.sum(jnp.array(host).reshape(shape), 1).tolist();
      defaultDevice("webgpu");
      const got = await jit((x: Array) => jnp.sum(x, 1))(jnp.array(host).reshape(shape)).tolist();
      assert.deepEqual(got, want, `shape ${shape}`);
    }
  });
});

describe("webgpu-peers: x·Wᵀ through a k-major copy of W", () => {
  /** Values of `f` compiled for WebGPU against `f` on the CPU executor; the kernel labels. */
  async function check(
    f: (...xs: Array[]) => Array,
    shapes: number[][],
    dtype: "float32" | "int32" = "float32",
  ): Promise<string[]> {
    const hosts = shapes.map((shape, k) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return dtype === "int32"
        ? Int32Array.from({ length: n }, (_, i) => ((i * 7 + k) % 11) - 5)
        : Float32Array.from({ length: n }, (_, i) => (((i * 37 + k * 11) % 101) / 50 - 1) * 0.5);
    });
    defaultDevice("cpu");
    const want = await f(...hosts.map((h, k) => jnp.array(h).reshape(shapes[k]))).tolist();
    defaultDevice("webgpu");
    const args = hosts.map((h, k) => jnp.array(h).reshape(shapes[k]));
    const got = await jit(f)(...args).tolist();
    if (dtype === "int32") assert.deepEqual(got, want);
    else assertAllClose(got, want, { rtol: 1e-4, atol: 1e-4 });
    const cj = makeJaxpr(f)(...args);
    const exe = compileFor(gpu, cj.jaxpr) as unknown as { kernelLabels: string[] };
    return exe.kernelLabels;
  }
  /** x · Wᵀ as one dot_general contracting the last axes of both (a dense layer's layout). */
  const xWt = (x: Array, W: Array) =>
    lax.dotGeneral(x, W, [
      [[1], [1]],
      [[], []],
    ]) as Array;
  const copied = (labels: string[]) => labels.filter((l) => /copied k-major/.test(l)).length;

  it("copies W k-major for a dense layer with bias and tanh (odd row count, edges off the tiles)", async () => {
    const f = (x: Array, W: Array, b: Array) => jnp.tanh(xWt(x, W).add(b));
    const labels = await check(f, [[37, 24], [20, 24], [20]]);
    assert.equal(labels.length, 2, labels.join("; "));
    assert.match(labels[0], /^k-major copy of f32\[20,24\]/);
    assert.equal(copied(labels), 1);
  });

  it("handles batch dimensions and vmap(W·x)", async () => {
    const f = (a: Array, b: Array) =>
      lax.dotGeneral(a, b, [
        [[2], [2]],
        [[0], [0]],
      ]) as Array;
    const labels = await check(f, [
      [3, 33, 8],
      [3, 12, 8],
    ]);
    assert.equal(copied(labels), 1, labels.join("; "));
    const g = (xs: Array, W: Array) => vmap((x: Array) => jnp.dot(W, x))(xs);
    assert.equal(
      copied(
        await check(g, [
          [64, 16],
          [28, 16],
        ]),
      ),
      1,
    );
  });

  it("computes int32 products exactly", async () => {
    const f = xWt;
    const labels = await check(
      f,
      [
        [40, 12],
        [8, 12],
      ],
      "int32",
    );
    assert.equal(copied(labels), 1, labels.join("; "));
  });

  it("reads B in place when the copy would not pay or cannot be used", async () => {
    const f = xWt;
    // few rows (M < 32)
    assert.equal(
      copied(
        await check(f, [
          [8, 16],
          [12, 16],
        ]),
      ),
      0,
    );
    // N not a multiple of 4
    assert.equal(
      copied(
        await check(f, [
          [40, 16],
          [10, 16],
        ]),
      ),
      0,
    );
    // the epilogue reads W itself (it would see the copy's layout)
    const g = (x: Array, W: Array) => xWt(x, W).add(lax.slice(W, [0, 0], [1, 16]) as Array);
    assert.equal(
      copied(
        await check(g, [
          [40, 16],
          [16, 16],
        ]),
      ),
      0,
    );
  });
});

describe("webgpu-peers: matmul epilogues that read an operand", () => {
  it("binds an operand the epilogue reads per element as scalars (values as on the CPU)", async () => {
    const cases: [(a: Array, b: Array) => Array, number[], number[]][] = [
      [(a, b) => jnp.matmul(a, b).add(b), [16, 16], [16, 16]],
      [(a, b) => jnp.tanh(jnp.matmul(a, b)).mul(a), [12, 12], [12, 12]],
      [
        (a, b) =>
          (
            lax.dotGeneral(a, b, [
              [[1], [1]],
              [[], []],
            ]) as Array
          ).sub(b),
        [8, 8],
        [8, 8],
      ],
    ];
    for (const [f, sa, sb] of cases) {
      const ha = Float32Array.from({ length: sa[0] * sa[1] }, (_, i) => ((i * 13) % 17) / 8 - 1);
      const hb = Float32Array.from({ length: sb[0] * sb[1] }, (_, i) => ((i * 5) % 19) / 9 - 1);
      defaultDevice("cpu");
      const want = await f(jnp.array(ha).reshape(sa), jnp.array(hb).reshape(sb)).tolist();
      defaultDevice("webgpu");
      const got = await jit(f)(jnp.array(ha).reshape(sa), jnp.array(hb).reshape(sb)).tolist();
      assertAllClose(got, want, { rtol: 1e-4, atol: 1e-4 });
    }
  });
});

describe("webgpu: matrix-vector products (N = 1) get a kernel of their own", () => {
  /** Deterministic values in [-1, 1). */
  const values = (n: number, seed: number) =>
    Float32Array.from({ length: n }, (_, i) => (((i * 37 + seed * 11) % 53) / 53) * 2 - 1);

  it("matches the CPU for row counts not a multiple of the workgroup, batches and a fused epilogue", async () => {
    for (const [batch, m, k] of [
      [1, 1, 4],
      [1, 70, 12],
      [3, 129, 8],
      [1, 1024, 512],
    ]) {
      const host = (dev: "cpu" | "webgpu") => {
        defaultDevice(dev);
        const A = jnp.array(values(batch * m * k, 1)).reshape([batch, m, k]);
        const x = jnp.array(values(batch * k, 2)).reshape([batch, k]);
        // Per batch entry: tanh(A·x + 1), the matvec anchoring a fused epilogue.
        const f = jit(vmap((a: Array, v: Array) => jnp.tanh(jnp.dot(a, v).add(1))));
        return { f, A, x };
      };
      const gpuCase = host("webgpu");
      const got = await gpuCase.f(gpuCase.A, gpuCase.x).tolist();
      const text = gpuCase.f.lower(gpuCase.A, gpuCase.x).compile().asText?.() ?? "";
      assert.match(text, /matrix-vector, one row per invocation/, `[${batch}, ${m}, ${k}]`);
      const cpuCase = host("cpu");
      const want = await cpuCase.f(cpuCase.A, cpuCase.x).tolist();
      assertAllClose(got as number[][], want as number[][], { rtol: 1e-5, atol: 1e-5 });
    }
    defaultDevice("webgpu");
  });
});
