/** jnp.sort / jnp.argsort / lax.sort against JS sorting: NaN placement, stability, descending, axes. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";

const list = async (x: Array) => [...(await x.data())];

/** JS reference: ascending with NaNs last, -0 and 0 equal, stable (Array.prototype.sort is stable). */
function refArgsort(xs: number[], descending = false): number[] {
  const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
  const cmp = (a: number, b: number) => {
    const [x, y] = [xs[a], xs[b]];
    if (Number.isNaN(x) || Number.isNaN(y)) return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
    return key(x) - key(y);
  };
  const idx = xs.map((_, i) => i);
  if (!descending) return idx.sort(cmp);
  // JAX's stable descending argsort keeps ties in their original order, NaNs first.
  return idx.sort((a, b) => cmp(b, a));
}

const DATA = [3, NaN, 1, -0, 0, 2, NaN, -1, 2, 1];

describeEachDevice("sort", () => {
  it("sorts floats ascending with NaNs at the end", async () => {
    const order = refArgsort(DATA);
    const sorted = await list(jnp.sort(jnp.array(DATA)));
    assert.deepEqual(
      sorted.map((v) => (Number.isNaN(v) ? "nan" : v)),
      order.map((i) => (Number.isNaN(DATA[i]) ? "nan" : DATA[i])),
    );
    assert.deepEqual(sorted.slice(0, 3), [-1, -0, 0]);
  });

  it("argsort is stable on ties (including -0 and 0 and NaNs) and returns int32", async () => {
    const a = jnp.argsort(jnp.array(DATA));
    assert.equal(a.dtype, "int32");
    assert.deepEqual(await list(a), refArgsort(DATA));
    assert.deepEqual(await list(jnp.argsort(jnp.array([3, 1, 2, 1, 3, 0]))), [5, 1, 3, 2, 0, 4]);
  });

  it("sorts and argsorts descending as JAX: ties keep their order, NaNs first", async () => {
    assert.deepEqual(
      await list(jnp.argsort(jnp.array([3, 1, 2, 1, 3, 0]), { descending: true })),
      [0, 4, 2, 1, 3, 5],
    );
    assert.deepEqual(await list(jnp.argsort(jnp.array(DATA), { descending: true })), refArgsort(DATA, true));
    const d = await list(jnp.sort(jnp.array([2, NaN, 5, -1]), { descending: true }));
    assert.ok(Number.isNaN(d[0]));
    assert.deepEqual(d.slice(1), [5, 2, -1]);
  });

  it("sorts int32 and along axis 0, -1 and the flattened array", async () => {
    const x = jnp.array(
      [
        [5, -2, 7],
        [1, 9, -4],
      ],
      { dtype: "int32" },
    );
    assert.deepEqual(await jnp.sort(x).tolist(), [
      [-2, 5, 7],
      [-4, 1, 9],
    ]);
    assert.deepEqual(await jnp.sort(x, 0).tolist(), [
      [1, -2, -4],
      [5, 9, 7],
    ]);
    assert.deepEqual(await jnp.argsort(x, { axis: 0 }).tolist(), [
      [1, 0, 1],
      [0, 1, 0],
    ]);
    assert.deepEqual(await jnp.sort(x, null).tolist(), [-4, -2, 1, 5, 7, 9]);
    assert.deepEqual(await x.argsort().tolist(), [
      [1, 0, 2],
      [2, 0, 1],
    ]);
    assert.deepEqual(await x.sort({ axis: 0, descending: true }).tolist(), [
      [5, 9, 7],
      [1, -2, -4],
    ]);
  });

  it("lax.sort sorts several operands by the first num_keys", async () => {
    const k1 = jnp.array([1, 0, 1, 0], { dtype: "int32" });
    const k2 = jnp.array([2, 3, 1, 3]);
    const payload = jnp.array([10, 11, 12, 13], { dtype: "int32" });
    const [a, b, c] = lax.sort([k1, k2, payload], { numKeys: 2 });
    assert.deepEqual(await a.tolist(), [0, 0, 1, 1]);
    assert.deepEqual(await b.tolist(), [3, 3, 1, 2]);
    assert.deepEqual(await c.tolist(), [11, 13, 12, 10]);
    const [, v] = lax.sortKeyVal(jnp.array([0.5, -1, 0.25]), jnp.array([1, 2, 3], { dtype: "int32" }));
    assert.deepEqual(await v.tolist(), [2, 3, 1]);
  });

  it("rejects bad input with errors naming the function", () => {
    assert.throws(() => jnp.sort(jnp.array(1)), /jnp\.sort: cannot sort a rank-0 array/);
    assert.throws(
      () => jnp.argsort(jnp.ones([2, 2]), 2),
      /jnp\.argsort: axis 2 is out of bounds for an array of rank 2/,
    );
    assert.throws(
      () => lax.sort([jnp.ones([2]), jnp.ones([3])]),
      /sort: operands must have one shape, got float32\(2,\), float32\(3,\)/,
    );
    assert.throws(
      () => lax.sort([jnp.ones([2])], { numKeys: 2 }),
      /sort: num_keys=2 must be between 1 and the 1 operands/,
    );
  });

  it("prints sort and iota as JAX does", () => {
    assert.equal(
      makeJaxpr((x: Array) => jnp.sort(x))(new ShapeDtypeStruct([5])).toString(),
      `{ lambda ; a:f32[5]. let
    b:f32[5] = sort[dimension=0 is_stable=True num_keys=1] a
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr(() => lax.broadcastedIota("int32", [2, 3], 1))().toString(),
      `{ lambda ; . let
    a:i32[2,3] = iota[dimension=1 dtype=int32 shape=(2, 3) sharding=None]
  in (a,) }`,
    );
  });
});
