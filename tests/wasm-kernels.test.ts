/**
 * The WebAssembly executor's SIMD kernels against the reference CPU executor, primitive by primitive,
 * on odd sizes (not multiples of 4 or of the matmul tiles), broadcast scalars, int32/uint32/bool;
 * worker-split results against single-thread ones; memory bounded over 10,000 eager ops.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { CpuDevice } from "../engine/backend/cpu/cpu-device.js";
import type { Device } from "../engine/backend/device.js";
import { getDevice } from "../engine/backend/devices.js";
import { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { ShapedArray } from "../engine/core/aval.js";
import { Primitive, type ParamsOf } from "../engine/core/primitive.js";
import { hostArray, type DType, type TypedArray } from "../engine/dtype.js";
import { defaultDevice, jnp, releaseDevices } from "../engine/index.js";
import { abstractEval } from "../engine/primitives/index.js";

const ref = new CpuDevice();
const dev = new WasmDevice("wasm:test", 1);
const threaded = new WasmDevice("wasm:test-mt", 2);
after(() => {
  dev.releaseWorkers();
  threaded.releaseWorkers();
  releaseDevices();
});

/** Deterministic pseudo-random values (an LCG) in [lo, hi), stored as `dtype`. */
function data(dtype: DType, n: number, lo = -3, hi = 3, seed = 1): TypedArray {
  const a = hostArray(dtype, n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = lo + (s / 2 ** 32) * (hi - lo);
    a[i] = dtype === "bool" ? +(u > (lo + hi) / 2) : dtype === "float32" ? u : Math.floor(u);
  }
  return a;
}

function run<P extends Primitive>(
  d: Device,
  prim: P,
  hosts: TypedArray[],
  avals: ShapedArray[],
  params: ParamsOf<P>,
): TypedArray[] {
  const outs = abstractEval(prim, avals, params);
  const bufs = hosts.map((h, k) => d.upload(h, avals[k]));
  const r = d.execute(prim, bufs, avals, outs, params);
  const values = r.map((b, k) => d.readSync(b, outs[k])!);
  for (const b of [...bufs, ...r]) d.release(b);
  return values;
}

/** Runs on both executors; asserts which wasm path ran and that the results agree. */
function check<P extends Primitive>(
  prim: P,
  hosts: TypedArray[],
  shapes: (readonly number[])[],
  dtypes: DType[],
  params: ParamsOf<P>,
  {
    path = "simd",
    ulps = 0,
    rtol = 0,
    atol = 0,
  }: { path?: "simd" | "fallback"; ulps?: number; rtol?: number; atol?: number } = {},
): void {
  const avals = shapes.map((s, k) => new ShapedArray(s, dtypes[k]));
  const before = { ...dev.stats };
  const got = run(dev, prim, hosts, avals, params);
  assert.equal(
    dev.stats[path] - before[path],
    1,
    `${prim} ${shapes.join(" ")} did not take the ${path} path`,
  );
  const want = run(ref, prim, hosts, avals, params);
  got.forEach((g, k) => {
    assert.equal(g.constructor, want[k].constructor);
    assert.equal(g.length, want[k].length);
    for (let i = 0; i < g.length; i++) {
      const a = g[i];
      const b = want[k][i];
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      const close = Math.abs(a - b) <= atol + rtol * Math.abs(b) || ulpDistance(a, b) <= ulps;
      assert.ok(
        close,
        `${prim} ${shapes.join(" ")} element ${i}: wasm ${a} vs reference ${b} (input ${hosts[0][i]})`,
      );
    }
  });
}

const f32Bits = new Float32Array(1);
const i32Bits = new Int32Array(f32Bits.buffer);
/** Distance in float32 steps (bit patterns made monotonic). */
export function ulpDistance(a: number, b: number): number {
  const key = (x: number) => {
    f32Bits[0] = x;
    const i = i32Bits[0];
    return i < 0 ? -0x80000000 - i : i;
  };
  return Math.abs(key(a) - key(b));
}

const N = 1031;
const np: ParamsOf<Primitive.Add> = {};

