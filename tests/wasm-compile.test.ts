/**
 * The wasm CPU executor's compiler (WasmDevice.compile): fused programs' values against the reference
 * executor (`cpu-reference`, eager), kernel counts, the heap staying bounded over many runs, and jit
 * on `cpu` against the un-jitted function.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  defaultDevice,
  jit,
  jnp,
  lax,
  makeJaxpr,
  nn,
  grad,
  vmap,
  releaseDevices,
  type Array,
} from "../engine/index.js";
import { compileFor } from "../engine/core/executable.js";
import type { ConcreteArray } from "../engine/core/concrete-array.js";
import { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { assertAllClose } from "./helpers/allclose.js";

after(() => releaseDevices());

type DT = "float32" | "int32" | "bool";

function values(n: number, seed: number, dtype: DT, scale = 2): number[] {
  let s = seed * 7919;
  return globalThis.Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const u = s / 2147483648;
    return dtype === "bool" ? +(u > 0.5) : dtype === "int32" ? Math.floor(u * 21) - 10 : (u * 2 - 1) * scale;
  });
}

function arrayOn(device: string, shape: number[], seed: number, dtype: DT = "float32", scale = 2): Array {
  defaultDevice(device);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = values(n, seed, dtype, scale);
  const host =
    dtype === "float32" ? Float32Array.from(v) : dtype === "int32" ? Int32Array.from(v) : Uint8Array.from(v);
  return jnp.array(host, { dtype }).reshape(shape);
}

function wasm(): WasmDevice {
  const d = defaultDevice("cpu");
  assert.ok(d instanceof WasmDevice);
  return d;
}

/**
 * Compiles `f` for the wasm device, runs it, and compares with `f` run eagerly on the reference
 * executor. Returns the executable's kernel count.
 */
async function check(
  f: (...xs: Array[]) => Array | Array[],
  specs: { shape: number[]; dtype?: DT; scale?: number }[],
  tol = { rtol: 2e-5, atol: 1e-6 },
): Promise<number> {
  const refArgs = specs.map((s, k) => arrayOn("cpu-reference", s.shape, k + 1, s.dtype, s.scale));
  const args = specs.map((s, k) => arrayOn("cpu", s.shape, k + 1, s.dtype, s.scale));
  const device = wasm();
  const cj = makeJaxpr(f)(...args);
  const exe = compileFor(device, cj.jaxpr);
  const outs = exe.run([...(cj.consts as ConcreteArray[]), ...(args as ConcreteArray[])]);
  defaultDevice("cpu-reference");
  const expected = [f(...refArgs)].flat();
  defaultDevice("cpu");
  assert.equal(outs.length, expected.length);
  for (let k = 0; k < outs.length; k++) {
    assert.deepEqual(outs[k].shape, expected[k].shape);
    assert.equal(outs[k].dtype, expected[k].dtype);
    if (outs[k].size > 4096) {
      // Large arrays: a plain loop (the helper formats both arrays into every assertion message).
      const got = await outs[k].data();
      const want = await expected[k].data();
      for (let i = 0; i < got.length; i++)
        if (!(Math.abs(got[i] - want[i]) <= tol.atol + tol.rtol * Math.abs(want[i])))
          assert.fail(`element ${i}: ${got[i]} is not close to ${want[i]}`);
      continue;
    }
    const got = await outs[k].tolist();
    const want = await expected[k].tolist();
    if (outs[k].dtype === "float32") assertAllClose(got, want, tol);
    else assert.deepEqual(got, want);
  }
  return exe.kernelCount;
}

