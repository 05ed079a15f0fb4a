/**
 * End-to-end vmap cases from issue 4, each against an independent reference: a plain JS computation
 * of the same numbers (not the engine), so both the batching and the per-example function are checked.
 */
import { it } from "node:test";
import { jnp, nn, vmap, type Array as Arr } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}
const rows = (flat: number[], cols: number) =>
  Array.from({ length: flat.length / cols }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
const matvec = (M: number[][], v: number[]) => M.map((row) => row.reduce((s, m, k) => s + m * v[k], 0));
const tol = { rtol: 1e-4, atol: 1e-5 };

describeEachDevice("vmap end to end", () => {
  const W = rows(values(5 * 4, 1), 4); // 5×4
  const X = rows(values(7 * 4, 2), 4); // 7 examples of 4

  it("matvec over a batch with a shared weight matrix", async () => {
    const w = jnp.array(W);
    const f = (x: Arr) => jnp.dot(w, x);
    assertAllClose(
      await vmap(f)(jnp.array(X)).tolist(),
      X.map((x) => matvec(W, x)),
      tol,
    );
  });

  it("a two-layer MLP over a batch, weights passed with inAxes null", async () => {
    const W2 = rows(values(3 * 5, 3), 5);
    const b1 = values(5, 4);
    const mlp = (p: { W1: Arr; b1: Arr; W2: Arr }, x: Arr) =>
      jnp.dot(p.W2, jnp.tanh(jnp.dot(p.W1, x).add(p.b1)));
    const params = { W1: jnp.array(W), b1: jnp.array(b1), W2: jnp.array(W2) };
    const want = X.map((x) =>
      matvec(
        W2,
        matvec(W, x).map((h, i) => Math.tanh(h + b1[i])),
      ),
    );
    assertAllClose(await vmap(mlp, [null, 0])(params, jnp.array(X)).tolist(), want, tol);
  });

  it("softmax over the rows of a batch (inAxes 0) and over columns (inAxes 1, outAxes 1)", async () => {
    const softmax = (v: number[]) => {
      const m = Math.max(...v);
      const e = v.map((x) => Math.exp(x - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((x) => x / s);
    };
    assertAllClose(await vmap(nn.softmax)(jnp.array(X)).tolist(), X.map(softmax), tol);
    const cols = X[0].map((_, c) => softmax(X.map((r) => r[c])));
    const byColumn = vmap((v: Arr) => nn.softmax(v), { inAxes: 1, outAxes: 1 });
    assertAllClose(
      await byColumn(jnp.array(X)).tolist(),
      X.map((_, r) => cols.map((col) => col[r])),
      tol,
    );
  });

  it("pairwise distances through nested vmap", async () => {
    const Y = rows(values(3 * 4, 5), 4);
    const dist = (x: Arr, y: Arr) => jnp.sqrt(jnp.sum(jnp.square(x.sub(y))));
    const pairwise = vmap(vmap(dist, [null, 0]), [0, null]);
    const want = X.map((x) => Y.map((y) => Math.hypot(...x.map((v, k) => v - y[k]))));
    assertAllClose(await pairwise(jnp.array(X), jnp.array(Y)).tolist(), want, tol);
  });

  it("per-example logistic loss with shared weights", async () => {
    const w = values(4, 6);
    const labels = values(7, 7).map((v) => (v > 0 ? 1 : 0));
    const loss = (wv: Arr, x: Arr, y: Arr) => {
      const z = jnp.dot(wv, x);
      return nn.softplus(z).sub(y.mul(z));
    };
    const want = X.map((x, i) => {
      const z = x.reduce((s, v, k) => s + v * w[k], 0);
      return Math.log1p(Math.exp(z)) - labels[i] * z;
    });
    const got = vmap(loss, [null, 0, 0])(jnp.array(w), jnp.array(X), jnp.array(labels));
    assertAllClose(await got.tolist(), want, tol);
  });
});
