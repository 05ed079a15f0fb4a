/** The elementwise numpy functions and lax wrappers, on both executors, against JS Math and identities. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

const f32 = Math.fround;
const XS = [-2.5, -1, -0.3, 0, 1e-4, 0.5, 1.5, 3];
const values = async (t: Array): Promise<number[]> => [...(await t.data())].map(Number);
/** The float32 inputs as JS numbers, mapped through a reference function. */
const ref = (xs: number[], fn: (x: number) => number) => xs.map((x) => fn(f32(x)));

describeEachDevice("unary math against JS Math", () => {
  const x = () => jnp.array(XS);
  const cases: [string, (a: Array) => Array, (v: number) => number][] = [
    ["exp2", jnp.exp2, (v) => 2 ** v],
    ["cbrt", jnp.cbrt, Math.cbrt],
    ["arctan", jnp.arctan, Math.atan],
    ["sinh", jnp.sinh, (v) => (Math.exp(v) - Math.exp(-v)) / 2],
    ["cosh", jnp.cosh, (v) => (Math.exp(v) + Math.exp(-v)) / 2],
    ["arcsinh", jnp.arcsinh, (v) => Math.sign(v) * Math.log(Math.abs(v) + Math.sqrt(v * v + 1))],
    ["log2 of |x|", (a) => jnp.log2(jnp.abs(a)), (v) => Math.log(Math.abs(v)) / Math.LN2],
    ["log10 of |x|", (a) => jnp.log10(jnp.abs(a)), (v) => Math.log(Math.abs(v)) / Math.LN10],
  ];
  for (const [name, fn, reference] of cases) {
    it(`${name} matches the JS reference (float32 tolerance)`, async () => {
      assertAllClose(await values(fn(x())), ref(XS, reference), { rtol: 1e-5, atol: 1e-6 });
    });
  }

  it("arcsin, arccos, arctanh inside [-1, 1] and NaN outside; arccosh from 1", async () => {
    const d = [-1.5, -1, -0.5, 1e-4, 0.5, 1, 2];
    const a = jnp.array(d);
    assertAllClose(await values(jnp.arcsin(a)), ref(d, Math.asin), { rtol: 1e-5 });
    assertAllClose(await values(jnp.arccos(a)), ref(d, Math.acos), { rtol: 1e-5 });
    // atanh(+-1) = +-inf, NaN beyond; atanh(1e-4) = 1e-4 + 1e-12/3 (no cancellation)
    assertAllClose(await values(jnp.arctanh(a)), ref(d, Math.atanh), { rtol: 1e-5 });
    const c = [0.5, 1, 1.0001, 2, 1e10];
    assertAllClose(await values(jnp.arccosh(jnp.array(c))), ref(c, Math.acosh), { rtol: 2e-4 });
  });

  it("identities: sinh(arcsinh x) = x, cosh^2 - sinh^2 = 1, exp2(log2 x) = x, cbrt(x)^3 = x", async () => {
    const a = jnp.array([-3, -0.5, 0.25, 2]);
    assertAllClose(await values(jnp.sinh(jnp.arcsinh(a))), [-3, -0.5, 0.25, 2], { rtol: 1e-5 });
    const c = jnp.cosh(a);
    const s = jnp.sinh(a);
    assertAllClose(await values(c.mul(c).sub(s.mul(s))), [1, 1, 1, 1], { rtol: 1e-4, atol: 1e-4 });
    assertAllClose(await values(jnp.exp2(jnp.log2(jnp.array([0.125, 3, 1000])))), [0.125, 3, 1000], {
      rtol: 1e-5,
    });
    assertAllClose(await values(jnp.power(jnp.cbrt(a), 3)), [-3, -0.5, 0.25, 2], { rtol: 1e-5 });
    assert.deepEqual(await values(jnp.cbrt(jnp.array([-27, 0, 8, 1e6]))), [-3, 0, 2, 100]);
  });

  it("arctan2 picks the quadrant of (x2, x1), as Math.atan2", async () => {
    const y = [1, 1, -1, -1, 0, 2];
    const x = [1, -1, -1, 1, -1, 0];
    assertAllClose(
      await values(jnp.arctan2(jnp.array(y), jnp.array(x))),
      y.map((v, i) => Math.atan2(v, x[i])),
      { rtol: 1e-5 },
    );
  });

  it("rounds half to even (jnp.round), trunc toward zero, decimals", async () => {
    const a = jnp.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6]);
    assert.deepEqual(await values(jnp.round(a)), [-2, -2, -0, 0, 2, 2, 2, -3]);
    assert.deepEqual(await values(jnp.trunc(a)), [-2, -1, -0, 0, 1, 2, 2, -2]);
    // lax.round's default rounds halves away from zero
    assert.deepEqual(await values(lax.round(a)), [-3, -2, -1, 1, 2, 3, 2, -3]);
    assertAllClose(await values(jnp.round(jnp.array([1.234, -5.678]), 2)), [1.23, -5.68], { rtol: 1e-6 });
    const i = jnp.array([3, -4], { dtype: "int32" });
    assert.equal(jnp.round(i), i);
    assert.equal(jnp.floor(i), i);
  });

  it("clip, fmod (sign of dividend), remainder (sign of divisor), floorDivide", async () => {
    const a = jnp.array([-7, -5.5, -1, 0, 2.5, 7]);
    assert.deepEqual(await values(jnp.clip(a, -2, 3)), [-2, -2, -1, 0, 2.5, 3]);
    assert.deepEqual(await values(jnp.clip(a, { max: 0 })), [-7, -5.5, -1, 0, 0, 0]);
    assert.deepEqual(await values(a.clip(null, 1)), [-7, -5.5, -1, 0, 1, 1]);
    const d = [-7, -5.5, -1, 0, 2.5, 7];
    const py = (p: number, q: number) => ((p % q) + q) % q;
    assert.deepEqual(
      await values(jnp.fmod(a, 2)),
      d.map((v) => v % 2 || 0),
    );
    assert.deepEqual(
      await values(jnp.remainder(a, -2)),
      d.map((v) => py(v, -2) || 0),
    );
    assert.deepEqual(
      await values(jnp.floorDivide(a, 2)),
      d.map((v) => Math.floor(v / 2)),
    );
    const ia = jnp.array([-7, -6, -1, 0, 1, 6, 7], { dtype: "int32" });
    const id = [-7, -6, -1, 0, 1, 6, 7];
    assert.deepEqual(
      await values(jnp.remainder(ia, 3)),
      id.map((v) => py(v, 3)),
    );
    assert.deepEqual(
      await values(jnp.floorDivide(ia, -3)),
      id.map((v) => Math.floor(v / -3) || 0),
    );
    assert.deepEqual(
      await values(jnp.fmod(ia, 3)),
      id.map((v) => v % 3 || 0),
    );
    assert.equal(jnp.floorDivide(ia, 2).dtype, "int32");
  });

  it("integer powers multiply exactly; float powers", async () => {
    const b = jnp.array([-3, -1, 0, 2, 5], { dtype: "int32" });
    const e = jnp.array([3, 4, 2, 10, 1], { dtype: "int32" });
    const p = jnp.power(b, e);
    assert.equal(p.dtype, "int32");
    assert.deepEqual(await values(p), [-27, 1, 0, 1024, 5]);
    assert.deepEqual(await values(jnp.square(b)), [9, 1, 0, 4, 25]);
    assertAllClose(await values(jnp.power(jnp.array([4, 9]), 0.5)), [2, 3]);
    assert.throws(
      () => jnp.power(b, -1),
      /jnp\.power: integers cannot be raised to a negative power \(int32 \*\* -1\)/,
    );
  });

  it("classifies NaN and infinities", async () => {
    const a = jnp.array([NaN, Infinity, -Infinity, 0, -1.5]);
    assert.deepEqual(await jnp.isnan(a).tolist(), [true, false, false, false, false]);
    assert.deepEqual(await jnp.isinf(a).tolist(), [false, true, true, false, false]);
    assert.deepEqual(await jnp.isfinite(a).tolist(), [false, false, false, true, true]);
    const i = jnp.array([1, 2], { dtype: "int32" });
    assert.deepEqual(await jnp.isnan(i).tolist(), [false, false]);
    assert.deepEqual(await jnp.isfinite(i).tolist(), [true, true]);
    // maximum/minimum propagate NaN (XLA), != is true for NaN
    assert.deepEqual(await values(jnp.isnan(jnp.maximum(a, 0))), [1, 0, 0, 0, 0]);
    assert.deepEqual(await jnp.notEqual(a, a).tolist(), [true, false, false, false, false]);
  });

  it("logical ops take truthiness; bitwise ops work on int32, uint32 and bool", async () => {
    const p = jnp.array([true, true, false, false]);
    const q = jnp.array([true, false, true, false]);
    assert.deepEqual(await jnp.logicalAnd(p, q).tolist(), [true, false, false, false]);
    assert.deepEqual(await jnp.logicalOr(p, q).tolist(), [true, true, true, false]);
    assert.deepEqual(await jnp.logicalXor(p, q).tolist(), [false, true, true, false]);
    assert.deepEqual(await jnp.logicalNot(jnp.array([0, 2.5, -1])).tolist(), [true, false, false]);
    assert.deepEqual(await jnp.logicalAnd(jnp.array([0, 1, 2]), 3).tolist(), [false, true, true]);
    const x = jnp.array([12, -1, 0], { dtype: "int32" });
    const y = jnp.array([10, 5, 7], { dtype: "int32" });
    assert.deepEqual(await values(jnp.bitwiseAnd(x, y)), [12 & 10, -1 & 5, 0]);
    assert.deepEqual(await values(jnp.bitwiseOr(x, y)), [12 | 10, -1 | 5, 7]);
    assert.deepEqual(await values(jnp.bitwiseXor(x, y)), [12 ^ 10, -1 ^ 5, 7]);
    assert.deepEqual(await values(jnp.invert(x)), [~12, ~-1, ~0]);
    const u = jnp.array([0, 1, 0xfffffff0], { dtype: "uint32" });
    assert.deepEqual(await values(jnp.bitwiseNot(u)), [0xffffffff, 0xfffffffe, 0xf]);
    assert.deepEqual(await values(jnp.bitwiseAnd(u, 0xff)), [0, 1, 0xf0]);
    assert.deepEqual(await jnp.bitwiseNot(p).tolist(), [false, false, true, true]);
    assert.throws(
      () => jnp.bitwiseAnd(jnp.array([1.5]), jnp.array([2])),
      /jnp\.bitwiseAnd does not accept dtype float32/,
    );
    assert.throws(() => jnp.invert(jnp.array([1.5])), /jnp\.bitwiseNot does not accept dtype float32/);
  });

  it("keeps numpy semantics of the existing functions on bools and unsigned ints", async () => {
    const p = jnp.array([true, false]);
    assert.deepEqual(await jnp.add(p, jnp.array([false, false])).tolist(), [true, false]);
    assert.deepEqual(await jnp.multiply(p, jnp.array([true, true])).tolist(), [true, false]);
    assert.equal(jnp.abs(p), p);
    const u = jnp.array([3], { dtype: "uint32" });
    assert.equal(jnp.abs(u), u);
    assert.equal(jnp.sqrt(jnp.array([4], { dtype: "int32" })).dtype, "float32");
    assert.deepEqual(await values(jnp.divide(jnp.array([7], { dtype: "int32" }), 2)), [3.5]);
    assert.throws(() => jnp.negative(p), /bool/);
  });

  it("lax wrappers bind one primitive and refuse mixed dtypes", async () => {
    const a = jnp.array([1, 4, 9]);
    assert.deepEqual(await values(lax.sub(a, 1)), [0, 3, 8]);
    assert.deepEqual(await values(lax.sqrt(a)), [1, 2, 3]);
    assert.deepEqual(await values(lax.max(a, jnp.array([2, 2, 2]))), [2, 4, 9]);
    assert.deepEqual(await lax.lt(a, 4).tolist(), [true, false, false]);
    assert.deepEqual(await values(lax.select(lax.gt(a, 3), a, jnp.zerosLike(a))), [0, 4, 9]);
    assert.deepEqual(await values(lax.convertElementType(jnp.array([1.7, -1.7]), "int32")), [1, -1]);
    assertAllClose(
      await values(lax.erf(jnp.array([0.5, 1, -1.5]))),
      [0.5204998778, 0.8427007929, -0.9661051465],
    );
    const i = jnp.array([1, 2, 3], { dtype: "int32" });
    assert.throws(
      () => lax.sub(a, i),
      /lax\.sub requires arguments to have the same dtypes, got float32, int32\./,
    );
    assert.throws(
      () => lax.add(i, a),
      /add requires operands of one dtype, got int32\(3,\) and float32\(3,\)/,
    );
    assert.throws(() => lax.mul(i, jnp.array(0.5)), /int32.*float32|float32.*int32/);
    assert.throws(
      () => lax.sub(i, 0.5),
      /lax\.sub requires arguments to have the same dtypes, got int32, float32\./,
    );
    assert.throws(() => lax.sin(i), /sin does not accept dtype int32/);
  });
});

