/**
 * The wasm executor's packed, register-blocked matmul (engine/backend/wasm/matmul-kernel.ts) through
 * dot_general: against the reference CPU executor on shapes that are not multiples of the 4 x 8 tile
 * or of the K block, every operand layout (contracting dim first or last on either side), batch dims
 * (leading or not), tall/skinny and empty shapes; one thread against two (identical results: every
 * element is summed in the same order); and the jit path (vmapped `W·x` becomes one swapped dot).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CpuDevice } from "../engine/backend/cpu/cpu-device.js";
import type { Device } from "../engine/backend/device.js";
import { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { ShapedArray } from "../engine/core/aval.js";
import { Primitive, type ParamsOf } from "../engine/core/primitive.js";
import { defaultDevice, jit, jnp, makeJaxpr, releaseDevices, vmap, type Array } from "../engine/index.js";
import { abstractEval } from "../engine/primitives/index.js";

const ref = new CpuDevice();
const one = new WasmDevice("wasm:matmul-1", 1);
const two = new WasmDevice("wasm:matmul-2", 2);
after(() => {
  one.releaseWorkers();
  two.releaseWorkers();
  releaseDevices();
});

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

type Dims = ParamsOf<Primitive.DotGeneral>;
const dn = (lc: number[], rc: number[], lb: number[] = [], rb: number[] = []): Dims => ({
  dimension_numbers: [
    [lc, rc],
    [lb, rb],
  ],
  precision: null,
  preferred_element_type: null,
});

function dot(d: Device, hosts: Float32Array[], shapes: number[][], params: Dims): Float32Array {
  const avals = shapes.map((s) => new ShapedArray(s, "float32"));
  const [out] = abstractEval(Primitive.DotGeneral, avals, params);
  const bufs = hosts.map((h, k) => d.upload(h, avals[k]));
  const [r] = d.execute(Primitive.DotGeneral, bufs, avals, [out], params);
  const v = d.readSync(r, out) as Float32Array;
  for (const b of [...bufs, r]) d.release(b);
  return v;
}

const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

/** The wasm result (SIMD path, one thread) equals the reference within float32 rounding of a K-sum. */
function check(lhs: number[], rhs: number[], params: Dims, seed = 1): Float32Array {
  const hosts = [data(size(lhs), seed), data(size(rhs), seed + 1)];
  const before = one.stats.simd;
  const got = dot(one, hosts, [lhs, rhs], params);
  assert.equal(one.stats.simd - before, 1, `dot_general ${lhs} . ${rhs} did not take the SIMD path`);
  const want = dot(ref, hosts, [lhs, rhs], params);
  assert.equal(got.length, want.length);
  const k = params.dimension_numbers[0][0].reduce((p, d) => p * lhs[d], 1);
  const tol = 1e-6 * Math.max(1, k);
  for (let i = 0; i < got.length; i++)
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol,
      `${lhs} . ${rhs} element ${i}: wasm ${got[i]} vs reference ${want[i]}`,
    );
  return got;
}

