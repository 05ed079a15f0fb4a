/**
 * numpy indexing (`x.slice(...)`, `jnp.index`) and functional updates (`x.at(...).set/add/...`) on
 * both executors, against hand-written results and JS loops, with the jaxprs JAX prints.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, makeJaxpr, ShapeDtypeStruct, type Array as JArray } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

const grid = (rows: number, cols: number): number[][] =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => i * cols + j));
const x34 = () => jnp.array(grid(3, 4));
const ints = (v: number[]) => jnp.array(v, { dtype: "int32" });

describeEachDevice("basic indexing", () => {
  it("takes integers (negative from the end) and slices", async () => {
    const x = x34();
    assert.deepEqual(await x.slice(1).tolist(), [4, 5, 6, 7]);
    assert.deepEqual(await x.slice(-1, -2).tolist(), 10);
    assert.deepEqual(await x.slice(0, "1:3").tolist(), [1, 2]);
    assert.deepEqual(await x.slice(":", 2).tolist(), [2, 6, 10]);
    assert.deepEqual(await x.slice("1:", { start: 1, step: 2 }).tolist(), [
      [5, 7],
      [9, 11],
    ]);
    assert.deepEqual(await jnp.index(x, "::2", "::-1").tolist(), [
      [3, 2, 1, 0],
      [11, 10, 9, 8],
    ]);
  });

  it("follows Python's slice rules on a 1-D array (hand-written expectations)", async () => {
    const v = jnp.arange(6);
    const cases: [string, number[]][] = [
      [":", [0, 1, 2, 3, 4, 5]],
      ["2:", [2, 3, 4, 5]],
      [":-2", [0, 1, 2, 3]],
      ["::2", [0, 2, 4]],
      ["1::3", [1, 4]],
      ["-1::-1", [5, 4, 3, 2, 1, 0]],
      ["4:1:-2", [4, 2]],
      ["::-4", [5, 1]],
      ["-100:100", [0, 1, 2, 3, 4, 5]],
      ["3:1", []],
      ["5:10:-1", []],
    ];
    for (const [s, expected] of cases) assert.deepEqual(await v.slice(s).tolist(), expected, `x[${s}]`);
  });

  it("handles the ellipsis and newaxis (null)", async () => {
    const x = jnp.zeros([2, 3, 4]);
    assert.deepEqual(x.slice("...", 1).shape, [2, 3]);
    assert.deepEqual(x.slice(0, "...").shape, [3, 4]);
    assert.deepEqual(x.slice(null, "...", null).shape, [1, 2, 3, 4, 1]);
    assert.deepEqual(x.slice(1, null, ":", 2).shape, [1, 3]);
    assert.deepEqual(await x34().slice(null, 1, "1:3").tolist(), [[5, 6]]);
  });

  it("indexes at traced integers (dynamic_slice, clamped like XLA)", async () => {
    const x = x34();
    assert.deepEqual(await x.slice(ints([2]).slice(0), "1:").tolist(), [9, 10, 11]);
    assert.deepEqual(await x.slice(":", jnp.array(-1, { dtype: "int32" })).tolist(), [3, 7, 11]);
    assert.deepEqual(await x.slice(jnp.array(1, { dtype: "int32" }), "::-2").tolist(), [7, 5]);
  });

  it("reports bad indices with the axis, index and size", () => {
    const x = x34();
    assert.throws(() => x.slice(3), /x\.slice: index 3 is out of bounds for axis 0 with size 3/);
    assert.throws(() => x.slice(0, -5), /x\.slice: index -5 is out of bounds for axis 1 with size 4/);
    assert.throws(
      () => jnp.index(x, 0, 0, 0),
      /jnp\.index: too many indices: a 2-dimensional array of shape \(3, 4\) indexed with 3/,
    );
    assert.throws(() => x.slice("...", 0, "..."), /single ellipsis/);
    assert.throws(() => x.slice("::0"), /slice step on axis 0 cannot be 0/);
    assert.throws(() => x.slice(1.5), /index 0 must be an integer, got 1.5/);
    assert.throws(() => x.slice("a:b"), /non-integer part 'a'/);
    assert.throws(
      () => x.slice(jnp.array([0.0, 1.0])),
      /indexer must have integer or boolean type, got float32 at position 0/,
    );
  });
});

describeEachDevice("advanced indexing", () => {
  it("gathers with one integer array (JS loop reference)", async () => {
    const x = x34();
    const rows = grid(3, 4);
    const idx = [2, 0, -1, 2];
    assert.deepEqual(
      await x.slice(idx).tolist(),
      idx.map((i) => rows[(i + 3) % 3]),
    );
    assert.deepEqual(
      await x.slice(":", ints([3, 1])).tolist(),
      rows.map((r) => [r[3], r[1]]),
    );
    assert.deepEqual(await x.slice(1, [0, 0, 3]).tolist(), [4, 4, 7]);
  });

  it("broadcasts several index arrays together", async () => {
    const x = x34();
    const rows = grid(3, 4);
    // x[[[0], [2]], [1, 3]] has shape (2, 2): rows[r][c] for r in (0, 2), c in (1, 3).
    assert.deepEqual(await x.slice([[0], [2]], [1, 3]).tolist(), [
      [rows[0][1], rows[0][3]],
      [rows[2][1], rows[2][3]],
    ]);
    assert.deepEqual(await x.slice(ints([0, 1, 2]), ints([3, 2, 1])).tolist(), [3, 6, 9]);
  });

  it("puts non-adjacent advanced axes first (numpy's rule)", async () => {
    const y = jnp.arange(24).reshape([2, 3, 4]);
    const ref = (i: number, j: number, k: number) => i * 12 + j * 4 + k;
    // Adjacent: x[:, [0, 2], [1, 3]] has shape (2, 2), advanced axes stay in place.
    assert.deepEqual(await y.slice(":", [0, 2], [1, 3]).tolist(), [
      [ref(0, 0, 1), ref(0, 2, 3)],
      [ref(1, 0, 1), ref(1, 2, 3)],
    ]);
    // Not adjacent: x[[0, 1], :, [1, 2]] has shape (2, 3), the advanced axis first.
    assert.deepEqual(
      await y.slice([0, 1], ":", [1, 2]).tolist(),
      [0, 1].map((n) => [0, 1, 2].map((j) => ref(n, j, n + 1))),
    );
    // An integer counts as an advanced index: x[0, :, [1, 2]] has shape (2, 3).
    assert.deepEqual(y.slice(0, ":", [1, 2]).shape, [2, 3]);
    assert.deepEqual(y.slice(":", 0, [1, 2]).shape, [2, 2]);
  });

  it("selects with boolean masks known on the host", async () => {
    const x = x34();
    assert.deepEqual(await x.slice([true, false, true]).tolist(), [grid(3, 4)[0], grid(3, 4)[2]]);
    const mask = jnp.greater(x, 8);
    await mask.data(); // the values must be on the host
    assert.deepEqual(await x.slice(mask).tolist(), [9, 10, 11]);
    assert.throws(
      () => x.slice([true, false]),
      /boolean index of shape \(2,\) does not match the indexed axes \(3,\)/,
    );
    assert.throws(
      () => makeJaxpr((a: JArray) => a.slice(jnp.greater(a, 0)))(new ShapeDtypeStruct([3])),
      /boolean index at position 0 .* must have values known on the host.*NonConcreteBooleanIndexError/,
    );
  });

  it("gets with an out-of-bounds mode", async () => {
    const v = jnp.array([1, 2, 3]);
    assertAllClose(await v.at([0, 5]).get({ mode: "fill" }).tolist(), [1, NaN]);
    assert.deepEqual(await v.at([0, 5]).get({ mode: "fill", fillValue: -1 }).tolist(), [1, -1]);
    assert.deepEqual(await v.at([0, 5]).get({ mode: "clip" }).tolist(), [1, 3]);
  });
});

describeEachDevice("functional updates (.at)", () => {
  it("sets, adds, multiplies, takes min and max, leaving x unchanged", async () => {
    const x = jnp.array([1, 2, 3, 4]);
    assert.deepEqual(await x.at(1).set(10).tolist(), [1, 10, 3, 4]);
    assert.deepEqual(await x.at("1:3").add(10).tolist(), [1, 12, 13, 4]);
    assert.deepEqual(
      await x
        .at([0, 3])
        .multiply(jnp.array([2, 3]))
        .tolist(),
      [2, 2, 3, 12],
    );
    assert.deepEqual(await x.at(":").min(2.5).tolist(), [1, 2, 2.5, 2.5]);
    assert.deepEqual(
      await x
        .at("::2")
        .max(jnp.array([5, 0]))
        .tolist(),
      [5, 2, 3, 4],
    );
    assert.deepEqual(await x.at(-1).get().tolist(), 4);
    assert.deepEqual(await x.tolist(), [1, 2, 3, 4]);
  });

  it("accumulates repeated indices for add (scatter-add), JS loop reference", async () => {
    const idx = [0, 2, 2, 2, 4, 0];
    const vals = [1, 2, 3, 4, 5, 6];
    const expected = [0, 0, 0, 0, 0];
    idx.forEach((i, k) => (expected[i] += vals[k]));
    assert.deepEqual(await jnp.zeros([5]).at(idx).add(jnp.array(vals)).tolist(), expected);
    assert.deepEqual(await jnp.ones([3]).at([1, 1]).multiply(3).tolist(), [1, 9, 1]);
  });

  it("broadcasts updates over rows, columns and strided slices of a matrix", async () => {
    const x = x34();
    const rows = grid(3, 4);
    assert.deepEqual(
      await x
        .at(1)
        .set(jnp.array([-1, -2, -3, -4]))
        .tolist(),
      [rows[0], [-1, -2, -3, -4], rows[2]],
    );
    assert.deepEqual(
      await x
        .at(":", "::-2")
        .set(jnp.array([100, 200]))
        .tolist(),
      rows.map((r) => [r[0], 200, r[2], 100]),
    );
    assert.deepEqual(
      await x
        .at([2, 0], null, "1:3")
        .add(jnp.array([[[1, 1]], [[2, 2]]]))
        .tolist(),
      [
        [0, 3, 4, 3],
        [4, 5, 6, 7],
        [8, 10, 11, 11],
      ],
    );
    assert.throws(
      () => x.at(0).set(jnp.array([1, 2, 3])),
      /x\.at\(\.\.\.\)\.set: shapes \(3,\), \(4,\) cannot be broadcast together/,
    );
  });

  it("drops out-of-bounds updates by default and clips with mode 'clip'", async () => {
    const x = jnp.zeros([3]);
    assert.deepEqual(
      await x
        .at([1, 7])
        .set(jnp.array([5, 6]))
        .tolist(),
      [0, 5, 0],
    );
    assert.deepEqual(
      await x
        .at([1, 7])
        .set(jnp.array([5, 6]), { mode: "clip" })
        .tolist(),
      [0, 5, 6],
    );
  });

  it("writes with an integer dtype and traced indices", async () => {
    const x = jnp.arange(5);
    const y = x.at(ints([4, 0])).set(9);
    assert.equal(y.dtype, "int32");
    assert.deepEqual(await y.tolist(), [9, 1, 2, 3, 9]);
  });
});

describe("indexing jaxprs", () => {
  it("lowers integer and slice indexing to slice and squeeze", () => {
    assert.equal(
      makeJaxpr((x: JArray) => x.slice(0, "1:3"))(new ShapeDtypeStruct([3, 4])).toString(),
      `{ lambda ; a:f32[3,4]. let
    b:f32[1,2] = slice[limit_indices=(1, 3) start_indices=(0, 1) strides=None] a
    c:f32[2] = squeeze[dimensions=(0,)] b
  in (c,) }`,
    );
  });

  it("lowers a reversed axis to rev", () => {
    assert.equal(
      makeJaxpr((x: JArray) => x.slice("::-1"))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = rev[dimensions=(0,)] a
  in (b,) }`,
    );
  });

  it("lowers a traced integer to dynamic_slice after normalising it", () => {
    assert.equal(
      makeJaxpr((x: JArray, i: JArray) => x.slice(i))(
        new ShapeDtypeStruct([5, 2]),
        new ShapeDtypeStruct([], "int32"),
      ).toString(),
      `{ lambda ; a:f32[5,2] b:i32[]. let
    c:bool[] = lt b 0:i32[]
    d:i32[] = add b 5:i32[]
    e:i32[] = select_n c b d
    f:f32[1,2] = dynamic_slice[slice_sizes=(1, 2)] a e 0:i32[]
    g:f32[2] = squeeze[dimensions=(0,)] f
  in (g,) }`,
    );
  });

  it("lowers integer-array indexing to gather, as JAX prints it", () => {
    assert.equal(
      makeJaxpr((x: JArray, i: JArray) => x.slice(i))(
        new ShapeDtypeStruct([5]),
        new ShapeDtypeStruct([3], "int32"),
      ).toString(),
      `{ lambda ; a:f32[5] b:i32[3]. let
    c:bool[3] = lt b 0:i32[]
    d:i32[3] = add b 5:i32[]
    e:i32[3] = select_n c b d
    f:i32[3,1] = broadcast_in_dim[broadcast_dimensions=(0,) shape=(3, 1)] e
    g:f32[3] = gather[dimension_numbers=GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,), operand_batching_dims=(), start_indices_batching_dims=()) fill_value=None indices_are_sorted=False mode=GatherScatterMode.PROMISE_IN_BOUNDS slice_sizes=(1,) unique_indices=False] a f
  in (g,) }`,
    );
  });

  it("lowers x.at(1).add(5) to scatter-add with its update_jaxpr", () => {
    assert.equal(
      makeJaxpr((x: JArray) => x.at(1).add(5))(new ShapeDtypeStruct([10])).toString(),
      `{ lambda a:i32[1]; b:f32[10]. let
    c:f32[10] = scatter-add[dimension_numbers=ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,), operand_batching_dims=(), scatter_indices_batching_dims=()) indices_are_sorted=True mode=GatherScatterMode.FILL_OR_DROP unique_indices=True update_consts=() update_jaxpr={ lambda ; d:f32[] e:f32[]. let
          f:f32[] = add d e
        in (f,) }] b a 5.0:f32[]
  in (c,) }`,
    );
  });
});
