/**
 * Differentiating control flow on both executors: grad through lax.cond / lax.switch (each branch)
 * against hand derivatives, grad through lax.scan (an RNN's loss, a cumulative product, a scan with a
 * cond inside) against finite differences and the same loop unrolled in JS, fori_loop with static
 * bounds in reverse mode, jvp and linearize through whileLoop and JAX's error for grad, vmap(grad),
 * jit(grad) and grad(grad) compositions, and the jvp's jaxpr.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { grad, jit, jnp, jvp, lax, linearize, makeJaxpr, vmap, type Array } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

type Nested = Parameters<typeof assertAllClose>[0];
const list = async (x: Array) => (await x.tolist()) as Nested;
const whileError =
  /Reverse-mode differentiation does not work for lax\.while_loop or lax\.fori_loop with dynamic start\/stop values/;

// One tanh RNN step, h' = tanh(W h + x), and a loss over the hidden states.
const rnnStep = (w: Array) => (h: Array, x: Array) => {
  const next = jnp.tanh(jnp.add(jnp.dot(w, h), x));
  return [next, jnp.sum(jnp.mul(next, next))] as const;
};
const rnnLoss = (w: Array, xs: Array, h0: Array) => {
  const [h, ys] = lax.scan(rnnStep(w), h0, xs);
  return jnp.add(jnp.sum(ys), jnp.sum(h));
};
/** The same loss with the loop written out in JS. */
const rnnLossUnrolled = (w: Array, xs: Array, h0: Array) => {
  let h = h0;
  let total: Array = jnp.array(0);
  for (let t = 0; t < xs.shape[0]; t++) {
    const [next, y] = rnnStep(w)(h, xs.slice(t));
    total = jnp.add(total, y);
    h = next;
  }
  return jnp.add(total, jnp.sum(h));
};