describe("wasm matmul: dot_general against the reference executor", () => {
  it("hand-computed values: 1x1x1 and a 2x3 . 3x2", () => {
    const d = (a: number[], b: number[], sa: number[], sb: number[]) =>
      globalThis.Array.from(dot(one, [Float32Array.from(a), Float32Array.from(b)], [sa, sb], dn([1], [0])));
    assert.deepEqual(d([3], [4], [1, 1], [1, 1]), [12]);
    assert.deepEqual(d([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [2, 3], [3, 2]), [58, 64, 139, 154]);
  });

  it("sizes off the 4 x 8 tile and across K blocks of 256", () => {
    for (const [m, k, n] of [
      [1, 1, 1],
      [2, 3, 2],
      [17, 33, 65],
      [4, 8, 8],
      [5, 257, 9],
      [33, 600, 17],
      [64, 513, 40],
      [3, 1, 11],
    ])
      check([m, k], [k, n], dn([1], [0]), m + k + n);
  });

  it("tall and skinny operands", () => {
    check([1000, 3], [3, 7], dn([1], [0]));
    check([3, 7], [7, 1000], dn([1], [0]));
    check([2, 700], [700, 5], dn([1], [0]));
  });

  it("every contraction layout: contracting dim first or last on either operand", () => {
    check([13, 21], [21, 19], dn([1], [0])); // A row-major, B row-major
    check([21, 13], [21, 19], dn([0], [0])); // A transposed
    check([13, 21], [19, 21], dn([1], [1])); // B transposed (the vmapped W·x)
    check([21, 13], [19, 21], dn([0], [1])); // both
  });

  it("batch dimensions, leading or not, with both contraction layouts", () => {
    check([3, 5, 7], [3, 7, 6], dn([2], [1], [0], [0]));
    check([3, 7, 5], [3, 6, 7], dn([1], [2], [0], [0]));
    check([5, 3, 7], [7, 3, 6], dn([2], [0], [1], [1]));
    check([2, 3, 9, 11], [2, 3, 11, 10], dn([3], [2], [0, 1], [0, 1]));
  });

  it("several collapsing free or contracting dims, and K = 0", () => {
    check([2, 3, 4, 5], [4, 5, 6], dn([2, 3], [0, 1]));
    check([6, 4, 2], [4, 2, 3, 5], dn([1, 2], [0, 1]));
    const y = dot(
      one,
      [new Float32Array(0), new Float32Array(0)],
      [
        [4, 0],
        [0, 3],
      ],
      dn([1], [0]),
    );
    assert.deepEqual(globalThis.Array.from(y), new globalThis.Array(12).fill(0));
  });
});

describe("wasm matmul: worker threads", () => {
  it("a split product (by rows and by columns) equals the single-thread result exactly", () => {
    for (const [m, k, n] of [
      [301, 203, 157],
      [37, 301, 700],
      [1024, 256, 9],
    ]) {
      const hosts = [data(m * k, m), data(k * n, n)];
      const params = dn([1], [0]);
      const before = two.stats.parallel;
      const single = dot(
        one,
        hosts,
        [
          [m, k],
          [k, n],
        ],
        params,
      );
      const split = dot(
        two,
        hosts,
        [
          [m, k],
          [k, n],
        ],
        params,
      );
      assert.equal(two.stats.parallel - before, 1, `${m}x${k}x${n} was not split`);
      assert.deepEqual(split, single);
    }
  });
});

describe("wasm matmul: jit", () => {
  it("vmap(W·x) runs as one swapped dot (no transpose) and matches the reference", async () => {
    defaultDevice("cpu");
    const W = jnp.array(data(40 * 30, 5)).reshape([40, 30]);
    const b = jnp.array(data(40, 6));
    const xs = jnp.array(data(50 * 30, 7)).reshape([50, 30]);
    const f = (x: Array) => jnp.tanh(jnp.dot(W, x).add(b));
    const got = await jit(vmap(f))(xs).data();
    assert.match(String(makeJaxpr(vmap(f))(xs).jaxpr), /transpose/, "the traced program transposes");
    const kernels = jit(vmap(f)).lower(xs).compile().asText();
    assert.match(kernels, /kernel 1 of 2: dot_general/);
    assert.match(
      kernels,
      /kernel 2 of 2: fused wasm SIMD elementwise kernel for f32\[50,40\] \((?![^)]*transpose)/,
    );
    defaultDevice("cpu-reference");
    const Wr = jnp.array(data(40 * 30, 5)).reshape([40, 30]);
    const br = jnp.array(data(40, 6));
    const xr = jnp.array(data(50 * 30, 7)).reshape([50, 30]);
    const want = await vmap((x: Array) => jnp.tanh(jnp.dot(Wr, x).add(br)))(xr).data();
    defaultDevice("cpu");
    assert.equal(got.length, 50 * 40);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5, `element ${i}`);
  });
});
