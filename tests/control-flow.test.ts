/**
 * Control flow (lax.cond, switch, whileLoop, forLoop, scan, map): values against hand-computed
 * results and plain JS loops, vmap of each against a per-example loop, vmap of dynamic slices with
 * batched start indices, the printed jaxprs, and the errors for mismatching branches and carries.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jit, jnp, lax, makeJaxpr, ShapeDtypeStruct, vmap, type Array } from "../engine/index.js";
import { WorkQueue } from "../engine/backend/webgpu/work-queue.js";
import { ShapedArray } from "../engine/core/aval.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Var } from "../engine/core/jaxpr.js";
import { Primitive } from "../engine/core/primitive.js";
import { bind } from "../engine/core/trace.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

type Nested = number | boolean | Nested[];

const list = async (x: Array) => (await x.tolist()) as Nested;
const i32 = (x: Nested) => jnp.array(x, { dtype: "int32" });

/** The per-example results of `f` over the leading axis of each argument, stacked. */
async function loop(f: (...xs: Array[]) => Array, ...args: Array[]): Promise<Nested[]> {
  const n = args[0].shape[0];
  const rows = await Promise.all(args.map(async (a) => [...a]));
  const out: Nested[] = [];
  for (let k = 0; k < n; k++) out.push(await list(f(...rows.map((r) => r[k]))));
  return out;
}