describe("wasm kernels: elementwise", () => {
  it("float32 unary ops on 1031 and 3 elements, with special values", () => {
    const special = Float32Array.from([
      0,
      -0,
      Infinity,
      -Infinity,
      NaN,
      1e-40,
      -1e-40,
      88.7,
      -88.7,
      100,
      -100,
      1e30,
    ]);
    const ops: [Primitive, number, number][] = [
      [Primitive.Neg, -5, 5],
      [Primitive.Abs, -5, 5],
      [Primitive.Sqrt, 0, 100],
      [Primitive.Rsqrt, 0.01, 100],
      [Primitive.Floor, -5, 5],
      [Primitive.Ceil, -5, 5],
      [Primitive.Exp, -90, 90],
      [Primitive.Log, 0, 1000],
      [Primitive.Sin, -50, 50],
      [Primitive.Cos, -50, 50],
      [Primitive.Tanh, -10, 10],
      [Primitive.Logistic, -100, 100],
    ];
    for (const [prim, lo, hi] of ops) {
      for (const x of [data("float32", N, lo, hi), data("float32", 3, lo, hi, 7), special]) {
        check(prim, [x], [[x.length]], ["float32"], np, { ulps: 8 });
      }
    }
  });

  it("int32 neg and abs wrap at INT_MIN", () => {
    const x = Int32Array.from([0, 1, -7, 2147483647, -2147483648, 5, -9]);
    check(Primitive.Neg, [x], [[7]], ["int32"], np);
    check(Primitive.Abs, [x], [[7]], ["int32"], np);
  });

  it("binary float32 ops, same shape and scalar-broadcast on either side", () => {
    const a = data("float32", N, -3, 3, 1);
    const b = data("float32", N, -3, 3, 2);
    b[5] = 0;
    a[6] = NaN;
    const s = Float32Array.from([0.75]);
    for (const prim of [
      Primitive.Add,
      Primitive.Sub,
      Primitive.Mul,
      Primitive.Div,
      Primitive.Max,
      Primitive.Min,
    ]) {
      check(prim, [a, b], [[N], [N]], ["float32", "float32"], np);
      check(prim, [a, s], [[N], []], ["float32", "float32"], np);
      check(prim, [s, b], [[], [N]], ["float32", "float32"], np);
    }
  });

  it("binary int32/uint32 ops wrap like 32-bit integers; integer div falls back", () => {
    const a = Int32Array.from([2147483647, -2147483648, 7, -7, 65536, 3, -1]);
    const b = Int32Array.from([1, -1, 2, 3, 65536, -5, 1]);
    for (const prim of [Primitive.Add, Primitive.Sub, Primitive.Mul, Primitive.Max, Primitive.Min]) {
      check(prim, [a, b], [[7], [7]], ["int32", "int32"], np);
      check(prim, [a, Int32Array.from([-3])], [[7], []], ["int32", "int32"], np);
    }
    const u = Uint32Array.from([4294967295, 0, 2147483648, 5, 17]);
    const v = Uint32Array.from([1, 4294967295, 2147483647, 5, 3]);
    for (const prim of [Primitive.Add, Primitive.Mul, Primitive.Max, Primitive.Min])
      check(prim, [u, v], [[5], [5]], ["uint32", "uint32"], np);
    check(Primitive.Div, [a, b], [[7], [7]], ["int32", "int32"], np, { path: "fallback" });
  });

  it("comparisons give bool for float32, int32, uint32 (NaN compares unequal)", () => {
    const a = data("float32", N, -2, 2, 3);
    const b = data("float32", N, -2, 2, 4);
    a[0] = NaN;
    b[1] = a[1];
    const u = Uint32Array.from([4294967295, 0, 2147483648, 5, 17]);
    const v = Uint32Array.from([1, 4294967295, 2147483647, 5, 3]);
    for (const prim of [Primitive.Eq, Primitive.Ne, Primitive.Lt, Primitive.Le, Primitive.Gt, Primitive.Ge]) {
      check(prim, [a, b], [[N], [N]], ["float32", "float32"], np);
      check(prim, [a, Float32Array.from([0.5])], [[N], []], ["float32", "float32"], np);
      check(
        prim,
        [Int32Array.from([1, -2, 3]), Int32Array.from([-2, -2, 4])],
        [[3], [3]],
        ["int32", "int32"],
        np,
      );
      check(prim, [u, v], [[5], [5]], ["uint32", "uint32"], np);
    }
  });

  it("select_n with a bool predicate (full or scalar) on float32 and int32 cases", () => {
    const p = data("bool", N, 0, 1, 5);
    const x = data("float32", N, -1, 1, 6);
    const y = data("float32", N, -1, 1, 7);
    check(Primitive.SelectN, [p, x, y], [[N], [N], [N]], ["bool", "float32", "float32"], np);
    check(
      Primitive.SelectN,
      [Uint8Array.from([1]), x, y],
      [[], [N], [N]],
      ["bool", "float32", "float32"],
      np,
    );
    const xi = data("int32", 5, -9, 9, 8);
    const yi = data("int32", 5, -9, 9, 9);
    check(
      Primitive.SelectN,
      [Uint8Array.from([1, 0, 0, 1, 1]), xi, yi],
      [[5], [5], [5]],
      ["bool", "int32", "int32"],
      np,
    );
    // Three cases or bool cases take the reference path.
    check(
      Primitive.SelectN,
      [Int32Array.from([0, 2, 1]), xi.slice(0, 3), yi.slice(0, 3), xi.slice(2, 5)],
      [[3], [3], [3], [3]],
      ["int32", "int32", "int32", "int32"],
      np,
      { path: "fallback" },
    );
  });
});

