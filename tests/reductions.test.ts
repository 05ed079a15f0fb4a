/**
 * Reductions and scans of the numpy namespace, lax and the array methods, on both executors, against
 * plain JS loops, hand-computed cases and identities; exact jaxpr text as JAX prints it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array as Arr } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";
import { nest, reduceRef, unravel } from "./helpers/nested.js";

// One 2x3x4 input for the axis sweeps: values 1, 1.5, 2 (products stay exact in float32), plus a
// few negative ones so that max/min are not at the ends.
const SHAPE = [2, 3, 4];
const DATA = Array.from({ length: 24 }, (_, i) => (i % 7 === 3 ? -1 - (i % 3) * 0.5 : 1 + (i % 3) * 0.5));
const AXES: (number[] | null)[] = [[0], [1], [2], [0, 2], [1, 2], null];

const sumF = (a: number, x: number) => a + x;
const prodF = (a: number, x: number) => a * x;

describeEachDevice("reductions", () => {
  const x = () => jnp.array(nest(DATA, SHAPE) as number[][][]);

  it("sum, prod, max, min over every axis set agree with JS loops (keepdims too)", async () => {
    for (const axes of AXES) {
      const ax = axes ?? [0, 1, 2];
      const axis = axes === null ? null : axes.length === 1 ? axes[0] : axes;
      assertAllClose(await jnp.sum(x(), axis).tolist(), reduceRef(DATA, SHAPE, ax, sumF, 0));
      assertAllClose(await jnp.prod(x(), { axis }).tolist(), reduceRef(DATA, SHAPE, ax, prodF, 1));
      assertAllClose(await jnp.max(x(), { axis }).tolist(), reduceRef(DATA, SHAPE, ax, Math.max, -Infinity));
      assertAllClose(await jnp.min(x(), axis).tolist(), reduceRef(DATA, SHAPE, ax, Math.min, Infinity));
      assertAllClose(
        await jnp.min(x(), { axis, keepdims: true }).tolist(),
        reduceRef(DATA, SHAPE, ax, Math.min, Infinity, true),
      );
    }
  });

  it("negative axes count from the end", async () => {
    assertAllClose(await jnp.prod(x(), -1).tolist(), reduceRef(DATA, SHAPE, [2], prodF, 1));
    assertAllClose(await jnp.min(x(), [-3, -2]).tolist(), reduceRef(DATA, SHAPE, [0, 1], Math.min, Infinity));
  });

  it("integer and bool dtypes: sum of bool is int32, prod keeps int32, dtype= converts", async () => {
    const b = jnp.array([true, false, true, true]);
    const s = jnp.sum(b);
    assert.equal(s.dtype, "int32");
    assert.equal(await s.item(), 3);
    const i = jnp.array(
      [
        [3, -2, 5],
        [1, 4, -6],
      ],
      { dtype: "int32" },
    );
    const p = jnp.prod(i, 1);
    assert.equal(p.dtype, "int32");
    assert.deepEqual(await p.tolist(), [-30, -24]);
    assert.deepEqual(await jnp.max(i, 0).tolist(), [3, 4, 5]);
    assert.deepEqual(await jnp.min(i, 0).tolist(), [1, -2, -6]);
    const f = jnp.sum(i, { axis: 0, dtype: "float32" });
    assert.equal(f.dtype, "float32");
    assert.deepEqual(await f.tolist(), [4, 2, -1]);
    // max/min of bool are or/and and stay bool, as in JAX.
    assert.equal(jnp.max(b).dtype, "bool");
    assert.equal(await jnp.max(b).item(), true);
    assert.equal(await jnp.min(b).item(), false);
  });

  it("max and min propagate NaN", async () => {
    const a = jnp.array([
      [1, NaN, 3],
      [4, 5, 6],
    ]);
    assertAllClose(await jnp.max(a, 1).tolist(), [NaN, 6]);
    assertAllClose(await jnp.min(a, 1).tolist(), [NaN, 4]);
    assertAllClose(await jnp.min(a, 0).tolist(), [1, NaN, 3]);
  });

  it("mean, var and std (ddof) match hand-computed values and var = mean(x^2) - mean(x)^2", async () => {
    const a = jnp.array([
      [1, 2, 3, 4],
      [2, 4, 6, 8],
    ]);
    // row 0: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5; row 1: mean 5, 9+1+1+9 = 20
    assertAllClose(await jnp.mean(a, 1).tolist(), [2.5, 5]);
    assertAllClose(await jnp.var(a, 1).tolist(), [5 / 4, 20 / 4]);
    assertAllClose(await jnp.var(a, { axis: 1, ddof: 1 }).tolist(), [5 / 3, 20 / 3]);
    assertAllClose(await jnp.std(a, { axis: 1, ddof: 1 }).tolist(), [Math.sqrt(5 / 3), Math.sqrt(20 / 3)]);
    assertAllClose(await jnp.var(a, { axis: 1, keepdims: true }).tolist(), [[1.25], [5]]);
    const identity = jnp.subtract(jnp.mean(jnp.square(x()), [0, 2]), jnp.square(jnp.mean(x(), [0, 2])));
    assertAllClose(await jnp.var(x(), [0, 2]).tolist(), await identity.tolist(), { atol: 1e-5 });
    const sd = jnp.std(x());
    assertAllClose(await jnp.square(sd).item(), await jnp.var(x()).item(), { rtol: 1e-5 });
    // Integers compute in float32.
    const vi = jnp.var(jnp.array([1, 2, 3, 4], { dtype: "int32" }));
    assert.equal(vi.dtype, "float32");
    assertAllClose(await vi.item(), 1.25);
  });

  it("all and any: non-zero is true (NaN too), over axes", async () => {
    const a = jnp.array([
      [1, 0, NaN],
      [2, 3, 4],
    ]);
    assert.deepEqual(await jnp.all(a, 1).tolist(), [false, true]);
    assert.deepEqual(await jnp.any(a, 0).tolist(), [true, true, true]);
    assert.equal(await jnp.all(a).item(), false);
    assert.equal(await jnp.any(jnp.zeros([2, 3])).item(), false);
    const b = jnp.array([
      [true, false],
      [true, true],
    ]);
    assert.deepEqual(await jnp.all(b, 0).tolist(), [true, false]);
    assert.deepEqual(await jnp.any(b, { axis: 1, keepdims: true }).tolist(), [[true], [true]]);
    // Empty reductions give the identities.
    assert.equal(await jnp.all(jnp.zeros([0])).item(), true);
    assert.equal(await jnp.any(jnp.zeros([0])).item(), false);
  });

  it("argmax/argmin: first occurrence on ties, NaN wins, axis null flattens, keepdims", async () => {
    const a = jnp.array([
      [3, 7, 7, 1],
      [5, 5, 2, 2],
      [0, NaN, 9, NaN],
    ]);
    const am = jnp.argmax(a, 1);
    assert.equal(am.dtype, "int32");
    assert.deepEqual(await am.tolist(), [1, 0, 1]);
    assert.deepEqual(await jnp.argmin(a, 1).tolist(), [3, 2, 1]);
    assert.deepEqual(await jnp.argmax(a, 0).tolist(), [1, 2, 2, 2]);
    assert.deepEqual(await jnp.argmin(a, { axis: -2 }).tolist(), [2, 2, 1, 2]);
    assert.equal(await jnp.argmax(a).item(), 9); // flattened: the first NaN
    assert.equal(
      await jnp
        .argmin(
          jnp.array([
            [4, 1],
            [1, 0],
          ]),
        )
        .item(),
      3,
    );
    assert.deepEqual(await jnp.argmax(a, { axis: 1, keepdims: true }).tolist(), [[1], [0], [1]]);
    assert.deepEqual(
      await jnp
        .argmax(
          jnp.array([
            [1, 2],
            [3, 0],
          ]),
          { keepdims: true },
        )
        .tolist(),
      [[2]],
    );
    // Against a JS loop on the 3-D input along each axis.
    for (const axis of [0, 1, 2]) {
      const outShape = SHAPE.filter((_, d) => d !== axis);
      const expected: number[] = [];
      const size = outShape.reduce((p, q) => p * q, 1);
      for (let j = 0; j < size; j++) {
        const idx = unravel(j, outShape);
        let best = -Infinity;
        let arg = 0;
        for (let k = 0; k < SHAPE[axis]; k++) {
          const full = [...idx.slice(0, axis), k, ...idx.slice(axis)];
          const v = DATA[(full[0] * 3 + full[1]) * 4 + full[2]];
          if (v > best) [best, arg] = [v, k];
        }
        expected.push(arg);
      }
      assert.deepEqual(await jnp.argmax(x(), axis).tolist(), nest(expected, outShape));
    }
    const ints = jnp.array([2, -5, 9, 9], { dtype: "int32" });
    assert.equal(await jnp.argmax(ints).item(), 2);
    assert.equal(await jnp.argmin(ints).item(), 1);
  });

  it("cumsum and cumprod along an axis, flattened when axis is null; bool accumulates in int32", async () => {
    const a = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(await jnp.cumsum(a, 0).tolist(), [
      [1, 2, 3],
      [5, 7, 9],
    ]);
    assert.deepEqual(await jnp.cumsum(a, 1).tolist(), [
      [1, 3, 6],
      [4, 9, 15],
    ]);
    assert.deepEqual(await jnp.cumsum(a).tolist(), [1, 3, 6, 10, 15, 21]);
    assert.deepEqual(await jnp.cumprod(a, { axis: -1 }).tolist(), [
      [1, 2, 6],
      [4, 20, 120],
    ]);
    assert.deepEqual(await jnp.cumprod(a).tolist(), [1, 2, 6, 24, 120, 720]);
    const b = jnp.cumsum(jnp.array([true, false, true]));
    assert.equal(b.dtype, "int32");
    assert.deepEqual(await b.tolist(), [1, 1, 2]);
    // Against a JS loop on the 3-D input along the middle axis.
    const expected = [...DATA];
    for (let i = 0; i < 2; i++)
      for (let j = 1; j < 3; j++)
        for (let k = 0; k < 4; k++) expected[(i * 3 + j) * 4 + k] += expected[(i * 3 + j - 1) * 4 + k];
    assertAllClose(await jnp.cumsum(x(), 1).tolist(), nest(expected, SHAPE));
  });

  it("lax wrappers: reductions, argmax, cumulative ops with reverse", async () => {
    const a = jnp.array([
      [1, 5, 2],
      [7, 3, 4],
    ]);
    assert.deepEqual(await lax.reduceSum(a, [0, 1]).item(), 22);
    assert.deepEqual(await lax.reduceMax(a, [1]).tolist(), [5, 7]);
    assert.deepEqual(await lax.reduceMin(a, [0]).tolist(), [1, 3, 2]);
    assert.deepEqual(await lax.reduceProd(a, [1]).tolist(), [10, 84]);
    const b = jnp.array([
      [true, false],
      [true, true],
    ]);
    assert.deepEqual(await lax.reduceAnd(b, [1]).tolist(), [false, true]);
    assert.deepEqual(await lax.reduceOr(b, [0]).tolist(), [true, true]);
    const bits = jnp.array(
      [
        [12, 10],
        [6, 3],
      ],
      { dtype: "int32" },
    );
    assert.deepEqual(await lax.reduceAnd(bits, [1]).tolist(), [8, 2]); // bitwise on integers
    assert.deepEqual(await lax.reduceOr(bits, [1]).tolist(), [14, 7]);
    assert.deepEqual(await lax.argmax(a, 1).tolist(), [1, 0]);
    assert.deepEqual(await lax.argmin(a, 0, "int32").tolist(), [0, 1, 0]);
    assert.deepEqual(await lax.cumsum(a, 1, true).tolist(), [
      [8, 7, 2],
      [14, 7, 4],
    ]);
    assert.deepEqual(await lax.cummax(a, { axis: 1 }).tolist(), [
      [1, 5, 5],
      [7, 7, 7],
    ]);
    assert.deepEqual(await lax.cummin(a, { axis: 1, reverse: true }).tolist(), [
      [1, 2, 2],
      [3, 3, 4],
    ]);
    assert.deepEqual(await lax.cumprod(a).tolist(), [
      [1, 5, 2],
      [7, 15, 8],
    ]);
    assertAllClose(await lax.cummax(jnp.array([1, NaN, 3])).tolist(), [1, NaN, NaN]);
  });

  it("array methods", async () => {
    const a = jnp.array([
      [1, 5, 2],
      [7, 3, 4],
    ]);
    assert.deepEqual(await a.min(1).tolist(), [1, 3]);
    assert.deepEqual(await a.prod().item(), 840);
    assert.deepEqual(await a.argmax(1).tolist(), [1, 0]);
    assert.deepEqual(await a.argmin().item(), 0);
    assert.equal(await a.all().item(), true);
    assert.deepEqual(await a.sub(3).any(0).tolist(), [true, true, true]);
    assert.deepEqual(await a.cumsum(1).tolist(), [
      [1, 6, 8],
      [7, 10, 14],
    ]);
    assert.deepEqual(await a.cumprod(0).tolist(), [
      [1, 5, 2],
      [7, 15, 8],
    ]);
    assertAllClose(await a.var(0).tolist(), [9, 1, 1]);
    assertAllClose(await a.std({ axis: 0, ddof: 1 }).tolist(), [Math.sqrt(18), Math.sqrt(2), Math.sqrt(2)]);
  });

  it("bad axes and empty reductions raise errors that name the function, axis and shape", () => {
    const a = jnp.ones([2, 3]);
    assert.throws(() => jnp.sum(a, 2), /jnp\.sum: axis 2 is out of bounds for an array of rank 2/);
    assert.throws(() => jnp.prod(a, [0, -2]), /jnp\.prod: repeated axis in \(0, -2\)/);
    assert.throws(() => jnp.var(a, -3), /jnp\.var: axis -3 is out of bounds/);
    assert.throws(() => jnp.argmax(a, 2), /jnp\.argmax: axis 2 is out of bounds for an array of rank 2/);
    assert.throws(() => jnp.cumsum(a, 5), /jnp\.cumsum: axis 5 is out of bounds/);
    assert.throws(
      () => jnp.min(jnp.zeros([2, 0]), 1),
      /jnp\.min: zero-size array to reduction operation min/,
    );
    assert.throws(
      () => jnp.argmin(jnp.zeros([0])),
      /jnp\.argmin: attempt to get argmin of an empty sequence/,
    );
    assert.throws(
      () => lax.reduceSum(a, [2]),
      /reduce_sum: axis 2 is out of bounds for operand float32\(2, 3\)/,
    );
    assert.throws(() => lax.reduceAnd(a, [0]), /reduce_and does not accept dtype float32/);
    assert.throws(() => lax.argmax(a, 3), /argmax: axis 3 is out of bounds for operand float32\(2, 3\)/);
    assert.throws(() => lax.cumsum(a, 2), /cumsum: axis 2 is out of bounds for operand float32\(2, 3\)/);
  });
});

describeEachDevice("reduction jaxprs", () => {
  const s = new ShapeDtypeStruct([3, 4]);

  it("jnp.argmax(x, 1) prints argmax with axes and index_dtype", () => {
    assert.equal(
      makeJaxpr((x: Arr) => jnp.argmax(x, 1))(s).toString(),
      `{ lambda ; a:f32[3,4]. let
    b:i32[3] = argmax[axes=(1,) index_dtype=int32] a
  in (b,) }`,
    );
  });

  it("jnp.cumsum(x, 0) prints cumsum with axis and reverse (JAX wraps it in a pjit, not shown here)", () => {
    assert.equal(
      makeJaxpr((x: Arr) => jnp.cumsum(x, 0))(s).toString(),
      `{ lambda ; a:f32[3,4]. let
    b:f32[3,4] = cumsum[axis=0 reverse=False] a
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr((x: Arr) => lax.cummax(x, 1, true))(s).toString(),
      `{ lambda ; a:f32[3,4]. let
    b:f32[3,4] = cummax[axis=1 reverse=True] a
  in (b,) }`,
    );
  });

  it("min, prod and all print their reductions", () => {
    assert.equal(
      makeJaxpr((x: Arr) => [jnp.min(x, 0), jnp.prod(x), jnp.all(x, 1)])(s).toString(),
      `{ lambda ; a:f32[3,4]. let
    b:f32[4] = reduce_min[axes=(0,)] a
    c:f32[] = reduce_prod[axes=(0, 1)] a
    d:bool[3,4] = convert_element_type[new_dtype=bool weak_type=False] a
    e:bool[3] = reduce_and[axes=(1,)] d
  in (b, c, e) }`,
    );
  });
});