describeEachDevice("control flow", (device) => {
  it("cond runs the branch the predicate picks, on pytree operands and results", async () => {
    const f = (p: Array | boolean, a: Array, b: Array) =>
      lax.cond(
        p,
        ({ a, b }: { a: Array; b: Array }) => [a.add(b), a],
        ({ a, b }: { a: Array; b: Array }) => [a.sub(b), b],
        { a, b },
      );
    const a = jnp.array([1, 2]);
    const b = jnp.array([10, 20]);
    const [t0, t1] = f(true, a, b);
    assert.deepEqual(
      [await list(t0), await list(t1)],
      [
        [11, 22],
        [1, 2],
      ],
    );
    const [f0, f1] = f(jnp.less(jnp.sum(a), 0), a, b);
    assert.deepEqual(
      [await list(f0), await list(f1)],
      [
        [-9, -18],
        [10, 20],
      ],
    );
  });

  it("cond takes an integer predicate (non-zero is true) and closes over outer arrays", async () => {
    const w = jnp.array([1, 2, 3]);
    const s = jnp.array(4);
    const f = (p: Array) =>
      lax.cond(
        p,
        (x: Array) => x.mul(w),
        (x: Array) => x.add(s),
        jnp.array([1, 1, 1]),
      );
    assert.deepEqual(await list(f(i32(7))), [1, 2, 3]);
    assert.deepEqual(await list(f(i32(0))), [5, 5, 5]);
  });

  it("switch picks branches[index], the index clamped into range", async () => {
    const branches = [(x: Array) => x.add(1), (x: Array) => x.mul(10), (x: Array) => jnp.negative(x)];
    const x = jnp.array([1, 2]);
    const got = [];
    for (const k of [0, 1, 2, 5, -3]) got.push(await list(lax.switch(i32(k), branches, x)));
    assert.deepEqual(got, [
      [2, 3],
      [10, 20],
      [-1, -2],
      [-1, -2],
      [2, 3],
    ]);
  });

  it("whileLoop with a pytree carry matches a JS loop", async () => {
    const out = lax.whileLoop(
      ({ x }: { x: Array; k: Array }) => jnp.less(x, 100),
      ({ x, k }: { x: Array; k: Array }) => ({ x: x.mul(3).add(1), k: k.add(1) }),
      { x: jnp.array(2), k: i32(0) },
    );
    let x = 2;
    let k = 0;
    while (x < 100) {
      x = 3 * x + 1;
      k++;
    }
    assert.deepEqual([await list(out.x), await list(out.k)], [x, k]);
    assert.equal(out.k.dtype, "int32");
    // A loop whose predicate is false at once returns the initial value.
    assert.deepEqual(
      await list(
        lax.whileLoop(
          (v: Array) => jnp.less(v, 0),
          (v: Array) => v.add(1),
          jnp.array(5),
        ),
      ),
      5,
    );
  });

  it("nested loops: a while loop inside a while loop's body, and results used right away", async () => {
    const [i, s] = lax.whileLoop(
      ([i]: Array[]) => jnp.less(i, 3),
      ([i, s]: Array[]) => [
        i.add(1),
        lax.whileLoop(
          (u: Array) => jnp.less(u, s.add(5)),
          (u: Array) => u.add(1),
          s,
        ),
      ],
      [i32(0), jnp.array(0)],
    );
    // Work submitted after the loops sees their results.
    assert.deepEqual([await list(i), await list(s.mul(2))], [3, 30]);
  });

  it("an input disposed right after the loop was started does not disturb it", async () => {
    const x = jnp.array([1, 2]);
    const y = lax.whileLoop(
      (v: Array) => jnp.less(jnp.sum(v), 20),
      (v: Array) => v.mul(2),
      x,
    );
    x.dispose();
    assert.deepEqual(await list(y), [8, 16]);
  });

  it("forLoop (fori_loop) with JS bounds and with traced bounds matches a JS loop", async () => {
    let acc = 1;
    for (let i = 2; i < 7; i++) acc = acc * 0.5 + i * i;
    const body = (i: Array, v: Array) => v.mul(0.5).add(i.astype("float32").mul(i.astype("float32")));
    assertAllClose(await list(lax.forLoop(2, 7, body, jnp.array(1))), acc);
    assertAllClose(await list(lax.foriLoop(i32(2), i32(7), body, jnp.array(1))), acc);
    // An empty range leaves the value alone.
    assert.deepEqual(await list(lax.forLoop(5, 2, body, jnp.array(3))), 3);
  });

  it("scan with a pytree carry and ys matches a JS loop", async () => {
    const xs = [1, 2, 3, 4];
    const [carry, ys] = lax.scan(
      ([s, p]: Array[], x: Array): [Array[], { s: Array; p: Array }] => [
        [s.add(x), p.mul(x)],
        { s, p: p.mul(x) },
      ],
      [jnp.array(0), jnp.array(1)],
      jnp.array(xs),
    );
    let s = 0;
    let p = 1;
    const ss: number[] = [];
    const ps: number[] = [];
    for (const x of xs) {
      ss.push(s);
      s += x;
      p *= x;
      ps.push(p);
    }
    assert.deepEqual([await list(carry[0]), await list(carry[1])], [s, p]);
    assert.deepEqual([await list(ys.s), await list(ys.p)], [ss, ps]);
  });

  it("reverse scan runs from the last element; ys keep xs's order", async () => {
    const [c, ys] = lax.scan(
      (c: Array, x: Array) => [c.mul(10).add(x), c] as const,
      jnp.array(0),
      jnp.array([1, 2, 3]),
      {
        reverse: true,
      },
    );
    // Steps on 3, 2, 1: carries 0 -> 3 -> 32 -> 321; ys[k] is the carry before step k.
    assert.deepEqual([await list(c), await list(ys)], [321, [32, 3, 0]]);
  });

  it("zero-length scan returns the init and empty ys; scan without xs takes `length`", async () => {
    const [c, ys] = lax.scan((c: Array, x: Array) => [c, x.mul(2)] as const, jnp.array(7), jnp.zeros([0, 2]));
    assert.deepEqual(await list(c), 7);
    assert.deepEqual(ys.shape, [0, 2]);
    const [c2, ys2] = lax.scan((c: Array) => [c.mul(2), c] as const, jnp.array(1), null, { length: 4 });
    assert.deepEqual([await list(c2), await list(ys2)], [16, [1, 2, 4, 8]]);
  });

  it("scan closing over a matrix: an RNN step against a JS loop", async () => {
    const W = [
      [0.5, -0.25],
      [0.1, 0.3],
    ];
    const us = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const Wa = jnp.array(W);
    const [h, hs] = lax.scan(
      (h: Array, u: Array) => {
        const n = jnp.tanh(jnp.dot(Wa, h).add(u));
        return [n, n] as const;
      },
      jnp.zeros([2]),
      jnp.array(us),
    );
    let hv = [0, 0];
    const hsv: number[][] = [];
    for (const u of us) {
      hv = [0, 1].map((r) => Math.tanh(W[r][0] * hv[0] + W[r][1] * hv[1] + u[r]));
      hsv.push(hv);
    }
    assertAllClose(await list(h), hv);
    assertAllClose(await list(hs), hsv);
  });

  it("map applies a function to each row", async () => {
    const m = jnp.array([
      [3, 4],
      [6, 8],
      [0, 1],
    ]);
    assertAllClose(await list(lax.map((r: Array) => jnp.sqrt(jnp.sum(r.mul(r))), m)), [5, 10, 1]);
  });

  it("a loop failing at run time: at once on the CPU, on the next read on WebGPU, which then goes on", async () => {
    // A body jaxpr that reads a variable nothing binds passes the type checks and fails when run.
    const f32 = new ShapedArray([], "float32");
    const c = new Var(f32);
    const unbound = new Var(f32);
    const out = new Var(f32);
    const body = new ClosedJaxpr(
      new Jaxpr([], [c], [new JaxprEqn(Primitive.Mul, [unbound, c], {}, [out])], [out]),
      [],
    );
    const cond = makeJaxpr((v: Array) => jnp.less(v, 10))(new ShapeDtypeStruct([]));
    const run = () =>
      bind(Primitive.While, [jnp.array(1)], {
        body_jaxpr: body,
        body_nconsts: 0,
        cond_jaxpr: cond,
        cond_nconsts: 0,
      })[0];
    if (device === "cpu") {
      assert.throws(run);
      return;
    }
    const y = run();
    const later = y.add(1);
    await assert.rejects(later.data(), /lax.whileLoop failed while running asynchronously on webgpu:0/);
    // The failure is reported once; the device keeps working.
    assert.deepEqual(await list(jnp.array([1, 2]).mul(3)), [3, 6]);
  });

  // ------------------------------------------------------------------------------------------ vmap

  const xs = () => jnp.array([-2, 0.5, 3, -1]);

  it("vmap of cond with a batched predicate (both branches, then select) matches a loop", async () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(x, 0),
        (y: Array) => y.mul(2),
        (y: Array) => y.sub(1),
        x,
      );
    assertAllClose(await list(vmap(f)(xs())), await loop(f, xs()));
  });

  it("vmap of cond with an unbatched predicate and a closure over the batched value", async () => {
    const f = (x: Array, p: Array) =>
      lax.cond(
        p,
        () => x.mul(x),
        () => jnp.negative(x),
      );
    for (const p of [true, false]) {
      const pa = jnp.array(p);
      assertAllClose(await list(vmap(f, [0, null])(xs(), pa)), await loop((x) => f(x, pa), xs()));
    }
  });

  it("vmap of switch with batched indices matches a loop", async () => {
    const branches = [(x: Array) => x.add(1), (x: Array) => x.mul(10), (x: Array) => jnp.negative(x)];
    const f = (k: Array, x: Array) => lax.switch(k, branches, x);
    const ks = i32([0, 2, 1, 7]);
    assertAllClose(await list(vmap(f)(ks, xs())), await loop(f, ks, xs()));
  });

  it("vmap of a while loop whose examples finish at different iterations", async () => {
    const f = (x: Array) =>
      lax.whileLoop(
        ([v]: Array[]) => jnp.less(v, 10),
        ([v, k]: Array[]) => [v.mul(2).add(1), k.add(1)],
        [x, i32(0)],
      );
    const x0 = jnp.array([1, 9, 20, 0.5]);
    const [v, k] = vmap(f)(x0);
    const expected = await Promise.all([...x0].map(async (x) => f(x).map(list)));
    assert.deepEqual(await list(k), await Promise.all(expected.map((e) => e[1])));
    assertAllClose(await list(v), await Promise.all(expected.map((e) => e[0])));
  });

  it("vmap of a while loop with an unbatched predicate and a batched carry", async () => {
    const f = (x: Array) =>
      lax.whileLoop(
        ([i]: Array[]) => jnp.less(i, 3),
        ([i, v]: Array[]) => [i.add(1), v.mul(v).add(0.5)],
        [i32(0), x],
      )[1];
    assertAllClose(await list(vmap(f)(xs())), await loop(f, xs()));
  });

  it("vmap of forLoop with batched upper bounds (a while loop) matches a loop", async () => {
    const f = (n: Array, x: Array) =>
      lax.forLoop(i32(0), n, (i: Array, v: Array) => v.add(i.astype("float32")).mul(x), jnp.array(1));
    const ns = i32([0, 3, 1, 4]);
    assertAllClose(await list(vmap(f)(ns, xs())), await loop(f, ns, xs()));
  });

  it("vmap of scan with a batched carry only, and with batched xs only", async () => {
    const step = (c: Array, x: Array) => [c.mul(0.5).add(x), c.mul(x)] as const;
    const seq = jnp.array([1, 2, 3]);
    const byCarry = (c0: Array) => lax.scan(step, c0, seq);
    const [c, ys] = vmap(byCarry)(xs());
    assertAllClose(await list(c), await loop((x) => byCarry(x)[0], xs()));
    assertAllClose(await list(ys), await loop((x) => byCarry(x)[1], xs()));

    const seqs = jnp.array([
      [1, 2, 3],
      [0, -1, 2],
    ]);
    const byXs = (s: Array) => lax.scan(step, jnp.array(1), s);
    const [c2, ys2] = vmap(byXs)(seqs);
    assertAllClose(await list(c2), await loop((s) => byXs(s)[0], seqs));
    assertAllClose(await list(ys2), await loop((s) => byXs(s)[1], seqs));
    // Batched along axis 1 of xs: the same per-example results.
    const [c3] = vmap(byXs, 1)(seqs.T);
    assertAllClose(await list(c3), await list(c2));
  });

  it("vmap of scan whose body closes over the batched value (a batched const)", async () => {
    const seq = jnp.array([1, 2, 3]);
    const f = (w: Array) =>
      lax.scan((c: Array, x: Array) => [c.add(x.mul(w)), c.mul(w)] as const, jnp.array(1), seq);
    const [c, ys] = vmap(f)(xs());
    assertAllClose(await list(c), await loop((w) => f(w)[0], xs()));
    assertAllClose(await list(ys), await loop((w) => f(w)[1], xs()));
  });

  it("vmap of dynamic_slice and dynamic_update_slice with batched starts matches a loop", async () => {
    const m = jnp.arange(12).reshape([3, 4]).astype("float32");
    const starts = i32([0, 3, 1]);
    const ds = (row: Array, s: Array) => lax.dynamicSlice(row, [s], [2]);
    assert.deepEqual(await list(vmap(ds)(m, starts)), await loop(ds, m, starts));
    // Unbatched operand, batched starts on two axes (clamped into bounds as dynamic_slice clamps).
    const ds2 = (s: Array) => lax.dynamicSlice(m, [s, i32(1)], [2, 2]);
    const s2 = i32([0, 2, -1]);
    assert.deepEqual(await list(vmap(ds2)(s2)), await loop(ds2, s2));
    const dus = (row: Array, s: Array) => lax.dynamicUpdateSlice(row, jnp.array([-1, -2]), [s]);
    assert.deepEqual(await list(vmap(dus)(m, starts)), await loop(dus, m, starts));
    // Batched updates too.
    const ups = jnp.array([
      [7, 8],
      [9, 10],
      [11, 12],
    ]);
    const dus2 = (u: Array, s: Array) => lax.dynamicUpdateSlice(jnp.zeros([5]), u, [s]);
    assert.deepEqual(await list(vmap(dus2)(ups, starts)), await loop(dus2, ups, starts));
  });

  it("runs a while loop inside jit between compiled kernels, in order (the loop's results feed the next kernels)", async () => {
    // Newton's iteration for sqrt(a) until converged, then fused elementwise work on the result:
    // the kernels after the loop must wait for it (on WebGPU the loop is a host-driven step).
    const f = jit((a: Array) => {
      const x0 = a.mul(0.5).add(0.5);
      const [, x] = lax.whileLoop(
        ([i]: Array[]) => jnp.less(i, 12),
        ([i, x]: Array[]) => [i.add(1), x.add(a.div(x)).mul(0.5)],
        [jnp.array(0, { dtype: "int32" }), x0],
      );
      return x.mul(x).sub(a).add(1);
    });
    const a = jnp.array([1, 2, 9, 16, 0.25]);
    for (let k = 0; k < 3; k++)
      assertAllClose(await f(a).tolist(), [1, 1, 1, 1, 1], { rtol: 1e-5, atol: 1e-5 });
  });
});

