/** jax.nn's functions on both executors, against plain JS loops and known values. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, makeJaxpr, nn, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

const ROWS = [
  [1, 2, 3, 4],
  [1000, 1001, 1002, 999], // exp overflows float32 without the max shift
  [-1000, -1000, -1000, -1000],
];

/** log(sum(exp(row))) in doubles, shifted by the row max. */
const lse = (row: number[]) => {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
};

describeEachDevice("nn", () => {
  it("relu, relu6, sigmoid, softplus, silu, elu, leakyRelu against JS formulas", async () => {
    const xs = [-30, -2, -0.5, 0, 0.5, 2, 7, 30];
    const x = jnp.array(xs);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    assert.deepEqual(
      await nn.relu(x).tolist(),
      xs.map((v) => Math.max(v, 0)),
    );
    assert.deepEqual(
      await nn.relu6(x).tolist(),
      xs.map((v) => Math.min(Math.max(v, 0), 6)),
    );
    assertAllClose(await nn.sigmoid(x).tolist(), xs.map(sig), { rtol: 1e-5, atol: 1e-7 });
    // softplus(30) = 30 + log1p(e^-30): no overflow; softplus(-30) = e^-30
    assertAllClose(
      await nn.softplus(x).tolist(),
      xs.map((v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))),
      {
        rtol: 1e-5,
        atol: 1e-7,
      },
    );
    assertAllClose(
      await nn.silu(x).tolist(),
      xs.map((v) => v * sig(v)),
      { rtol: 1e-5, atol: 1e-6 },
    );
    assertAllClose(
      await nn.elu(x).tolist(),
      xs.map((v) => (v > 0 ? v : Math.expm1(v))),
      { rtol: 1e-5, atol: 1e-6 },
    );
    assertAllClose(
      await nn.leakyRelu(x).tolist(),
      xs.map((v) => (v >= 0 ? v : 0.01 * v)),
      { rtol: 1e-6 },
    );
    assertAllClose(
      await nn.logSigmoid(x).tolist(),
      xs.map((v) => Math.log(sig(v))),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });

  it("gelu: tanh approximation by default, exact with erf", async () => {
    const xs = [-3, -1, -0.25, 0, 0.5, 2];
    const x = jnp.array(xs);
    const approx = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assertAllClose(await nn.gelu(x).tolist(), xs.map(approx), { rtol: 1e-5, atol: 1e-6 });
    // x * Phi(x) with Phi from tabulated values: Phi(-3) = 0.0013498980, Phi(-1) = 0.1586552539,
    // Phi(-0.25) = 0.4012936743, Phi(0.5) = 0.6914624613, Phi(2) = 0.9772498681
    const phi = [0.001349898, 0.1586552539, 0.4012936743, 0.5, 0.6914624613, 0.9772498681];
    assertAllClose(
      await nn.gelu(x, { approximate: false }).tolist(),
      xs.map((v, i) => v * phi[i]),
      {
        rtol: 1e-5,
        atol: 1e-6,
      },
    );
  });

  it("softmax sums to 1, equals a JS loop and survives large inputs", async () => {
    const p = nn.softmax(jnp.array(ROWS));
    const expected = ROWS.map((row) => row.map((v) => Math.exp(v - lse(row))));
    assertAllClose(await p.tolist(), expected, { rtol: 1e-5, atol: 1e-7 });
    assertAllClose(await jnp.sum(p, 1).tolist(), [1, 1, 1], { rtol: 1e-6 });
    // along axis 0
    const cols = [0, 1, 2, 3].map((j) => ROWS.map((r) => r[j]));
    const p0 = await nn.softmax(jnp.array(ROWS), { axis: 0 }).tolist();
    assertAllClose(
      p0,
      ROWS.map((_, i) => cols.map((c) => Math.exp(c[i] - lse(c)))),
      { rtol: 1e-5, atol: 1e-7 },
    );
  });

  it("logSoftmax and logsumexp match JS loops without overflow", async () => {
    const x = jnp.array(ROWS);
    assertAllClose(
      await nn.logSoftmax(x).tolist(),
      ROWS.map((row) => row.map((v) => v - lse(row))),
      {
        rtol: 1e-5,
        atol: 1e-4,
      },
    );
    assertAllClose(await nn.logsumexp(x, { axis: 1 }).tolist(), ROWS.map(lse), { rtol: 1e-6 });
    assertAllClose(
      await nn.logsumexp(x, { axis: 1, keepdims: true }).tolist(),
      ROWS.map((r) => [lse(r)]),
      { rtol: 1e-6 },
    );
    assertAllClose(await nn.logsumexp(x).tolist(), lse(ROWS.flat()), { rtol: 1e-6 });
    // all -inf: the max is replaced by 0, so the result is -inf rather than NaN
    assert.equal(await nn.logsumexp(jnp.array([-Infinity, -Infinity])).item(), -Infinity);
  });

  it("oneHot: classes along the chosen axis; out-of-range indices give zeros", async () => {
    const idx = jnp.array([0, 2, 3, -1], { dtype: "int32" });
    assert.deepEqual(await nn.oneHot(idx, 3).tolist(), [
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const t = nn.oneHot(jnp.array([1, 0], { dtype: "int32" }), 3, { axis: 0, dtype: "int32" });
    assert.equal(t.dtype, "int32");
    assert.deepEqual(await t.tolist(), [
      [0, 1],
      [1, 0],
      [0, 0],
    ]);
    assert.throws(
      () => nn.oneHot(idx, 3, { axis: 2 }),
      /nn\.oneHot: axis 2 is out of bounds for an array of rank 2/,
    );
  });
});

describe("nn jaxprs (as JAX prints them)", () => {
  it("relu is max with a weak 0.0", () => {
    assert.equal(
      makeJaxpr((x: Array) => nn.relu(x))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = max a 0.0:f32[]
  in (b,) }`,
    );
  });
  it("softmax subtracts the max, exponentiates and divides by the sum", () => {
    assert.equal(
      makeJaxpr((x: Array) => nn.softmax(x))(new ShapeDtypeStruct([2, 3])).toString(),
      `{ lambda ; a:f32[2,3]. let
    b:f32[2] = reduce_max[axes=(1,)] a
    c:f32[2,1] = reshape[dimensions=None new_sizes=(2, 1)] b
    d:f32[2,3] = broadcast_in_dim[broadcast_dimensions=(0, 1) shape=(2, 3)] c
    e:f32[2,3] = sub a d
    f:f32[2,3] = exp e
    g:f32[2] = reduce_sum[axes=(1,)] f
    h:f32[2,1] = reshape[dimensions=None new_sizes=(2, 1)] g
    i:f32[2,3] = broadcast_in_dim[broadcast_dimensions=(0, 1) shape=(2, 3)] h
    j:f32[2,3] = div f i
  in (j,) }`,
    );
  });
});
