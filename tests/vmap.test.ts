/**
 * vmap against per-example loops: the batched function must give exactly what a loop over examples
 * gives, on both executors. (A first part of issue 4: elementwise, shape, reduction, scan and
 * dot_general primitives; the rest of the batching rules are still to come.)
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, lax, makeJaxpr, nn, random, ShapeDtypeStruct, vmap, type Array } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

type Nested = number | boolean | Nested[];

/** Stacks per-example results along `axis` (0 or 1), as a loop over examples would build them. */
async function loop(xs: Array, f: (x: Array) => Array): Promise<Nested[]> {
  const out: Nested[] = [];
  for (const x of xs) out.push((await f(x).tolist()) as Nested);
  return out;
}

describeEachDevice("vmap", () => {
  const xs = () =>
    jnp.array([
      [1, 0],
      [0, 1],
      [1, 1],
      [2, -1],
    ]);

  it("batches a closed-over matrix product (the weight is used once, not copied)", async () => {
    const W = jnp.array([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const f = (x: Array) => jnp.tanh(jnp.dot(W, x));
    assertAllClose(await vmap(f)(xs()).tolist(), await loop(xs(), f));
    const text = makeJaxpr(vmap(f))(new ShapeDtypeStruct([4, 2])).toString();
    assert.doesNotMatch(text, /broadcast_in_dim/, text);
  });

  it("broadcasts, reduces and scans per example", async () => {
    const f = (x: Array) => jnp.cumsum(jnp.add(jnp.mul(x, 2), jnp.sum(x)), 0);
    assertAllClose(await vmap(f)(xs()).tolist(), await loop(xs(), f));
    const g = (x: Array) => nn.softmax(x);
    assertAllClose(await vmap(g)(xs()).tolist(), await loop(xs(), g));
    const h = (x: Array) => jnp.reshape(jnp.outer(x, x), [-1]).T;
    assertAllClose(await vmap(h)(xs()).tolist(), await loop(xs(), h));
  });

  it("batches shape operations and sorting: concatenate, pad, slice, flip, squeeze, sort", async () => {
    const c = jnp.array([7, 8]);
    const fs: ((x: Array) => Array)[] = [
      (x) => jnp.concatenate([x, c, x]),
      (x) => jnp.pad(x, [[1, 2]]),
      (x) => x.slice("1:"),
      (x) => jnp.flip(x),
      (x) => jnp.squeeze(jnp.reshape(x, [1, 2, 1])),
      (x) => jnp.sort(jnp.negative(x)),
      (x) => jnp.argsort(x),
      (x) => jnp.triu(jnp.outer(x, x)),
      (x) => lax.dynamicSlice(jnp.concatenate([x, x]), [1], [2]),
      (x) => lax.dynamicUpdateSlice(jnp.zeros([4]), x, [1]),
      (x) => lax.dynamicUpdateSlice(jnp.concatenate([x, x]), jnp.array([9]), [3]),
    ];
    for (const f of fs) assertAllClose(await vmap(f)(xs()).tolist(), await loop(xs(), f));
  });

  it("batches gathers: integer-array indexing and take, with the batch on the operand, the indices or both", async () => {
    const table = jnp.array([
      [10, 11, 12],
      [20, 21, 22],
      [30, 31, 32],
    ]);
    const idx = jnp.array(
      [
        [2, 0],
        [1, 1],
        [0, 2],
        [2, 2],
      ],
      { dtype: "int32" },
    );
    const byIndex = (i: Array) => table.slice(i);
    assertAllClose(await vmap(byIndex)(idx).tolist(), await loop(idx, byIndex));
    const fixed = (x: Array) => x.slice(jnp.array([1, 0], { dtype: "int32" }));
    assertAllClose(await vmap(fixed)(xs()).tolist(), await loop(xs(), fixed));
    const both = vmap((x: Array, i: Array) => jnp.take(x, i, { axis: 0 }));
    const rows = [...xs()];
    const expected: Nested[] = [];
    let k = 0;
    for (const i of idx)
      expected.push((await jnp.take(rows[k++], jnp.clip(i, 0, 1), { axis: 0 }).tolist()) as Nested);
    assertAllClose(await both(xs(), jnp.clip(idx, 0, 1)).tolist(), expected);
  });

  it("batches functional updates (scatter): set, add with repeated indices", async () => {
    const fs: ((x: Array) => Array)[] = [
      (x) => x.at(0).set(-5),
      (x) => x.at(jnp.array([1, 1], { dtype: "int32" })).add(jnp.array([10, 100])),
      (x) =>
        jnp
          .zeros([3])
          .at(jnp.array([2, 0], { dtype: "int32" }))
          .add(x),
      (x) => jnp.zeros([2, 2]).at(1).set(x),
    ];
    for (const f of fs) assertAllClose(await vmap(f)(xs()).tolist(), await loop(xs(), f));
  });

  it("runs collectives over the named axis: psum, pmean, pmax, pmin, allGather", async () => {
    const x = xs(); // rows [1,0] [0,1] [1,1] [2,-1]
    const opts = { axisName: "batch" };
    // Batch-normalisation style: subtract the mean over the batch (computed by hand: [1, 0.25]).
    const centred = vmap((r: Array) => jnp.subtract(r, lax.pmean(r, "batch")), opts)(x);
    assertAllClose(await centred.tolist(), [
      [0, -0.25],
      [-1, 0.75],
      [0, 0.75],
      [1, -1.25],
    ]);
    // psum of a mapped value is the column sums, the same in every example.
    assert.deepEqual(await vmap((r: Array) => lax.psum(r, "batch"), opts)(x).tolist(), [
      [4, 1],
      [4, 1],
      [4, 1],
      [4, 1],
    ]);
    assert.deepEqual(
      await vmap((r: Array) => lax.pmax(r, "batch"), { ...opts, outAxes: null })(x).tolist(),
      [2, 1],
    );
    assert.deepEqual(
      await vmap((r: Array) => lax.pmin(r, "batch"), { ...opts, outAxes: null })(x).tolist(),
      [0, -1],
    );
    // psum of an unmapped value multiplies by the axis size.
    assert.deepEqual(
      await vmap(() => lax.psum(jnp.array([1, 2]), "batch"), {
        ...opts,
        inAxes: [],
        axisSize: 3,
        outAxes: null,
      })().tolist(),
      [3, 6],
    );
    // allGather: every example sees the whole batch.
    const gathered = vmap((r: Array) => jnp.sum(lax.allGather(r, "batch"), 0), opts)(x);
    assert.deepEqual(await gathered.tolist(), [
      [4, 1],
      [4, 1],
      [4, 1],
      [4, 1],
    ]);
    // Nested vmaps with two names: psum over the outer name only.
    const m = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const outerSum = vmap(
      vmap((v: Array) => lax.psum(v, "rows"), { axisName: "cols" }),
      { axisName: "rows" },
    )(m);
    assert.deepEqual(await outerSum.tolist(), [
      [5, 7, 9],
      [5, 7, 9],
    ]);
    assert.throws(() => lax.psum(jnp.ones([2]), "nowhere"), /unbound axis name: nowhere/);
    assert.throws(() => lax.allGather(jnp.ones([2]), "nowhere"), /unbound axis name: nowhere/);
  });

  it("gives each example of a batch of keys its own random stream", async () => {
    const keys = random.split(random.key(0), 4);
    const draws: ((k: Array) => Array)[] = [
      (k) => random.uniform(k, [3]),
      (k) => random.normal(k, [2]),
      (k) => random.bits(k, [2]),
      (k) => random.foldIn(k, 7),
      (k) => random.split(k, 2),
    ];
    for (const f of draws) assertAllClose(await vmap(f)(keys).tolist(), await loop(keys, f));
    const rows = (await vmap((k: Array) => random.uniform(k, [3]))(keys).tolist()) as number[][];
    assert.notDeepEqual(rows[0], rows[1], "different keys give different numbers");
  });

  it("maps over the axis given by inAxes, leaves null arguments unmapped, and places outAxes", async () => {
    const m = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // inAxes 1: examples are columns; b is shared.
    const f = (a: Array, b: Array) => jnp.add(a, b);
    assert.deepEqual(await vmap(f, [1, null])(m, jnp.array([10, 20])).tolist(), [
      [11, 24],
      [12, 25],
      [13, 26],
    ]);
    // outAxes 1 puts the batch axis last.
    assert.deepEqual(await vmap((r: Array) => jnp.mul(r, 2), { outAxes: 1 })(m).tolist(), [
      [2, 8],
      [4, 10],
      [6, 12],
    ]);
    // Negative axes count from the end.
    assert.deepEqual(await vmap((c: Array) => jnp.sum(c), { inAxes: -1 })(m).tolist(), [5, 7, 9]);
  });

  it("takes pytrees of arguments and results", async () => {
    const f = (p: { w: Array; b: Array }) => ({ y: jnp.add(p.w, p.b), n: jnp.negative(p.w) });
    const out = vmap(f, { inAxes: [{ w: 0, b: null }] })({ w: xs(), b: jnp.array([100, 200]) }) as {
      y: Array;
      n: Array;
    };
    assert.deepEqual(await out.y.tolist(), [
      [101, 200],
      [100, 201],
      [101, 201],
      [102, 199],
    ]);
    assert.deepEqual(await out.n.tolist(), [
      [-1, -0],
      [-0, -1],
      [-1, -1],
      [-2, 1],
    ]);
  });

  it("nests: vmap of vmap maps two axes", async () => {
    const a = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const outer = vmap(
      vmap((x: Array, y: Array) => jnp.mul(x, y)),
      [0, 1],
    );
    // outer maps rows of a and columns of b; the inner maps the remaining axis of each.
    const b = jnp.array([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    assert.deepEqual(await outer(a, b).tolist(), [
      [1, 4, 9],
      [40, 100, 180],
    ]);
  });

  it("uses axisSize when nothing is mapped", async () => {
    assert.deepEqual(await vmap(() => jnp.ones([2]), { inAxes: [], axisSize: 3 })().tolist(), [
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  it("reports inconsistent sizes, bad axes and a mapped result with outAxes null", () => {
    const add = (a: Array, b: Array) => jnp.add(a, b);
    assert.throws(
      () => vmap(add)(jnp.ones([3]), jnp.ones([4])),
      /inconsistent sizes[\s\S]*axis 0 of args\[0\] of type f32\[3\] has size 3[\s\S]*axis 0 of args\[1\] of type f32\[4\] has size 4/,
    );
    assert.throws(
      () => vmap((a: Array) => a, 2)(jnp.ones([3])),
      /axis 2 is out of bounds for args\[0\] of shape \(3,\)/,
    );
    assert.throws(
      () => vmap((a: Array) => a, { outAxes: null })(jnp.ones([3])),
      /mapped output but out_axes is null/,
    );
    assert.throws(() => vmap(() => jnp.ones([2]), { inAxes: [] })(), /at least one non-null value in inAxes/);
  });
});
