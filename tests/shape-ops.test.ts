/**
 * Shape manipulation (concatenate, stack, split, tile, repeat, flip, roll, pad, moveaxis, take,
 * takeAlongAxis) and the lax slicing primitives, on both executors, against hand-written results,
 * plain JS loops over nested arrays, and identities.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array as JArray } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

/** [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]] as nested JS arrays. */
const grid = (rows: number, cols: number, base = 0): number[][] =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => base + i * cols + j));

const x34 = () => jnp.array(grid(3, 4));

describeEachDevice("shape manipulation", () => {
  it("concatenates along an axis, promoting dtypes (JS loop reference)", async () => {
    const a = grid(3, 4);
    const b = grid(3, 2, 100);
    const expected = a.map((row, i) => [...row, ...b[i]]);
    assert.deepEqual(await jnp.concatenate([jnp.array(a), jnp.array(b)], { axis: 1 }).tolist(), expected);
    assert.deepEqual(await jnp.concatenate([jnp.array(a), jnp.array(b)], -1).tolist(), expected);
    assert.deepEqual(await jnp.concatenate([x34(), x34()]).tolist(), [...a, ...a]);
    const mixed = jnp.concatenate([jnp.arange(2), jnp.array([0.5])]);
    assert.equal(mixed.dtype, "float32");
    assert.deepEqual(await mixed.tolist(), [0, 1, 0.5]);
    assert.deepEqual(await jnp.concatenate([x34(), jnp.arange(2)], { axis: null }).tolist(), [
      ...a.flat(),
      0,
      1,
    ]);
  });

  it("rejects mismatched shapes, bad axes and scalars in concatenate", () => {
    assert.throws(
      () => jnp.concatenate([x34(), jnp.zeros([2, 4])], { axis: 1 }),
      /jnp\.concatenate: .*concatenation axis 1 must match, got shapes \(3, 4\), \(2, 4\)/,
    );
    assert.throws(
      () => jnp.concatenate([x34(), x34()], 2),
      /jnp\.concatenate: axis 2 is out of bounds for an array of rank 2/,
    );
    assert.throws(() => jnp.concatenate([jnp.array(1), jnp.array(2)]), /zero-dimensional/);
    assert.throws(
      () => lax.concatenate([x34(), jnp.zeros([3, 4], { dtype: "int32" })], 0),
      /concatenate: operands must have one dtype/,
    );
  });

  it("stacks, hstacks and vstacks", async () => {
    const a = jnp.array([1, 2, 3]);
    const b = jnp.array([4, 5, 6]);
    assert.deepEqual(await jnp.stack([a, b]).tolist(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(await jnp.stack([a, b], { axis: 1 }).tolist(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    assert.deepEqual(await jnp.stack([a, b], -1).tolist(), await jnp.stack([a, b], 1).tolist());
    assert.deepEqual(await jnp.hstack([a, b]).tolist(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await jnp.vstack([a, b]).tolist(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(
      await jnp.hstack([x34(), x34()]).tolist(),
      grid(3, 4).map((r) => [...r, ...r]),
    );
    assert.throws(
      () => jnp.stack([a, jnp.zeros([2])]),
      /jnp\.stack: all input arrays must have the same shape, got \(3,\), \(2,\)/,
    );
  });

  it("splits into sections or at indices; concatenate(split(x)) == x", async () => {
    const x = x34();
    const [p, q] = jnp.split(x, 2, { axis: 1 });
    assert.deepEqual(
      await p.tolist(),
      grid(3, 4).map((r) => r.slice(0, 2)),
    );
    assert.deepEqual(
      await q.tolist(),
      grid(3, 4).map((r) => r.slice(2)),
    );
    const pieces = jnp.split(jnp.arange(6), [1, 4, 10]);
    assert.deepEqual(await Promise.all(pieces.map((t) => t.tolist())), [[0], [1, 2, 3], [4, 5], []]);
    assert.deepEqual(await jnp.concatenate(jnp.split(x, [1, 2], 0)).tolist(), grid(3, 4));
    assert.throws(
      () => jnp.split(jnp.arange(5), 2),
      /jnp\.split: array split does not result in an equal division: axis 0 of size 5 into 2 sections/,
    );
  });

  it("tiles and repeats (hand-computed)", async () => {
    const a = jnp.array([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(await jnp.tile(a, [2, 3]).tolist(), [
      [1, 2, 1, 2, 1, 2],
      [3, 4, 3, 4, 3, 4],
      [1, 2, 1, 2, 1, 2],
      [3, 4, 3, 4, 3, 4],
    ]);
    assert.deepEqual(await jnp.tile(jnp.array([1, 2]), 2).tolist(), [1, 2, 1, 2]);
    assert.deepEqual(await jnp.repeat(a, 2).tolist(), [1, 1, 2, 2, 3, 3, 4, 4]);
    assert.deepEqual(await jnp.repeat(a, 2, 1).tolist(), [
      [1, 1, 2, 2],
      [3, 3, 4, 4],
    ]);
    assert.deepEqual(await jnp.repeat(a, [1, 2], { axis: 0 }).tolist(), [
      [1, 2],
      [3, 4],
      [3, 4],
    ]);
    assert.deepEqual(await a.repeat([0, 3, 1, 0]).tolist(), [2, 2, 2, 3]);
    assert.throws(() => jnp.repeat(a, [1, 2, 3], 0), /jnp\.repeat: 3 repeats for axis 0 of size 2/);
  });

  it("flips: flip(flip(x)) == x, and matches reversed JS arrays", async () => {
    const x = x34();
    const rows = grid(3, 4);
    assert.deepEqual(await jnp.flip(x, 0).tolist(), [...rows].reverse());
    assert.deepEqual(
      await jnp.flip(x, { axis: 1 }).tolist(),
      rows.map((r) => [...r].reverse()),
    );
    assert.deepEqual(
      await jnp.flip(x).tolist(),
      [...rows].reverse().map((r) => [...r].reverse()),
    );
    assert.deepEqual(await jnp.flip(jnp.flip(x, [0, 1]), [1, 0]).tolist(), rows);
    assert.throws(() => jnp.flip(x, 2), /jnp\.flip: axis 2 is out of bounds for an array of rank 2/);
  });

  it("rolls: by n then -n is the identity; tuples of shifts and axes", async () => {
    const x = x34();
    const rows = grid(3, 4);
    // JS reference: out[i][j] = x[(i - s0) mod 3][(j - s1) mod 4]
    const rolled = (s0: number, s1: number) =>
      rows.map((_, i) => rows[0].map((__, j) => rows[(((i - s0) % 3) + 3) % 3][(((j - s1) % 4) + 4) % 4]));
    assert.deepEqual(await jnp.roll(x, 1, 1).tolist(), rolled(0, 1));
    assert.deepEqual(await jnp.roll(x, [-1, 6], [0, 1]).tolist(), rolled(-1, 6));
    assert.deepEqual(await jnp.roll(jnp.roll(x, 5, { axis: 0 }), -5, 0).tolist(), rows);
    assert.deepEqual(await jnp.roll(jnp.arange(5), 2).tolist(), [3, 4, 0, 1, 2]);
    assert.deepEqual(await jnp.roll(x, 1).tolist(), [
      [11, 0, 1, 2],
      [3, 4, 5, 6],
      [7, 8, 9, 10],
    ]);
  });

  it("moves and swaps axes", () => {
    const x = jnp.zeros([2, 3, 4]);
    assert.deepEqual(jnp.moveaxis(x, 0, -1).shape, [3, 4, 2]);
    assert.deepEqual(jnp.moveaxis(x, [0, 1], [2, 0]).shape, [3, 4, 2]);
    assert.deepEqual(jnp.swapaxes(x, 0, 2).shape, [4, 3, 2]);
    assert.deepEqual(x.swapaxes(-1, 1).shape, [2, 4, 3]);
    assert.throws(
      () => jnp.moveaxis(x, [0, 1], [0]),
      /jnp\.moveaxis: source \(0, 1\) and destination \(0,\)/,
    );
    assert.throws(
      () => jnp.swapaxes(x, 0, 3),
      /jnp\.swapaxes: axis 3 is out of bounds for an array of rank 3/,
    );
  });

  it("swapaxes matches a JS transpose loop", async () => {
    const rows = grid(3, 4);
    assert.deepEqual(
      await x34().swapaxes(0, 1).tolist(),
      rows[0].map((_, j) => rows.map((r) => r[j])),
    );
    assert.deepEqual(await x34().flatten().tolist(), rows.flat());
  });

  it("pads with constants and the edge, reflect, symmetric and wrap modes (numpy's results)", async () => {
    const a = jnp.array([1, 2, 3]);
    assert.deepEqual(await jnp.pad(a, [2, 1]).tolist(), [0, 0, 1, 2, 3, 0]);
    assert.deepEqual(await jnp.pad(a, 1, { constantValues: -1 }).tolist(), [-1, 1, 2, 3, -1]);
    assert.deepEqual(await jnp.pad(a, [2, 3], { mode: "edge" }).tolist(), [1, 1, 1, 2, 3, 3, 3, 3]);
    assert.deepEqual(await jnp.pad(a, [2, 3], { mode: "reflect" }).tolist(), [3, 2, 1, 2, 3, 2, 1, 2]);
    assert.deepEqual(await jnp.pad(a, [2, 3], { mode: "symmetric" }).tolist(), [2, 1, 1, 2, 3, 3, 2, 1]);
    assert.deepEqual(await jnp.pad(a, [2, 3], { mode: "wrap" }).tolist(), [2, 3, 1, 2, 3, 1, 2, 3]);
    assert.deepEqual(
      await jnp
        .pad(
          jnp.array([
            [1, 2],
            [3, 4],
          ]),
          [
            [1, 0],
            [0, 2],
          ],
        )
        .tolist(),
      [
        [0, 0, 0, 0],
        [1, 2, 0, 0],
        [3, 4, 0, 0],
      ],
    );
    assert.throws(() => jnp.pad(a, -1), /jnp\.pad: pad widths must be non-negative integers/);
  });

  it("takes along an axis with fill (NaN), clip and wrap modes", async () => {
    const x = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // JAX's docstring examples.
    assert.deepEqual(await jnp.take(x, [2, 0]).tolist(), [3, 1]);
    assert.deepEqual(await jnp.take(x, jnp.array([2, 0], { dtype: "int32" }), { axis: 1 }).tolist(), [
      [3, 1],
      [6, 4],
    ]);
    assertAllClose(await jnp.take(x, [2, 0], 0).tolist(), [
      [NaN, NaN, NaN],
      [1, 2, 3],
    ]);
    assert.deepEqual(await jnp.take(x, [2, 0], { axis: 0, mode: "clip" }).tolist(), [
      [4, 5, 6],
      [1, 2, 3],
    ]);
    assert.deepEqual(await jnp.take(x, [-1, 4], { axis: 1, mode: "wrap" }).tolist(), [
      [3, 2],
      [6, 5],
    ]);
    assert.deepEqual(await jnp.take(x, [-1], { axis: 1 }).tolist(), [[3], [6]]);
    assert.deepEqual(await x.take([1, 1], 0).tolist(), [
      [4, 5, 6],
      [4, 5, 6],
    ]);
    assert.throws(
      () => jnp.take(x, jnp.array([0.5])),
      /jnp\.take: indices must have an integer dtype, got float32/,
    );
  });

  it("takes along an axis (JAX's examples and a JS loop)", async () => {
    const x = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const idx = jnp.array(
      [
        [0, 2],
        [1, 0],
      ],
      { dtype: "int32" },
    );
    assert.deepEqual(await jnp.takeAlongAxis(x, idx, 1).tolist(), [
      [1, 3],
      [5, 4],
    ]);
    assertAllClose(
      await jnp.takeAlongAxis(x, jnp.array([[1, 0, 2]], { dtype: "int32" }), { axis: 0 }).tolist(),
      [[4, 2, NaN]],
    );
    // out[i][j] = x[idx2[i][j]][j]
    const idx2 = [
      [1, 0, 1],
      [0, 0, 1],
      [1, 1, 0],
    ];
    const rows = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    assert.deepEqual(
      await jnp.takeAlongAxis(x, jnp.array(idx2, { dtype: "int32" }), 0).tolist(),
      idx2.map((r) => r.map((k, j) => rows[k][j])),
    );
    assert.throws(
      () => jnp.takeAlongAxis(x, jnp.array([0, 1], { dtype: "int32" }), 1),
      /indices and arr must have the same number of dimensions; 1 vs\. 2/,
    );
  });
});

describeEachDevice("lax slicing primitives", () => {
  it("slices with strides and reverses", async () => {
    const x = x34();
    assert.deepEqual(await lax.slice(x, [0, 1], [3, 4], [2, 2]).tolist(), [
      [1, 3],
      [9, 11],
    ]);
    assert.deepEqual(
      await lax.rev(x, [1]).tolist(),
      grid(3, 4).map((r) => [...r].reverse()),
    );
    assert.throws(
      () => lax.slice(x, [0, 0], [4, 4]),
      /slice: axis 0 of size 3 needs 0 <= start <= limit <= 3/,
    );
    assert.throws(() => lax.rev(x, [2]), /rev: dimension 2 is out of bounds for operand float32\(3, 4\)/);
  });

  it("pads with low, high (negative crops) and interior padding", async () => {
    const x = jnp.array([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(
      await lax
        .pad(x, 0, [
          [1, -1, 1],
          [0, 1, 0],
        ])
        .tolist(),
      [
        [0, 0, 0],
        [1, 2, 0],
        [0, 0, 0],
      ],
    );
    assert.deepEqual(await lax.pad(jnp.array([1, 2, 3]), -1, [[-1, 0, 2]]).tolist(), [-1, -1, 2, -1, -1, 3]);
    assert.throws(
      () => lax.pad(x, 0, [[0, 0, 0]]),
      /pad: padding_config has 1 entries for operand float32\(2, 2\)/,
    );
  });

  it("dynamic_slice and dynamic_update_slice clamp start indices as XLA does", async () => {
    const x = x34();
    assert.deepEqual(await lax.dynamicSlice(x, [1, 1], [2, 2]).tolist(), [
      [5, 6],
      [9, 10],
    ]);
    // 5 is clamped to 3 - 2 = 1; -1 counts from the end: 4 - 1 = 3, clamped to 4 - 2 = 2.
    assert.deepEqual(await lax.dynamicSlice(x, [jnp.array(5, { dtype: "int32" }), -1], [2, 2]).tolist(), [
      [6, 7],
      [10, 11],
    ]);
    const u = jnp.array([[-1, -2]]);
    assert.deepEqual(await lax.dynamicUpdateSlice(jnp.zeros([2, 3]), u, [1, 7]).tolist(), [
      [0, 0, 0],
      [0, -1, -2],
    ]);
    assert.throws(
      () => lax.dynamicSlice(x, [0], [1, 1]),
      /lax\.dynamicSlice: 1 start indices for an operand of shape \(3, 4\)/,
    );
  });

  it("gathers with batching dims, and scatters with the general dimension numbers", async () => {
    // operand (2, 3), indices (2, 1): batch axis 0 paired with the operand's axis 0.
    const x = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const idx = jnp.array([[2], [0]], { dtype: "int32" });
    const g = lax.gather(
      x,
      idx,
      {
        offsetDims: [],
        collapsedSliceDims: [1],
        startIndexMap: [1],
        operandBatchingDims: [0],
        startIndicesBatchingDims: [0],
      },
      [1, 1],
    );
    assert.deepEqual(await g.tolist(), [3, 4]);
    // Rows of (3, 2) scattered into (4, 2): row 1 twice (accumulates), row 9 dropped (out of bounds).
    const upd = jnp.array([
      [1, 2],
      [10, 20],
      [100, 200],
    ]);
    const rowsDn = { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
    const rowIdx = jnp.array([[1], [1], [9]], { dtype: "int32" });
    assert.deepEqual(await lax.scatterAdd(jnp.zeros([4, 2]), rowIdx, upd, rowsDn).tolist(), [
      [0, 0],
      [11, 22],
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(
      await lax.scatterAdd(jnp.zeros([4, 2]), rowIdx, upd, rowsDn, { mode: "clip" }).tolist(),
      [
        [0, 0],
        [11, 22],
        [0, 0],
        [100, 200],
      ],
    );
    assert.deepEqual(await lax.scatter(jnp.zeros([4, 2]), rowIdx, upd, rowsDn).tolist(), [
      [0, 0],
      [10, 20],
      [0, 0],
      [0, 0],
    ]);
    assert.throws(
      () => lax.scatterAdd(jnp.zeros([4, 2]), rowIdx, jnp.zeros([3, 3]), rowsDn),
      /scatter-add: window size 3 exceeds axis 1 of operand float32\(4, 2\)/,
    );
  });
});

describe("shape manipulation jaxprs", () => {
  it("prints concatenate, pad and roll as JAX does", () => {
    const f = (a: JArray, b: JArray) => jnp.concatenate([a, b], { axis: 1 });
    assert.equal(
      makeJaxpr(f)(new ShapeDtypeStruct([2, 3]), new ShapeDtypeStruct([2, 2])).toString(),
      `{ lambda ; a:f32[2,3] b:f32[2,2]. let
    c:f32[2,5] = concatenate[dimension=1] a b
  in (c,) }`,
    );
    assert.equal(
      makeJaxpr((a: JArray) => jnp.pad(a, [1, 2]))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[6] = pad[padding_config=((1, 2, 0),)] a 0.0:f32[]
  in (b,) }`,
    );
    assert.equal(
      makeJaxpr((a: JArray) => jnp.roll(a, 1, 0))(new ShapeDtypeStruct([4])).toString(),
      `{ lambda ; a:f32[4]. let
    b:f32[1] = slice[limit_indices=(4,) start_indices=(3,) strides=None] a
    c:f32[3] = slice[limit_indices=(3,) start_indices=(0,) strides=None] a
    d:f32[4] = concatenate[dimension=0] b c
  in (d,) }`,
    );
  });
});