describe("control flow jaxprs", () => {
  const scalar = new ShapeDtypeStruct([]);

  it("cond: the predicate becomes an int32 index; branch 0 is the false branch", () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(x, 0),
        (y: Array) => y.mul(2),
        (y: Array) => y.add(1),
        x,
      );
    assert.equal(
      makeJaxpr(f)(scalar).toString(),
      `{ lambda ; a:f32[]. let
    b:bool[] = gt a 0.0:f32[]
    c:i32[] = convert_element_type[new_dtype=int32 weak_type=False] b
    d:f32[] = cond[branches=({ lambda ; e:f32[]. let
          f:f32[] = add e 1.0:f32[]
        in (f,) }, { lambda ; g:f32[]. let
          h:f32[] = mul g 2.0:f32[]
        in (h,) })] c a
  in (d,) }`,
    );
  });

  it("while: cond_jaxpr, body_jaxpr and their const counts", () => {
    const f = (x: Array) =>
      lax.whileLoop(
        (v: Array) => jnp.less(v, 10),
        (v: Array) => v.mul(2),
        x,
      );
    assert.equal(
      makeJaxpr(f)(scalar).toString(),
      `{ lambda ; a:f32[]. let
    b:f32[] = while[body_jaxpr={ lambda ; c:f32[]. let
          d:f32[] = mul c 2.0:f32[]
        in (d,) } body_nconsts=0 cond_jaxpr={ lambda ; e:f32[]. let
          f:bool[] = lt e 10.0:f32[]
        in (f,) } cond_nconsts=0] a
  in (b,) }`,
    );
  });

  it("scan: consts, carry and xs with JAX's params", () => {
    const f = (c: Array, xs: Array, w: Array) =>
      lax.scan((c: Array, x: Array) => [c.add(x.mul(w)), c] as const, c, xs);
    assert.equal(
      makeJaxpr(f)(scalar, new ShapeDtypeStruct([3]), scalar).toString(),
      `{ lambda ; a:f32[] b:f32[3] c:f32[]. let
    d:f32[] e:f32[3] = scan[_split_transpose=False jaxpr={ lambda ; f:f32[] g:f32[] h:f32[]. let
          i:f32[] = mul h f
          j:f32[] = add g i
        in (j, g) } length=3 linear=(False, False, False) num_carry=1 num_consts=1 reverse=False unroll=1] c a b
  in (d, e) }`,
    );
  });

  it("vmap of cond with a batched predicate becomes select_n of both branches", () => {
    const f = (x: Array) =>
      lax.cond(
        jnp.greater(x, 0),
        (y: Array) => y.mul(2),
        (y: Array) => y.add(1),
        x,
      );
    assert.equal(
      makeJaxpr(vmap(f))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:bool[3] = gt a 0.0:f32[]
    c:i32[3] = convert_element_type[new_dtype=int32 weak_type=False] b
    d:f32[3] = add a 1.0:f32[]
    e:f32[3] = mul a 2.0:f32[]
    f:f32[3] = select_n c d e
  in (f,) }`,
    );
  });

  it("vmap of cond with an unbatched predicate keeps the cond, with batched branches", () => {
    const f = (x: Array, p: Array) =>
      vmap((y: Array) =>
        lax.cond(
          p,
          (z: Array) => z.mul(2),
          (z: Array) => z,
          y,
        ),
      )(x);
    assert.equal(
      makeJaxpr(f)(new ShapeDtypeStruct([3]), new ShapeDtypeStruct([], "bool")).toString(),
      `{ lambda ; a:f32[3] b:bool[]. let
    c:i32[] = convert_element_type[new_dtype=int32 weak_type=False] b
    d:f32[3] = cond[branches=({ lambda ; e:f32[3]. let  in (e,) }, { lambda ; f:f32[3]. let
          g:f32[3] = mul f 2.0:f32[]
        in (g,) })] c a
  in (d,) }`,
    );
  });

  it("vmap of a while loop with a batched predicate loops on reduce_or and selects the carry", () => {
    const f = (x: Array) =>
      lax.whileLoop(
        (v: Array) => jnp.less(v, 10),
        (v: Array) => v.mul(2),
        x,
      );
    assert.equal(
      makeJaxpr(vmap(f))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = while[body_jaxpr={ lambda ; c:f32[3]. let
          d:bool[3] = lt c 10.0:f32[]
          e:f32[3] = mul c 2.0:f32[]
          f:f32[3] = select_n d c e
        in (f,) } body_nconsts=0 cond_jaxpr={ lambda ; g:f32[3]. let
          h:bool[3] = lt g 10.0:f32[]
          i:bool[] = reduce_or[axes=(0,)] h
        in (i,) } cond_nconsts=0] a
  in (b,) }`,
    );
  });
});

