/** The WebAssembly binary emitter: encodings, and tiny modules assembled and run. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sleb, uleb } from "../engine/backend/wasm/emitter/leb128.js";
import { ModuleBuilder, type FunctionBuilder } from "../engine/backend/wasm/emitter/module.js";
import { ValType } from "../engine/backend/wasm/emitter/opcodes.js";
import { wasmApi, type WasmMemory } from "../engine/backend/wasm/wasm-api.js";

const { I32, F32, V128 } = { I32: ValType.I32, F32: ValType.F32, V128: ValType.V128 };

function instantiate(mod: ModuleBuilder, memory?: WasmMemory): Record<string, (...a: number[]) => number> {
  const bytes = mod.encode();
  assert.ok(wasmApi.validate(bytes), "module does not validate");
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), memory ? { env: { memory } } : {});
  return instance.exports as Record<string, (...a: number[]) => number>;
}

describe("wasm emitter: LEB128", () => {
  it("encodes unsigned values as the spec's examples", () => {
    assert.deepEqual(uleb(0), [0]);
    assert.deepEqual(uleb(127), [0x7f]);
    assert.deepEqual(uleb(128), [0x80, 0x01]);
    assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
    assert.deepEqual(uleb(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.throws(() => uleb(-1), /uleb/);
  });
  it("encodes signed values (u32 as their i32 bit pattern)", () => {
    assert.deepEqual(sleb(0), [0]);
    assert.deepEqual(sleb(63), [0x3f]);
    assert.deepEqual(sleb(64), [0xc0, 0x00]);
    assert.deepEqual(sleb(-1), [0x7f]);
    assert.deepEqual(sleb(-64), [0x40]);
    assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
    assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
    assert.deepEqual(sleb(0xffffffff), sleb(-1));
  });
});

describe("wasm emitter: modules", () => {
  it("assembles i32 arithmetic and f32 constants", () => {
    const mod = new ModuleBuilder();
    mod.func("addmul", [I32, I32], [I32]).get(0).get(1).op("i32_add").i32(-3).op("i32_mul");
    mod.func("half", [F32], [F32]).get(0).f32(0.5).op("f32_mul");
    const e = instantiate(mod);
    assert.equal(e.addmul(4, 6), -30);
    assert.equal(e.half(3), 1.5);
  });

  it("runs loops with locals, block and br_if (sum 1..n), and calls", () => {
    const mod = new ModuleBuilder();
    const f = mod.func("tri", [I32], [I32]);
    const acc = f.local(I32);
    f.block().loop();
    f.get(0).op("i32_eqz").brIf(1);
    f.get(acc).get(0).op("i32_add").set(acc);
    f.get(0).i32(1).op("i32_sub").set(0).br(0).end().end();
    f.get(acc);
    mod.func("tri2", [I32], [I32]).get(0).call(mod.indexOf("tri")).i32(2).op("i32_mul");
    const e = instantiate(mod);
    assert.equal(e.tri(100), 5050);
    assert.equal(e.tri2(10), 110);
  });

  it("imports a shared memory and loads/stores scalars and v128", () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 4, shared: true });
    const mod = new ModuleBuilder({
      module: "env",
      name: "memory",
      initialPages: 1,
      maximumPages: 4,
      shared: true,
    });
    // out[0..4) = a[0..4) * b[0..4) + splat(c)
    mod
      .func("fma4", [I32, I32, I32, F32])
      .get(2)
      .get(0)
      .vmem("v128_load")
      .get(1)
      .vmem("v128_load")
      .simd("f32x4_mul")
      .get(3)
      .simd("f32x4_splat")
      .simd("f32x4_add")
      .vmem("v128_store", 0);
    const g = mod.func("bytes", [I32, I32], [I32]);
    g.get(0).get(1).mem("i32_store8").get(0).mem("i32_load8_u");
    const e = instantiate(mod, memory);
    assert.ok(memory.buffer instanceof SharedArrayBuffer);
    const f32 = new Float32Array(memory.buffer);
    f32.set([1, 2, 3, 4], 0);
    f32.set([10, 20, 30, 40], 4);
    e.fma4(0, 16, 0, 0.5);
    assert.deepEqual([...f32.subarray(0, 4)], [10.5, 40.5, 90.5, 160.5]);
    assert.equal(e.bytes(100, 0x1ff), 0xff);
  });

  // One lane-wise operation per case, on locals 1 = a = [2.5, NaN, 1.5, -0], 2 = b = [5, 1, 2, -0],
  // 3 = c = [3e9, NaN, -3e9, 3.7]; the lanes are stored at address 0.
  const cases: [string, (f: FunctionBuilder) => void, "f" | "i", number[]][] = [
    ["f32x4.min/max propagate NaN", (f) => f.get(1).get(2).simd("f32x4_max"), "f", [5, NaN, 2, -0]],
    ["f32x4.nearest rounds half to even", (f) => f.get(1).simd("f32x4_nearest"), "f", [2, NaN, 2, -0]],
    ["f32x4.floor", (f) => f.get(1).simd("f32x4_floor"), "f", [2, NaN, 1, -0]],
    [
      "i32x4.trunc_sat saturates, NaN is 0",
      (f) => f.get(3).simd("i32x4_trunc_sat_f32x4_s"),
      "i",
      [2147483647, 0, -2147483648, 3],
    ],
    [
      "f32x4.convert_i32x4_s",
      (f) => f.v128([1, -2, 7, 16777217], true).simd("f32x4_convert_i32x4_s"),
      "f",
      [1, -2, 7, 16777216],
    ],
    [
      "i32x4.shl / shr_s / shr_u",
      (f) => f.v128([-8, 8, 1, -1], true).i32(1).simd("i32x4_shr_s"),
      "i",
      [-4, 4, 0, -1],
    ],
    ["i32x4.shr_u", (f) => f.v128([-8, 8, 1, -1], true).i32(28).simd("i32x4_shr_u"), "i", [15, 0, 0, 15]],
    [
      "i32x4.min_u / max_s",
      (f) => f.v128([-1, 5, 3, 0], true).v128([1, 6, -3, 0], true).simd("i32x4_min_u"),
      "i",
      [1, 5, 3, 0],
    ],
    [
      "i32x4.mul wraps",
      (f) =>
        f
          .v128([65536, -3, 7, 1 << 30], true)
          .v128([65536, 5, -7, 4], true)
          .simd("i32x4_mul"),
      "i",
      [0, -15, -49, 0],
    ],
    [
      "v128.bitselect",
      (f) =>
        f.v128([1, 2, 3, 4], true).v128([5, 6, 7, 8], true).v128([-1, 0, -1, 0], true).simd("v128_bitselect"),
      "i",
      [1, 6, 3, 8],
    ],
    ["f32x4.lt gives lane masks", (f) => f.get(1).get(2).simd("f32x4_lt"), "i", [-1, 0, -1, 0]],
    [
      "f32x4.sqrt and abs",
      (f) => f.v128([4, -9, 2.25, 0]).simd("f32x4_abs").simd("f32x4_sqrt"),
      "f",
      [2, 3, 1.5, 0],
    ],
  ];
  for (const [title, emit, kind, expected] of cases) {
    it(title, () => {
      const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: true });
      const mod = new ModuleBuilder({
        module: "env",
        name: "memory",
        initialPages: 1,
        maximumPages: 1,
        shared: true,
      });
      const f = mod.func("run", [I32]);
      f.local(V128);
      f.local(V128);
      f.local(V128);
      f.v128([2.5, NaN, 1.5, -0]).set(1).v128([5, 1, 2, -0]).set(2).v128([3e9, NaN, -3e9, 3.7]).set(3);
      f.get(0);
      emit(f);
      f.vmem("v128_store");
      instantiate(mod, memory).run(0);
      const got =
        kind === "f" ? [...new Float32Array(memory.buffer, 0, 4)] : [...new Int32Array(memory.buffer, 0, 4)];
      assert.deepEqual(got, expected);
    });
  }

  it("grows a shared memory; the module sees the new pages", () => {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 8, shared: true });
    const mod = new ModuleBuilder({
      module: "env",
      name: "memory",
      initialPages: 1,
      maximumPages: 8,
      shared: true,
    });
    mod.func("peek", [I32], [I32]).get(0).mem("i32_load");
    const e = instantiate(mod, memory);
    memory.grow(3);
    new Int32Array(memory.buffer)[(3 * 65536) / 4] = 42;
    assert.equal(e.peek(3 * 65536), 42);
  });

  it("rejects a function referenced by a missing name", () => {
    assert.throws(() => new ModuleBuilder().indexOf("nope"), /no function named nope/);
  });
});