describe("wasm compiler: fused kernels equal the reference executor", () => {
  it("fuses an elementwise chain with a broadcast, literals and a select into one kernel", async () => {
    const f = (x: Array, y: Array) =>
      jnp.where(jnp.greater(x, 0), jnp.sin(x).mul(2).add(y), jnp.exp(jnp.negative(x)).sub(0.5));
    assert.equal(await check(f, [{ shape: [7, 13] }, { shape: [13] }]), 1);
    // Odd flat sizes (vector loop plus a tail) and a size below one vector.
    assert.equal(await check(f, [{ shape: [37] }, { shape: [] }]), 1);
    assert.equal(await check(f, [{ shape: [3] }, { shape: [3] }]), 1);
  });

  it("the workload of issue 6 (c): sin(x)*2 + exp(-x*x) is one kernel", async () => {
    const f = (x: Array) =>
      jnp
        .sin(x)
        .mul(2)
        .add(jnp.exp(x.mul(x).neg()));
    assert.equal(await check(f, [{ shape: [1001] }]), 1);
  });

  it("reads reshapes, transposes, squeezes, slices and reversals by index arithmetic", async () => {
    const f = (x: Array, y: Array) =>
      jnp
        .transpose(x.reshape([3, 4, 2]), [2, 0, 1])
        .mul(jnp.squeeze(y, 0))
        .add(jnp.cos(x.reshape([2, 3, 4]).transpose([0, 1, 2])));
    assert.equal(await check(f, [{ shape: [6, 4] }, { shape: [1, 3, 4] }]), 1);
    const g = (x: Array) => lax.slice(x, [1, 0], [5, 9], [2, 3]).mul(lax.slice(x, [0, 1], [2, 9], [1, 3]));
    assert.equal(await check(g, [{ shape: [6, 9] }]), 1);
    const h = (x: Array) => jnp.flip(x, 1).mul(x).add(jnp.transpose(x).transpose());
    assert.equal(await check(h, [{ shape: [5, 6] }]), 1);
  });

  it("int32 and bool chains: arithmetic, comparisons, logic, conversions, bool results", async () => {
    const f = (a: Array, b: Array) =>
      jnp
        .maximum(a.mul(b).add(3), jnp.negative(jnp.abs(a)))
        .sub(jnp.sign(a))
        .mul(jnp.minimum(a, 2));
    assert.equal(
      await check(f, [
        { shape: [9, 5], dtype: "int32" },
        { shape: [5], dtype: "int32" },
      ]),
      1,
    );
    const g = (a: Array, p: Array, x: Array) => {
      const m = jnp.logicalAnd(jnp.logicalOr(a.gt(0), p), jnp.logicalNot(x.lt(-1)));
      return [
        m,
        jnp.where(m, a, a.mul(-2)),
        m.astype("float32").add(x),
        a.astype("float32").mul(x).astype("int32"),
      ];
    };
    await check(g, [
      { shape: [23], dtype: "int32" },
      { shape: [23], dtype: "bool" },
      { shape: [23], dtype: "float32" },
    ]);
    // A bool operand read with a broadcast (stride 0) and a transposed (gathered) one.
    const h = (p: Array, q: Array) => jnp.logicalXor(p, q.T).astype("int32").add(p.astype("int32"));
    await check(h, [
      { shape: [6, 10], dtype: "bool" },
      { shape: [10, 6], dtype: "bool" },
    ]);
  });

  it("transcendentals and the rest of the float ops match the reference", async () => {
    const f = (x: Array) => [
      jnp.log1p(jnp.abs(x)),
      jnp.expm1(x),
      jnp.tanh(x),
      nn.sigmoid(x),
      jnp.sqrt(jnp.abs(x)),
      lax.rsqrt(jnp.abs(x).add(0.1)),
      jnp.floor(x).add(jnp.ceil(x)),
      lax.integerPow(x, 3).sub(lax.integerPow(x, -2)),
      jnp.log(jnp.abs(x)),
      jnp.isfinite(x.div(x.sub(x))),
      nn.softplus(x),
    ];
    await check(f, [{ shape: [4, 33], scale: 6 }], { rtol: 1e-5, atol: 1e-6 });
  });

  it("sin and cos of large arguments are redone exactly (the kernel flags them)", async () => {
    const f = (x: Array) => jnp.sin(x.mul(1e5)).add(jnp.cos(x));
    assert.equal(await check(f, [{ shape: [50] }], { rtol: 1e-5, atol: 1e-5 }), 1);
  });

  it("mixes fused kernels with dot_general, a reduction and an argmax run by the device", async () => {
    const f = (x: Array, w: Array, b: Array) => {
      const h = jnp.tanh(jnp.matmul(x, w).add(b));
      return [jnp.sum(h.mul(h), 1), jnp.argmax(h, 1), h.T.mul(2)];
    };
    // matmul; tanh(+b); sum of h*h (a reduction with its prologue); argmax; 2*h.T
    const n = await check(f, [{ shape: [9, 17] }, { shape: [17, 6] }, { shape: [6] }]);
    assert.equal(n, 5);
  });

  it("fuses a reduction's elementwise prologue: softmax in 3 kernels, sums over trailing axes", async () => {
    const softmax = (x: Array) => {
      const e = jnp.exp(x.sub(jnp.max(x, { axis: 1, keepdims: true })));
      return e.div(jnp.sum(e, { axis: 1, keepdims: true }));
    };
    assert.equal(await check(softmax, [{ shape: [6, 301] }]), 3);
    // No epilogues: sqrt after the sum is a kernel of its own.
    const norm = (x: Array) => jnp.sqrt(jnp.sum(x.mul(x), 1)).add(1);
    assert.equal(await check(norm, [{ shape: [5, 41] }]), 2);
    // Two trailing axes, a transposed operand (gathered), min, and a sum over everything.
    const g = (x: Array, y: Array) => [
      jnp.sum(jnp.tanh(x).mul(y.T.reshape([3, 2, 7])), [1, 2]),
      jnp.min(x.add(y.T.reshape([3, 2, 7])), [2]),
      jnp.sum(jnp.cos(x)),
    ];
    await check(g, [{ shape: [3, 2, 7] }, { shape: [14, 3] }]);
    // A reduction over a leading axis runs as the device's kernel.
    const lead = (x: Array) => jnp.sum(jnp.exp(x), 0);
    assert.equal(await check(lead, [{ shape: [7, 5] }]), 2);
    // One long row: partial results per thread, combined.
    const device = wasm();
    const before = device.stats.parallel;
    const whole = (x: Array) => [jnp.sum(jnp.exp(x.mul(0.5))), jnp.max(jnp.tanh(x)), jnp.min(x.mul(x))];
    await check(whole, [{ shape: [300001] }], { rtol: 1e-4, atol: 1e-5 });
    assert.ok(device.stats.parallel > before, "the long row was split over the pool");
    // Many rows over the pool; large sin arguments redone exactly.
    const big = (x: Array) => jnp.sum(jnp.sin(x.mul(1e5)), 1);
    await check(big, [{ shape: [2048, 70] }], { rtol: 1e-4, atol: 1e-4 });
  });

  it("a dot_general without contraction becomes a fused broadcast product", async () => {
    const f = (u: Array, x: Array) =>
      lax.dotGeneral(u.mul(2), x, [
        [[], []],
        [[0], [0]],
      ]);
    assert.equal(await check(f, [{ shape: [8] }, { shape: [8, 5] }]), 1);
    const loss = (w: Array, x: Array, y: Array) => {
      const z = jnp.dot(w, x);
      return nn.softplus(z).sub(y.mul(z));
    };
    // Per-example gradients: matvec, the scalar chain, then the outer product fused with its scale.
    await check(vmap(grad(loss), { inAxes: [null, 0, 0] }) as (...xs: Array[]) => Array, [
      { shape: [12] },
      { shape: [10, 12] },
      { shape: [10] },
    ]);
  });

  it("matrix-vector products (the device's dot_rows kernel) in every orientation and batched", async () => {
    const f = (w: Array, x: Array, v: Array, b: Array, c: Array) => [
      jnp.dot(x, w), // [N,K].[K]
      jnp.dot(w, x.T), // [K].[K,N]: rows of x are contiguous
      jnp.matmul(v, w.reshape([13, 1])), // N = 1
      jnp.einsum("bk,bnk->bn", b, c), // batched, M = 1
      jnp.matmul(w.reshape([1, 13]), x.T), // M = 1 with a leading axis
    ];
    await check(f, [
      { shape: [13] },
      { shape: [37, 13] },
      { shape: [5, 13] },
      { shape: [3, 9] },
      { shape: [3, 6, 9] },
    ]);
  });

  it("returns several outputs, a repeated output, an input passed through and a literal", async () => {
    const f = (x: Array, y: Array) => {
      const s = jnp.sin(x);
      return [s, s, y, jnp.sum(s), jnp.array(3)];
    };
    await check(f, [{ shape: [7] }, { shape: [3] }]);
  });

  it("splits large kernels over the worker pool (rows and column ranges)", async () => {
    const device = wasm();
    const before = device.stats.parallel;
    const f = (x: Array, y: Array) => jnp.exp(x.mul(-1)).add(y);
    await check(f, [{ shape: [300001] }, { shape: [] }]);
    const g = (x: Array, y: Array) => jnp.tanh(x).mul(y);
    await check(g, [{ shape: [600, 513] }, { shape: [600, 1] }]);
    assert.ok(device.stats.parallel >= before + 2, "large fused kernels ran on the pool");
    // More leaves than a pool job holds arguments: the kernel runs on the calling thread.
    const many = (...xs: Array[]) => xs.reduce((p, q, k) => p.add(q.mul(k + 1)));
    const specs = globalThis.Array.from({ length: 10 }, () => ({ shape: [140001] }));
    assert.equal(await check(many, specs), 1);
  });
});