describe("control flow errors", () => {
  it("cond branches whose outputs differ", () => {
    assert.throws(
      () =>
        lax.cond(
          true,
          (x: Array) => x,
          (x: Array) => jnp.sum(x),
          jnp.ones([3]),
        ),
      /lax.cond: false_fun and true_fun output must have identical types, got DIFFERENT output: ShapedArray\(float32\[\]\) vs. ShapedArray\(float32\[3\]\)/,
    );
    assert.throws(
      () => lax.cond(true, (x: Array) => [x, x], ((x: Array) => x) as never, jnp.ones([3])),
      /lax.cond: false_fun and true_fun output must have same type structure, got \* and \[\*, \*\]/,
    );
  });

  it("a predicate that is not a scalar", () => {
    assert.throws(
      () =>
        lax.cond(
          jnp.array([true, false]),
          (x: Array) => x,
          (x: Array) => x,
          jnp.ones([2]),
        ),
      /lax.cond: Pred must be a scalar, got ShapedArray\(bool\[2\]\) of shape \(2,\)/,
    );
    assert.throws(
      () =>
        lax.whileLoop(
          (v: Array) => v,
          (v: Array) => v,
          jnp.ones([2]),
        ),
      /lax.whileLoop: cond_fun must return a boolean scalar, but got output type\(s\) \[ShapedArray\(float32\[2\]\)\]/,
    );
  });

  it("a scan body that changes the carry's type", () => {
    assert.throws(
      () => lax.scan((c: Array, x: Array) => [c.add(x), x] as const, jnp.array(0), jnp.ones([3, 2])),
      /the input carry component carry has type float32\[\] but the corresponding output carry component has type float32\[2\], so the shapes do not match/,
    );
    assert.throws(
      () => lax.scan(((c: Array[], x: Array) => [c[0], x]) as never, [jnp.array(0)], jnp.ones([3])),
      /carry input and carry output must have the same pytree structure/,
    );
    assert.throws(
      () => lax.scan((c: Array, x: Array) => [c, x] as const, jnp.array(0), jnp.ones([3]), { length: 4 }),
      /lax.scan got `length` argument of 4 which disagrees with leading axis sizes \[3\]/,
    );
  });
});

describe("WebGPU work queue", () => {
  it("runs work in order, and reports a failed step once on the next drain", async () => {
    const q = new WorkQueue();
    const log: string[] = [];
    q.submit(() => log.push("now"));
    q.push(async () => {
      await new Promise((r) => setTimeout(r, 5));
      log.push("step");
      throw new Error("boom");
    });
    q.submit(() => log.push("after"));
    assert.equal(q.idle, false);
    await assert.rejects(q.drain(), /boom/);
    assert.deepEqual(log, ["now", "step", "after"]);
    await q.drain();
    assert.equal(q.idle, true);
  });
});