describeEachDevice("autodiff of control flow", () => {
  it("grad through lax.cond is the derivative of the branch that runs, for either branch", async () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(jnp.sum(x), 0),
        (v: Array) => jnp.sum(jnp.mul(jnp.sin(v), v)),
        (v: Array) => jnp.sum(jnp.mul(jnp.mul(v, v), 3)),
        x,
      );
    // d(sin(v) v) = cos(v) v + sin(v); d(3 v^2) = 6 v
    const pos = [0.5, 1.25];
    assertAllClose(
      await list(grad(f)(jnp.array(pos))),
      pos.map((v) => Math.cos(v) * v + Math.sin(v)),
      { rtol: 1e-5 },
    );
    const neg = [-1, -0.5];
    assertAllClose(
      await list(grad(f)(jnp.array(neg))),
      neg.map((v) => 6 * v),
      { rtol: 1e-5 },
    );
  });

  it("grad through lax.switch follows the (clamped) index; operands not used get zero", async () => {
    const f = (k: number, x: Array, y: Array) =>
      lax.switch(
        k,
        [(a: Array) => jnp.mul(a, 2), (a: Array) => jnp.mul(a, jnp.mul(a, y)), (a: Array) => jnp.exp(a)],
        x,
      );
    const x = 0.75;
    const y = 2;
    const g = (k: number) => grad((a: Array, b: Array) => f(k, a, b), { argnums: [0, 1] });
    const cases: [number, number, number][] = [
      [0, 2, 0],
      [1, 2 * x * y, x * x],
      [2, Math.exp(x), 0],
      [5, Math.exp(x), 0],
    ];
    for (const [k, dx, dy] of cases) {
      const [gx, gy] = g(k)(jnp.array(x), jnp.array(y));
      assertAllClose([await gx.item(), await gy.item()] as Nested, [dx, dy], { rtol: 1e-5 });
    }
  });

  it("grad of an RNN's loss through lax.scan = the loop unrolled in JS = finite differences", async () => {
    const w = jnp.array([
      [0.5, -0.3],
      [0.2, 0.8],
    ]);
    const xs = jnp.array([
      [0.1, -0.2],
      [0.4, 0.3],
      [-0.5, 0.2],
    ]);
    const h0 = jnp.array([0.3, -0.1]);
    const [gw, gx, gh] = grad(rnnLoss, { argnums: [0, 1, 2] })(w, xs, h0);
    const [uw, ux, uh] = grad(rnnLossUnrolled, { argnums: [0, 1, 2] })(w, xs, h0);
    assertAllClose(await list(gw), await list(uw), { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(await list(gx), await list(ux), { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(await list(gh), await list(uh), { rtol: 1e-4, atol: 1e-6 });
    assertAllClose(await rnnLoss(w, xs, h0).item(), await rnnLossUnrolled(w, xs, h0).item(), { rtol: 1e-5 });
    // Central differences in W, entry by entry.
    const eps = 1e-2;
    const fd: number[][] = [];
    for (let i = 0; i < 2; i++) {
      fd.push([]);
      for (let j = 0; j < 2; j++) {
        const e = jnp.array([0, 1].map((r) => [0, 1].map((c) => (r === i && c === j ? eps : 0))));
        const up = await rnnLoss(jnp.add(w, e), xs, h0).item();
        const down = await rnnLoss(jnp.subtract(w, e), xs, h0).item();
        fd[i].push(((up as number) - (down as number)) / (2 * eps));
      }
    }
    assertAllClose(await list(gw), fd, { rtol: 2e-2, atol: 2e-3 });
  });

  it("grad of a cumulative product written as lax.scan matches the hand derivative", async () => {
    const x = [1.5, -0.5, 2, 0.8];
    // sum_k prod_{j<=k} x_j, and its derivative: sum over k >= i of prod_{j<=k, j!=i} x_j.
    const f = (v: Array) => {
      const [, ys] = lax.scan(
        (c: Array, xi: Array) => [jnp.mul(c, xi), jnp.mul(c, xi)] as const,
        jnp.array(1),
        v,
      );
      return jnp.sum(ys);
    };
    const hand = x.map((_, i) => {
      let s = 0;
      for (let k = i; k < x.length; k++) {
        let p = 1;
        for (let j = 0; j <= k; j++) if (j !== i) p *= x[j];
        s += p;
      }
      return s;
    });
    assertAllClose(await list(grad(f)(jnp.array(x))), hand, { rtol: 1e-5 });
    // Scanning in reverse: the products run from the end.
    const fr = (v: Array) => {
      const [c] = lax.scan((c: Array, xi: Array) => [jnp.mul(c, xi), c] as const, jnp.array(1), v, {
        reverse: true,
      });
      return jnp.add(c, jnp.sum(v));
    };
    const prod = x.reduce((a, b) => a * b, 1);
    assertAllClose(
      await list(grad(fr)(jnp.array(x))),
      x.map((v) => prod / v + 1),
      { rtol: 1e-5 },
    );
  });

  it("grad through a scan whose body holds a cond (each step takes its own branch)", async () => {
    // c' = c * x if x > 0 else c + x
    const f = (v: Array) =>
      lax.scan(
        (c: Array, xi: Array) =>
          [
            lax.cond(
              jnp.greater(xi, 0),
              (a: Array, b: Array) => jnp.mul(a, b),
              (a: Array, b: Array) => jnp.add(a, b),
              c,
              xi,
            ),
            null,
          ] as const,
        jnp.array(2),
        v,
      )[0];
    const x = [1.5, -0.5, 2];
    // c3 = ((2 * 1.5) - 0.5) * 2: dc3/dx0 = 2 * 2, dc3/dx1 = 2, dc3/dx2 = (2 * 1.5 - 0.5)
    assertAllClose(await list(grad(f)(jnp.array(x))), [4, 2, 2.5], { rtol: 1e-5 });
  });

  it("grad of a scan whose body itself takes the gradient of a cond = finite differences in JS", async () => {
    const g = (y: Array) =>
      lax.cond(
        jnp.greater(y, 0),
        (v: Array) => jnp.mul(v, v),
        (v: Array) => jnp.sin(v),
        y,
      );
    const f = (x: Array) =>
      lax.scan(
        (c: Array, v: Array) => [jnp.add(c, grad(g)(jnp.mul(v, c))), null] as const,
        jnp.array(0.5),
        x,
      )[0];
    // The same in plain JS: c' = c + g'(v c), g'(y) = 2y (y > 0) or cos(y).
    const js = (x: number[]) => x.reduce((c, v) => c + (v * c > 0 ? 2 * v * c : Math.cos(v * c)), 0.5);
    const x = [0.3, -0.7, 1.1];
    const fd = x.map((_, i) => {
      const e = 1e-6;
      const up = x.map((v, k) => (k === i ? v + e : v));
      const down = x.map((v, k) => (k === i ? v - e : v));
      return (js(up) - js(down)) / (2 * e);
    });
    assertAllClose(await f(jnp.array(x)).item(), js(x), { rtol: 1e-5 });
    assertAllClose(await list(grad(f)(jnp.array(x))), fd, { rtol: 1e-4 });
  });

  it("lax.forLoop with static bounds is a scan and differentiates in reverse mode", async () => {
    // v0 = 1, v' = v x + i: v3 = x^3 + x + 2, dv3/dx = 3 x^2 + 1
    const f = (x: Array) =>
      lax.forLoop(0, 3, (i, v: Array) => jnp.add(jnp.mul(v, x), jnp.astype(i, "float32")), jnp.array(1));
    for (const x of [0.5, -1.5]) {
      assertAllClose(await f(jnp.array(x)).item(), x ** 3 + x + 2, { rtol: 1e-5 });
      assertAllClose(await grad(f)(jnp.array(x)).item(), 3 * x * x + 1, { rtol: 1e-5 });
    }
    // With traced bounds it is a while loop: forward mode only.
    const g = (x: Array) =>
      lax.forLoop(0, jnp.array(3, { dtype: "int32" }), (_i, v: Array) => jnp.mul(v, x), jnp.array(1));
    assert.throws(() => grad(g)(jnp.array(0.5)), whileError);
    const [, t] = jvp(g, [jnp.array(0.5)], [jnp.array(1)]);
    assertAllClose(await t.item(), 3 * 0.25, { rtol: 1e-5 });
  });

  it("jvp through lax.whileLoop follows the iterations taken; grad raises JAX's error", async () => {
    // Multiply by x until the value reaches 10: n steps, v = v0 x^n, dv = n v0 x^(n-1) dx + x^n dv0.
    const f = (x: Array, v0: Array) =>
      lax.whileLoop(
        ([v]: Array[]) => jnp.less(v, 10),
        ([v, k]: Array[]) => [jnp.mul(v, x), jnp.add(k, 1)],
        [v0, jnp.array(0)],
      );
    const x = 1.5;
    const v0 = 1;
    let n = 0;
    for (let v = v0; v < 10; v *= x) n++;
    const [[v, k], [dv, dk]] = jvp(f, [jnp.array(x), jnp.array(v0)], [jnp.array(1), jnp.array(0.5)]);
    assert.equal(await k.item(), n);
    assertAllClose(await v.item(), v0 * x ** n, { rtol: 1e-5 });
    assertAllClose(await dv.item(), n * v0 * x ** (n - 1) + 0.5 * x ** n, { rtol: 1e-5 });
    assert.equal(await dk.item(), 0);
    // linearize works (the jvp'd loop is evaluated forward), transposition does not, as in JAX.
    const [, fJvp] = linearize((a: Array) => f(a, jnp.array(v0))[0], jnp.array(x));
    assertAllClose(await fJvp(jnp.array(2)).item(), 2 * n * v0 * x ** (n - 1), { rtol: 1e-5 });
    assert.throws(() => grad((a: Array) => f(a, jnp.array(v0))[0])(jnp.array(x)), whileError);
  });

  it("vmap(grad(f)) with a scan and a cond on a batched predicate equals a per-example loop", async () => {
    const f = (p: Array) => {
      const c = lax.cond(
        jnp.greater(p.slice(0), 0),
        (v: Array) => jnp.mul(v, v),
        (v: Array) => jnp.sin(v),
        p,
      );
      const [s] = lax.scan(
        (acc: Array, v: Array) => [jnp.add(jnp.mul(acc, v), 1), null] as const,
        jnp.array(1),
        c,
      );
      return s;
    };
    const ps = [
      [0.5, 1, -0.3],
      [-0.5, 0.2, 0.7],
      [0.9, -0.4, 0.1],
    ];
    const batched = await list(vmap(grad(f))(jnp.array(ps)));
    const looped: Nested[] = [];
    for (const p of ps) looped.push(await list(grad(f)(jnp.array(p))));
    assertAllClose(batched, looped, { rtol: 1e-5, atol: 1e-6 });
    // Hand check of one example: s = ((c0 + 1) c1 + 1) c2 + 1 with c = p^2 (p0 > 0).
    const [a, b, c] = ps[0];
    const [c0, c1, c2] = [a * a, b * b, c * c];
    assertAllClose(looped[0], [2 * a * c1 * c2, 2 * b * (c0 + 1) * c2, 2 * c * ((c0 + 1) * c1 + 1)], {
      rtol: 1e-5,
    });
  });

  it("jit(grad(f)) equals grad(f) through a cond and a scan", async () => {
    const f = (w: Array, xs: Array) =>
      lax.cond(
        jnp.greater(jnp.sum(w), 0),
        (a: Array) => rnnLoss(a, xs, jnp.zeros([2])),
        (a: Array) => jnp.sum(jnp.mul(a, a)),
        w,
      );
    const xs = jnp.array([
      [0.1, -0.2],
      [0.4, 0.3],
    ]);
    for (const w of [
      [
        [0.5, -0.3],
        [0.2, 0.8],
      ],
      [
        [-0.5, -0.3],
        [0.2, -0.8],
      ],
    ]) {
      const eager = await list(grad(f)(jnp.array(w), xs));
      const jitted = await list(jit(grad(f))(jnp.array(w), xs));
      assertAllClose(jitted, eager, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it("grad(grad(f)) through a cond and through a scan matches the hand second derivative", async () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(x, 0),
        (v: Array) => jnp.mul(jnp.sin(v), v),
        (v: Array) => jnp.mul(jnp.mul(v, v), v),
        x,
      );
    // (sin(x) x)'' = 2 cos(x) - x sin(x); (x^3)'' = 6x
    for (const x of [0.7, -0.7]) {
      const want = x > 0 ? 2 * Math.cos(x) - x * Math.sin(x) : 6 * x;
      assertAllClose(await grad(grad(f))(jnp.array(x)).item(), want, { rtol: 1e-5 });
    }
    // x^4 as a scan of four multiplications: 12 x^2.
    const p = (x: Array) =>
      lax.scan((c: Array, _: null) => [jnp.mul(c, x), null] as const, jnp.array(1), null, { length: 4 })[0];
    assertAllClose(await grad(grad(p))(jnp.array(1.5)).item(), 12 * 1.5 ** 2, { rtol: 1e-5 });
  });

  it("grad of a scan: a known scan stacks residuals, the transposed scan runs in reverse", () => {
    // exp(w) depends on the consts alone: computed once before the loops (a loop-invariant residual);
    // the carry is stacked by the primal scan; the transposed scan accumulates w's cotangent.
    const f = (w: Array, x: Array) =>
      lax.scan(
        (c: Array, v: Array) => [jnp.add(jnp.mul(c, jnp.exp(w)), v), null] as const,
        jnp.array(1),
        x,
      )[0];
    const text = makeJaxpr(grad(f))(jnp.array(0.3), jnp.array([1, 2, 3])).toString();
    assert.equal(
      text,
      [
        "{ lambda ; a:f32[] b:f32[3]. let",
        "    c:f32[] = exp a",
        "    d:f32[] e:f32[3] = scan[_split_transpose=False jaxpr={ lambda ; f:f32[] g:f32[] h:f32[]. let",
        "          i:f32[] = exp f",
        "          j:f32[] = mul g i",
        "          k:f32[] = add j h",
        "        in (k, g) } length=3 linear=(False, False, False) num_carry=1 num_consts=1 reverse=False unroll=1] a 1.0:f32[] b",
        "    l:f32[] m:f32[] = scan[_split_transpose=False jaxpr={ lambda ; n:f32[] o:f32[] p:f32[] q:f32[]. let",
        "          r:f32[] = mul q p",
        "          s:f32[] = mul p n",
        "          t:f32[] = mul r n",
        "          u:f32[] = add o t",
        "        in (u, s) } length=3 linear=(False, True, True, False) num_carry=2 num_consts=1 reverse=True unroll=1] c 0.0:f32[] 1.0:f32[] e",
        "  in (l,) }",
      ].join("\n"),
    );
  });

  it("the jvp of a cond binds one cond whose branches take primals and tangents (JAX's jaxpr)", () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(x, 0),
        (v: Array) => jnp.sin(v),
        (v: Array) => jnp.negative(v),
        x,
      );
    const text = makeJaxpr((x: Array, t: Array) => jvp(f, [x], [t]))(jnp.array(1), jnp.array(1)).toString();
    assert.equal(
      text,
      [
        "{ lambda ; a:f32[] b:f32[]. let",
        "    c:bool[] = gt a 0.0:f32[]",
        "    d:i32[] = convert_element_type[new_dtype=int32 weak_type=False] c",
        "    e:f32[] f:f32[] = cond[branches=({ lambda ; g:f32[] h:f32[]. let",
        "          i:f32[] = neg g",
        "          j:f32[] = neg h",
        "        in (i, j) }, { lambda ; k:f32[] l:f32[]. let",
        "          m:f32[] = sin k",
        "          n:f32[] = cos k",
        "          o:f32[] = mul l n",
        "        in (m, o) })] d a b",
        "  in (e, f) }",
      ].join("\n"),
    );
  });
});
