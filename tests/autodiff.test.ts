/**
 * Autodiff compositions on both executors: per-example gradients (vmap of grad) against a loop,
 * grad of grad against hand-derived derivatives, jacrev = jacfwd, Hessians, pytrees, hasAux,
 * custom rules, stopGradient, the gradient's jaxpr, error messages and a small training loop.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  ShapeDtypeStruct,
  customJvp,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jnp,
  jvp,
  lax,
  linearize,
  makeJaxpr,
  nn,
  valueAndGrad,
  vjp,
  vmap,
  type Array,
} from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";
import { assertAllClose, assertTreeClose } from "./helpers/allclose.js";

type Nested = Parameters<typeof assertAllClose>[0];
const list = async (x: Array) => (await x.tolist()) as Nested;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

// Logistic regression, one example: softplus(z) - y z = -[y log σ(z) + (1 - y) log(1 - σ(z))], z = x.w + b.
const loss = (w: Array, x: Array, y: Array) => {
  const z = jnp.dot(x, w);
  return jnp.subtract(nn.softplus(z), jnp.mul(y, z));
};

const X = [
  [0.5, -1, 2],
  [1, 0.25, -0.5],
  [-1.5, 0.5, 1],
  [0, 2, -1],
];
const Y = [1, 0, 1, 0];
const W = [0.1, -0.2, 0.3];

describeEachDevice("autodiff", () => {
  it("vmap(grad(loss)) gives per-example gradients equal to a loop and to (σ(x.w) - y) x", async () => {
    const w = jnp.array(W);
    const xs = jnp.array(X);
    const ys = jnp.array(Y);
    const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, xs, ys);
    const looped: Nested[] = [];
    for (let i = 0; i < X.length; i++)
      looped.push(await list(grad(loss)(w, jnp.array(X[i]), jnp.array(Y[i]))));
    const hand = X.map((x, i) => {
      const s = sigmoid(x.reduce((a, v, k) => a + v * W[k], 0));
      return x.map((v) => (s - Y[i]) * v);
    });
    assertAllClose(await list(perExample), looped, { rtol: 1e-5, atol: 1e-6 });
    assertAllClose(await list(perExample), hand, { rtol: 1e-4, atol: 1e-6 });
  });

  it("grad of a vmapped loss is the sum of the per-example gradients", async () => {
    const total = (w: Array) => jnp.sum(vmap(loss, { inAxes: [null, 0, 0] })(w, jnp.array(X), jnp.array(Y)));
    const g = await list(grad(total)(jnp.array(W)));
    const hand = W.map((_, k) =>
      X.reduce((a, x, i) => a + (sigmoid(x.reduce((s, v, j) => s + v * W[j], 0)) - Y[i]) * x[k], 0),
    );
    assertAllClose(g, hand, { rtol: 1e-4, atol: 1e-6 });
  });

  it("grad(grad(f)) of x^2 sin x matches the hand-derived second derivative", async () => {
    const f = (x: Array) => jnp.mul(jnp.mul(x, x), jnp.sin(x));
    for (const x of [0.3, 1.7, -2]) {
      const d1 = 2 * x * Math.sin(x) + x * x * Math.cos(x);
      const d2 = 2 * Math.sin(x) + 4 * x * Math.cos(x) - x * x * Math.sin(x);
      assertAllClose(await grad(f)(jnp.array(x)).item(), d1, { rtol: 1e-5, atol: 1e-5 });
      assertAllClose(await grad(grad(f))(jnp.array(x)).item(), d2, { rtol: 1e-4, atol: 1e-5 });
    }
    // Third derivative of x^3 through three nested grads: 6.
    assert.equal(await grad(grad(grad((x: Array) => jnp.power(x, 3))))(jnp.array(2)).item(), 6);
  });

  it("jacrev equals jacfwd equals the hand-written Jacobian", async () => {
    const f = (x: Array) => jnp.stack([jnp.sum(jnp.mul(x, x)), jnp.prod(jnp.sin(x))]);
    const x = [0.5, 1, -0.7];
    const hand = [
      x.map((v) => 2 * v),
      x.map((v, i) => Math.cos(v) * x.filter((_, j) => j !== i).reduce((a, u) => a * Math.sin(u), 1)),
    ];
    const rev = await list(jacrev(f)(jnp.array(x)));
    assertAllClose(rev, hand, { rtol: 1e-5, atol: 1e-6 });
    assertAllClose(await list(jacfwd(f)(jnp.array(x))), rev, { rtol: 1e-5, atol: 1e-6 });
  });

  it("jacfwd and jacrev: pytree arguments and results, a list of argnums, hasAux (hand-computed)", async () => {
    // y = w * x * b (elementwise), s = sum(w * w); p = {w, b}.
    const f = (p: { w: Array; b: Array }, x: Array) => ({
      y: jnp.mul(jnp.mul(p.w, x), p.b),
      s: jnp.sum(jnp.mul(p.w, p.w)),
    });
    const p = { w: jnp.array([1, 2]), b: jnp.array(0.5) };
    const x = jnp.array([3, 4]);
    const dP = {
      s: { b: 0, w: [2, 4] },
      y: {
        b: [3, 8],
        w: [
          [1.5, 0],
          [0, 2],
        ],
      },
    };
    const dX = {
      s: [0, 0],
      y: [
        [0.5, 0],
        [0, 1],
      ],
    };
    const toLists = async (t: unknown): Promise<unknown> => {
      if (t instanceof Object && "tolist" in t) return (t as Array).tolist();
      if (globalThis.Array.isArray(t)) return Promise.all(t.map(toLists));
      const entries = await Promise.all(
        Object.entries(t as object).map(async ([k, v]) => [k, await toLists(v)]),
      );
      return Object.fromEntries(entries);
    };
    for (const jac of [jacfwd, jacrev]) {
      assertAllClose(
        (await toLists(jac(f, { argnums: 0 as const })(p, x))) as Nested,
        dP as unknown as Nested,
      );
      const both = (await toLists(jac(f, { argnums: [0, 1] })(p, x))) as { s: unknown[]; y: unknown[] };
      assertAllClose(both.s as Nested, [dP.s, dX.s] as unknown as Nested);
      assertAllClose(both.y as Nested, [dP.y, dX.y] as unknown as Nested);
      const withAux = jac((v: Array) => [jnp.mul(v, v), { total: jnp.sum(v) }], { hasAux: true })(x) as [
        Array,
        { total: Array },
      ];
      assertAllClose(await list(withAux[0]), [
        [6, 0],
        [0, 8],
      ]);
      assert.equal(await withAux[1].total.item(), 7);
    }
    // The Hessian of a^2 b with respect to both scalars: [[2b, 2a], [2a, 0]].
    const h = hessian((a: Array, b: Array) => jnp.mul(jnp.mul(a, a), b), { argnums: [0, 1] })(
      jnp.array(3),
      jnp.array(2),
    );
    assertTreeClose(await toLists(h), [
      [4, 6],
      [6, 0],
    ]);
  });

  it("the Hessian of the quadratic x.Ax is A + A^T", async () => {
    const A = [
      [1, 2, 0],
      [-1, 3, 4],
      [0.5, 0, 2],
    ];
    const a = jnp.array(A);
    const h = hessian((x: Array) => jnp.dot(x, jnp.matmul(a, x)))(jnp.array([0.3, -1, 2]));
    assertAllClose(
      await list(h),
      A.map((r, i) => r.map((v, j) => v + A[j][i])),
    );
  });

  it("differentiates pytrees of parameters: the gradient has the parameters' structure", async () => {
    const params = { w: jnp.array(W), b: jnp.array(0.5) };
    const model = (p: { w: Array; b: Array }, x: Array, y: Array) => {
      const z = jnp.add(jnp.dot(x, p.w), p.b);
      return jnp.subtract(nn.softplus(z), jnp.mul(y, z));
    };
    const g = grad(model)(params, jnp.array(X[0]), jnp.array(Y[0]));
    assert.deepEqual(Object.keys(g).sort(), ["b", "w"]);
    const s = sigmoid(X[0].reduce((a, v, k) => a + v * W[k], 0) + 0.5) - Y[0];
    assertAllClose(
      await list(g.w),
      X[0].map((v) => s * v),
      { rtol: 1e-5, atol: 1e-6 },
    );
    assertAllClose(await g.b.item(), s, { rtol: 1e-5, atol: 1e-6 });
    // argnums as a list: one gradient per argument.
    const [gx, gy] = grad((x: Array, y: Array) => jnp.sum(jnp.mul(x, y)), { argnums: [0, 1] })(
      jnp.array([1, 2]),
      jnp.array([3, 4]),
    );
    assert.deepEqual(
      [await gx.tolist(), await gy.tolist()],
      [
        [3, 4],
        [1, 2],
      ],
    );
  });

  it("hasAux returns the auxiliary data; valueAndGrad returns the value too", async () => {
    const f = (x: Array) => [jnp.sum(jnp.mul(x, x)), { mean: jnp.mean(x) }] as const;
    const [g, aux] = grad(f, { hasAux: true })(jnp.array([1, 2, 3]));
    assert.deepEqual(await g.tolist(), [2, 4, 6]);
    assert.equal(await aux.mean.item(), 2);
    const [[value, aux2], g2] = valueAndGrad(f, { hasAux: true })(jnp.array([1, 2, 3]));
    assert.equal(await value.item(), 14);
    assert.equal(await aux2.mean.item(), 2);
    assert.deepEqual(await g2.tolist(), [2, 4, 6]);
    const [v, gv] = valueAndGrad((x: Array) => jnp.sum(jnp.exp(x)))(jnp.array([0, 1]));
    assertAllClose(await v.item(), 1 + Math.E);
    assertAllClose(await gv.tolist(), [1, Math.E]);
  });

  it("jvp, linearize and vjp agree on a small function", async () => {
    const f = (x: Array) => jnp.tanh(jnp.mul(x, 2));
    const x = jnp.array([0.1, -0.4]);
    const t = jnp.array([1, 0.5]);
    const [y, ty] = jvp(f, [x], [t]);
    const [y2, fJvp] = linearize(f, x);
    const hand = [0.1, -0.4].map((v, i) => 2 * (1 - Math.tanh(2 * v) ** 2) * [1, 0.5][i]);
    assertAllClose(await list(ty), hand, { rtol: 1e-5, atol: 1e-6 });
    assertAllClose(await list(fJvp(t)), hand, { rtol: 1e-5, atol: 1e-6 });
    assertAllClose(await list(y2), await list(y));
    const [, pull] = vjp(f, x);
    const [ct] = pull(jnp.array([1, 0.5]));
    assertAllClose(await list(ct), hand, { rtol: 1e-5, atol: 1e-6 });
  });

  it("customJvp uses the user's rule (also under vmap and grad of grad)", async () => {
    // softplus with the rule d softplus = σ(x) dx; the rule scales by 10 so that its use shows.
    const sp = customJvp((x: Array) => jnp.log1p(jnp.exp(x)));
    sp.defjvp(([x], [t]) => [sp(x), jnp.mul(jnp.mul(nn.sigmoid(x), t), 10)]);
    const x = jnp.array([0, 1]);
    assertAllClose(await list(sp(x)), [Math.log(2), Math.log1p(Math.E)], { rtol: 1e-6 });
    const g = grad((v: Array) => jnp.sum(sp(v)))(x);
    assertAllClose(await list(g), [5, 10 * sigmoid(1)], { rtol: 1e-5 });
    assertAllClose(await list(vmap(grad(sp))(x)), [5, 10 * sigmoid(1)], { rtol: 1e-5 });
    // d/dx (10 σ(x)) = 10 σ(1 - σ): the rule itself is differentiated.
    assertAllClose(await grad(grad(sp))(jnp.array(0)).item(), 2.5, { rtol: 1e-5 });
  });

  it("customVjp uses the user's bwd: gradient clipping", async () => {
    const clipGrad = customVjp((x: Array) => x);
    clipGrad.defvjp(
      (x: Array) => [x, null],
      (_res: null, ct: Array) => [jnp.clip(ct, -1, 1)],
    );
    const f = (x: Array) => jnp.sum(jnp.mul(clipGrad(jnp.mul(x, 3)), 1));
    // d/dx sum(3x) = 3, but the cotangent reaching clipGrad (1) is clipped to [-1, 1], times 3.
    assert.deepEqual(await grad(f)(jnp.array([1, 2])).tolist(), [3, 3]);
    const g = (x: Array) => jnp.sum(jnp.mul(clipGrad(x), 5));
    assert.deepEqual(await grad(g)(jnp.array([1, 2])).tolist(), [1, 1]);
    assert.deepEqual(
      await vmap(grad((x: Array) => jnp.mul(clipGrad(x), -4)))(jnp.array([1, 2])).tolist(),
      [-1, -1],
    );
    // Residuals from fwd reach bwd.
    const sin = customVjp((x: Array) => jnp.sin(x));
    sin.defvjp(
      (x: Array) => [jnp.sin(x), jnp.cos(x)],
      (cos: Array, ct: Array) => [jnp.mul(cos, ct)],
    );
    assertAllClose(await grad(sin)(jnp.array(0.5)).item(), Math.cos(0.5), { rtol: 1e-6 });
  });

  it("nn.softplus and nn.logsumexp differentiate through their custom rules: σ(x) and softmax(x)", async () => {
    const xs = [100, -3, 0.5];
    assertAllClose(await list(vmap(grad((v: Array) => nn.softplus(v)))(jnp.array(xs))), xs.map(sigmoid), {
      rtol: 1e-6,
    });
    const x = [1, 2, 3];
    const e = x.map(Math.exp);
    const softmax = e.map((v) => v / (e[0] + e[1] + e[2]));
    assertAllClose(await list(grad((v: Array) => nn.logsumexp(v))(jnp.array(x))), softmax, { rtol: 1e-5 });
    const rows = grad((v: Array) => jnp.sum(nn.logsumexp(v, { axis: 1, keepdims: true })))(
      jnp.array([x, [1000, 1000, 1000]]),
    );
    assertAllClose(await list(rows), [softmax, [1 / 3, 1 / 3, 1 / 3]], { rtol: 1e-5 });
    // The backward pass of softplus is one logistic (the rule), not the chain of its stable formula.
    const jaxpr = makeJaxpr(grad((v: Array) => nn.softplus(v)))(new ShapeDtypeStruct([])).toString();
    assert.match(jaxpr, /l:f32\[\] = logistic a\n {4}m:f32\[\] = mul 1.0:f32\[\] l\n {2}in \(m,\) }$/);
  });

  it("stopGradient blocks the derivative", async () => {
    const f = (x: Array) => jnp.sum(jnp.mul(x, lax.stopGradient(jnp.mul(x, x))));
    // d/dx x * c = c with c = x^2 held constant.
    assert.deepEqual(await grad(f)(jnp.array([1, 2])).tolist(), [1, 4]);
  });

  it("prints the gradient's jaxpr: forward pass, then the transposed linear part", () => {
    const f = (x: Array) => jnp.sum(jnp.mul(jnp.sin(x), x));
    assert.equal(
      makeJaxpr(grad(f))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = cos a
    d:f32[3] = mul b a
    e:f32[] = reduce_sum[axes=(0,)] d
    f:f32[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] 1.0:f32[]
    g:f32[3] = mul b f
    h:f32[3] = mul f a
    i:f32[3] = mul h c
    j:f32[3] = add g i
  in (j,) }`,
    );
    assert.equal(
      makeJaxpr((x: Array) => grad((y: Array) => jnp.sum(lax.stopGradient(y)))(x))(
        new ShapeDtypeStruct([2]),
      ).toString(),
      `{ lambda ; a:f32[2]. let
    b:f32[2] = stop_gradient a
    c:f32[] = reduce_sum[axes=(0,)] b
    d:f32[2] = broadcast_in_dim[broadcast_dimensions=() shape=(2,)] 0.0:f32[]
  in (d,) }`,
    );
  });

  it("explains bad input: non-scalar output, integer input, argnums out of range", () => {
    assert.throws(
      () => grad((x: Array) => jnp.sin(x))(jnp.array([1, 2])),
      /grad: Gradient only defined for scalar-output functions. Output had shape: \(2,\)/,
    );
    assert.throws(
      () => grad((x: Array) => jnp.sum(x))(jnp.array([1, 2], { dtype: "int32" })),
      /grad requires real-valued inputs \(input dtype that is a sub-dtype of np.inexact\), but got int32/,
    );
    assert.throws(
      () => grad((x: Array) => jnp.sum(x), { argnums: 1 })(jnp.array([1, 2])),
      /argnums=1 requires at least 2 positional arguments to be passed by the caller, but got only 1/,
    );
    const [, pull] = vjp((x: Array) => jnp.sin(x), jnp.array([1, 2]));
    assert.throws(
      () => pull(jnp.array([1, 2, 3])),
      /vjp: the cotangent of output 0 has shape \(3,\), the output \(2,\)/,
    );
  });

  it("trains logistic regression with jit(valueAndGrad(loss)): the loss decreases", async () => {
    // Generated data: labels from a known direction, so the optimum is far from w = 0.
    const n = 16;
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const x = [Math.sin(i * 1.3), Math.cos(i * 0.7), Math.sin(i * 0.4 + 1)];
      xs.push(x);
      ys.push(x[0] - 0.5 * x[1] + 0.25 * x[2] > 0 ? 1 : 0);
    }
    const X = jnp.array(xs);
    const Y = jnp.array(ys);
    const total = (w: Array) => jnp.mean(vmap(loss, { inAxes: [null, 0, 0] })(w, X, Y));
    const step = jit(valueAndGrad(total));
    let w = jnp.zeros([3]);
    // The compiled step computes what the uncompiled one does.
    const [l0, g0] = valueAndGrad(total)(w);
    const [l1, g1] = step(w);
    assertAllClose(await l1.item(), await l0.item(), { rtol: 1e-5 });
    assertAllClose(await list(g1), await list(g0), { rtol: 1e-4, atol: 1e-6 });
    const losses: number[] = [];
    for (let k = 0; k < 8; k++) {
      const [l, g] = step(w);
      losses.push((await l.item()) as number);
      w = jnp.subtract(w, jnp.mul(g, 1.0));
    }
    assertAllClose(losses[0], Math.log(2), { rtol: 1e-5 });
    for (let k = 1; k < losses.length; k++) assert.ok(losses[k] < losses[k - 1], `loss went up: ${losses}`);
    assert.ok(losses.at(-1)! < 0.6 * losses[0], `loss did not fall enough: ${losses}`);
    assert.equal(step.traceCount, 1, "the step was traced once");
  });
});