describe("wasm kernels: reductions", () => {
  it("sum/max/min over the last axes and over everything, odd sizes, float32 and int32", () => {
    const x = data("float32", 7 * 13 * 11, -4, 4, 10);
    x[20] = NaN;
    const xi = data("int32", 7 * 13 * 11, -1e9, 1e9, 11);
    for (const prim of [Primitive.ReduceSum, Primitive.ReduceMax, Primitive.ReduceMin]) {
      for (const axes of [[2], [1, 2], [0, 1, 2]]) {
        check(prim, [x], [[7, 13, 11]], ["float32"], { axes }, { rtol: 1e-5, atol: 5e-4 });
        check(prim, [xi], [[7, 13, 11]], ["int32"], { axes });
      }
      // A leading axis is not a trailing run: the reference path.
      check(prim, [x], [[7, 13, 11]], ["float32"], { axes: [0] }, { path: "fallback", rtol: 1e-5 });
      // Empty rows give the identity.
      check(prim, [new Float32Array(0)], [[3, 0]], ["float32"], { axes: [1] });
    }
    const u = Uint32Array.from([4294967295, 1, 2147483648, 7, 0]);
    check(Primitive.ReduceMax, [u], [[5]], ["uint32"], { axes: [0] });
    check(Primitive.ReduceMin, [u], [[5]], ["uint32"], { axes: [0] });
    check(Primitive.ReduceSum, [u], [[5]], ["uint32"], { axes: [0] });
  });
});

describe("wasm kernels: dot_general", () => {
  const dn = (
    lc: number[],
    rc: number[],
    lb: number[] = [],
    rb: number[] = [],
  ): ParamsOf<Primitive.DotGeneral> => ({
    dimension_numbers: [
      [lc, rc],
      [lb, rb],
    ],
    precision: null,
    preferred_element_type: null,
  });
  const mm = (
    lhs: number[],
    rhs: number[],
    params: ParamsOf<Primitive.DotGeneral>,
    path: "simd" | "fallback" = "simd",
  ) => {
    const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
    check(
      Primitive.DotGeneral,
      [data("float32", size(lhs), -1, 1, 12), data("float32", size(rhs), -1, 1, 13)],
      [lhs, rhs],
      ["float32", "float32"],
      params,
      { path, rtol: 1e-5, atol: 1e-5 },
    );
  };
  it("matmul on odd sizes, across the K block (300)", () => {
    mm([5, 7], [7, 9], dn([1], [0]));
    mm([33, 300], [300, 17], dn([1], [0]));
    mm([1, 13], [13, 1], dn([1], [0]));
  });
  it("transposed operands, vector operands, outer product, empty contraction", () => {
    mm([7, 5], [7, 9], dn([0], [0]));
    mm([5, 7], [9, 7], dn([1], [1]));
    mm([7], [7, 3], dn([0], [0]));
    mm([6], [5], dn([], []));
    mm([4, 0], [0, 3], dn([1], [0]));
  });
  it("batch dimensions, also not leading", () => {
    mm([3, 5, 7], [3, 7, 6], dn([2], [1], [0], [0]));
    mm([5, 3, 7], [7, 3, 6], dn([2], [0], [1], [1]));
  });
  it("contracting dims that do not collapse, and int32, take the reference path", () => {
    mm([2, 3, 4], [4, 3, 5], dn([1, 2], [1, 0]), "fallback");
    check(
      Primitive.DotGeneral,
      [Int32Array.from([1, 2, 3, 4]), Int32Array.from([5, 6, 7, 8])],
      [
        [2, 2],
        [2, 2],
      ],
      ["int32", "int32"],
      dn([1], [0]),
      { path: "fallback" },
    );
  });
});

