/** The first engine: arrays, add/multiply/sin, shapes, dtypes and read-back, on both executors. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { ConcreteArray, defaultDevice, jnp } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

describeEachDevice("arrays and elementwise math", (device) => {
  it("creates arrays on the selected device with shape and dtype", async () => {
    const x = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.ok(x instanceof ConcreteArray);
    assert.equal(x.device.kind, device);
    assert.equal(defaultDevice().kind, device);
    assert.deepEqual(x.shape, [2, 3]);
    assert.equal(x.dtype, "float32");
    assert.equal(x.ndim, 2);
    assert.equal(x.size, 6);
    const data = await x.data();
    assert.ok(data instanceof Float32Array);
    assert.deepEqual(Array.from(data), [1, 2, 3, 4, 5, 6]);
  });

  it("adds and multiplies elementwise (hand-computed)", async () => {
    const a = jnp.array([1, 2, 3]);
    const b = jnp.array([10, 20, 30]);
    assert.deepEqual(await jnp.add(a, b).tolist(), [11, 22, 33]);
    assert.deepEqual(await jnp.mul(a, b).tolist(), [10, 40, 90]);
    assert.deepEqual(await jnp.multiply(a, 0.5).tolist(), [0.5, 1, 1.5]);
    assert.deepEqual(await a.add(1).mul(2).tolist(), [4, 6, 8]);
  });

  it("computes sin in float32", async () => {
    const x = jnp.array([0, Math.PI / 6, Math.PI / 2, -Math.PI / 2, 1]);
    // sin(0)=0, sin(pi/6)=1/2, sin(pi/2)=1, sin(-pi/2)=-1, sin(1)=0.8414709848
    assertAllClose(await jnp.sin(x).tolist(), [0, 0.5, 1, -1, 0.8414709848], { atol: 2e-6 });
  });

  it("broadcasts a row against a matrix (numpy rules)", async () => {
    const m = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const r = jnp.array([100, 200, 300]);
    assert.deepEqual(await jnp.add(m, r).tolist(), [
      [101, 202, 303],
      [104, 205, 306],
    ]);
    assert.throws(
      () => jnp.add(m, jnp.array([1, 2])),
      /jnp\.add: shapes \(2, 3\), \(2,\) cannot be broadcast/,
    );
  });

  it("keeps int32 and bool dtypes and promotes weak scalars like JAX", async () => {
    const i = jnp.array([1, 2, 3], { dtype: "int32" });
    assert.equal(i.dtype, "int32");
    assert.equal(jnp.add(i, 1).dtype, "int32");
    assert.equal(jnp.mul(i, 0.5).dtype, "float32");
    assert.deepEqual(await jnp.mul(i, 0.5).tolist(), [0.5, 1, 1.5]);
    assert.equal(jnp.sin(i).dtype, "float32");
    const b = jnp.array([true, false]);
    assert.equal(b.dtype, "bool");
    assert.deepEqual(await b.tolist(), [true, false]);
  });

  it("reduces and reshapes", async () => {
    const x = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(await jnp.sum(x).tolist(), 21);
    assert.deepEqual(await jnp.sum(x, { axis: 1 }).tolist(), [6, 15]);
    assert.deepEqual(await jnp.sum(x, 0).tolist(), [5, 7, 9]);
    assert.deepEqual(await x.T.tolist(), [
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    assert.deepEqual(await x.reshape([3, 2]).tolist(), [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it("prints like JAX", async () => {
    const x = jnp.array([
      [1, 2],
      [3, 4],
    ]);
    assert.equal(
      await (x as ConcreteArray).toStringAsync(),
      "Array([[1., 2.],\n       [3., 4.]], dtype=float32)",
    );
    const s = jnp.sin(jnp.array([0, 1, 2])) as ConcreteArray;
    assert.equal(await s.toStringAsync(), "Array([0.        , 0.84147096, 0.9092974 ], dtype=float32)");
  });

  it("iterates over the first axis, so arrays destructure", async () => {
    const [r0, r1] = jnp.array([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(
      [await r0.tolist(), await r1.tolist()],
      [
        [1, 2],
        [3, 4],
      ],
    );
    assert.throws(() => [...jnp.array(1)], /iteration over a 0-d array/);
  });

  it("refuses a disposed array with a clear error", () => {
    const x = jnp.array([1, 2]) as ConcreteArray;
    x.dispose();
    assert.throws(() => jnp.add(x, 1), /was disposed/);
  });
});