describe("elementwise jaxprs (as JAX prints them)", () => {
  const s3 = new ShapeDtypeStruct([3]);
  it("arctan2 binds atan2", () => {
    assert.equal(
      makeJaxpr((x: Array, y: Array) => jnp.arctan2(x, y))(s3, s3).toString(),
      `{ lambda ; a:f32[3] b:f32[3]. let
    c:f32[3] = atan2 a b
  in (c,) }`,
    );
  });
  it("round is round[rounding_method=1]; log2 divides by log 2", () => {
    assert.equal(
      makeJaxpr((x: Array) => jnp.round(x))(s3).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = round[rounding_method=1] a
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr((x: Array) => jnp.log2(x))(s3).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = log a
    c:f32[] = log 2.0:f32[]
    d:f32[3] = div b c
  in (d,) }`,
    );
  });
  it("isnan is ne x x; logicalAnd converts to bool and binds and; x ** 2 is integer_pow", () => {
    assert.equal(
      makeJaxpr((x: Array) => jnp.isnan(x))(s3).toString(),
      `{ lambda ; a:f32[3]. let
    b:bool[3] = ne a a
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr((x: Array, y: Array) => jnp.logicalAnd(x, y))(s3, s3).toString(),
      `{ lambda ; a:f32[3] b:f32[3]. let
    c:bool[3] = ne a 0.0:f32[]
    d:bool[3] = ne b 0.0:f32[]
    e:bool[3] = and c d
  in (e,) }`,
    );
    assert.equal(
      makeJaxpr((x: Array) => jnp.power(x, 2))(s3).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = integer_pow[y=2] a
  in (b,) }`,
    );
  });
});