describe("wasm kernels: worker threads", () => {
  /** Runs on the single-thread and the threaded device; results must be identical (or close). */
  function same<P extends Primitive>(
    prim: P,
    hosts: TypedArray[],
    shapes: number[][],
    params: ParamsOf<P>,
    rtol = 0,
  ) {
    const avals = shapes.map((s) => new ShapedArray(s, "float32"));
    const before = threaded.stats.parallel;
    const one = run(dev, prim, hosts, avals, params)[0];
    const two = run(threaded, prim, hosts, avals, params)[0];
    assert.equal(threaded.stats.parallel - before, 1, `${prim} was not split`);
    if (rtol === 0) assert.deepEqual(two, one);
    else for (let i = 0; i < one.length; i++) assert.ok(Math.abs(one[i] - two[i]) <= rtol * Math.abs(one[i]));
  }
  const big = 300_001;
  it("elementwise, row reductions and matmul split by rows give the single-thread result", () => {
    same(Primitive.Exp, [data("float32", big, -5, 5, 14)], [[big]], np);
    same(
      Primitive.Mul,
      [data("float32", big, -5, 5, 15), data("float32", big, -5, 5, 16)],
      [[big], [big]],
      np,
    );
    same(Primitive.ReduceMax, [data("float32", big - 1, -5, 5, 17)], [[1000, 300]], { axes: [1] });
    same(Primitive.ReduceSum, [data("float32", big - 1, -5, 5, 17)], [[1000, 300]], { axes: [1] });
    same(
      Primitive.DotGeneral,
      [data("float32", 161 * 203, -1, 1, 18), data("float32", 203 * 157, -1, 1, 19)],
      [
        [161, 203],
        [203, 157],
      ],
      {
        dimension_numbers: [
          [[1], [0]],
          [[], []],
        ],
        precision: null,
        preferred_element_type: null,
      },
    );
  });
  it("a full reduction is split into partial sums (same value up to rounding)", () => {
    same(Primitive.ReduceSum, [data("float32", big, 0, 1, 20)], [[big]], { axes: [0] }, 1e-5);
    same(Primitive.ReduceMax, [data("float32", big, 0, 1, 21)], [[big]], { axes: [0] });
  });
});

describe("wasm device through the engine", () => {
  it("is reachable as getDevice('wasm') and 'cpu-wasm', of kind cpu, and runs jnp code", async () => {
    const d = getDevice("wasm");
    assert.equal(getDevice("cpu-wasm"), d);
    assert.equal(d.kind, "cpu");
    defaultDevice("wasm");
    try {
      const x = jnp.arange(10).astype("float32");
      const y = jnp.sum(jnp.exp(jnp.sin(x).mul(2)), 0);
      let want = 0;
      for (let i = 0; i < 10; i++) want += Math.exp(2 * Math.fround(Math.sin(i)));
      assert.ok(Math.abs(((await y.item()) as number) - want) < 1e-4 * want);
      assert.deepEqual(await jnp.transpose(jnp.reshape(x, [2, 5])).tolist(), [
        [0, 5],
        [1, 6],
        [2, 7],
        [3, 8],
        [4, 9],
      ]);
    } finally {
      defaultDevice("cpu");
    }
  });

  it("runs 10,000 eager ops in bounded memory (freed blocks are reused)", () => {
    const d = new WasmDevice("wasm:mem", 1);
    const aval = new ShapedArray([257], "float32");
    let x = d.upload(data("float32", 257, 0, 1, 22));
    const one = d.upload(Float32Array.from([1]));
    const step = (k: number) => {
      const prim = [Primitive.Add, Primitive.Exp, Primitive.Neg, Primitive.Transpose][k % 4];
      const y =
        prim === Primitive.Add
          ? d.execute(prim, [x, one], [aval, new ShapedArray([], "float32")], [aval], {})[0]
          : prim === Primitive.Transpose
            ? d.execute(prim, [x], [aval], [aval], { permutation: [0] })[0]
            : d.execute(prim, [x], [aval], [aval], {})[0];
      d.release(x);
      x = y;
    };
    for (let k = 0; k < 100; k++) step(k);
    const early = d.heap.stats();
    for (let k = 100; k < 10_000; k++) step(k);
    const late = d.heap.stats();
    assert.equal(late.heapBytes, early.heapBytes, "the heap grew after warm-up");
    assert.equal(late.liveBytes, early.liveBytes);
    assert.ok(d.stats.fallback >= 2500, "the transposes ran through the reference path");
  });
});