describe("wasm compiler: memory and jit", () => {
  it("keeps the heap bounded over 10,000 runs", () => {
    const device = wasm();
    const f = jit((x: Array, w: Array) => jnp.sum(jnp.tanh(jnp.matmul(x, w)).mul(2).add(x.sum()), 0));
    const x = arrayOn("cpu", [8, 8], 1);
    const w = arrayOn("cpu", [8, 8], 2);
    f(x, w).dispose();
    const start = device.heap.stats();
    for (let i = 0; i < 10000; i++) f(x, w).dispose();
    const end = device.heap.stats();
    assert.equal(end.liveBytes, start.liveBytes);
    assert.equal(end.heapBytes, start.heapBytes);
  });

  it("jit on cpu equals the un-jitted function, loops and conds inside included", async () => {
    wasm();
    const fs: [(...xs: Array[]) => Array, Array[]][] = [
      [
        (x: Array) =>
          jnp
            .sin(x)
            .mul(2)
            .add(jnp.exp(x.mul(x).neg())),
        [arrayOn("cpu", [257], 3)],
      ],
      [
        (x: Array, y: Array) => jnp.where(x.gt(y), x.sub(y), jnp.tanh(y)).sum(0),
        [arrayOn("cpu", [5, 6], 4), arrayOn("cpu", [6], 5)],
      ],
      [
        (x: Array) =>
          lax.foriLoop(0, 3, (_i: Array | number, c: Array) => jnp.cos(c).mul(1.5).add(x), x) as Array,
        [arrayOn("cpu", [11], 6)],
      ],
      [
        (x: Array) =>
          lax.cond(
            x.sum().gt(0),
            (v: Array) => v.mul(2),
            (v: Array) => v.neg(),
            x,
          ) as Array,
        [arrayOn("cpu", [4], 7)],
      ],
    ];
    for (const [f, args] of fs) {
      const want = await f(...args).tolist();
      assertAllClose(await jit(f)(...args).tolist(), want, { rtol: 1e-5, atol: 1e-6 });
    }
  });
});
