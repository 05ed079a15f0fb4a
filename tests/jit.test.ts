/**
 * jit: the jitted function gives what the function gives, traces once per signature, and its pjit
 * equation composes with vmap and makeJaxpr (batched inner jaxprs, nested jits, closures over outer
 * transforms' tracers). References are the un-jitted functions, plain JS loops and hand values.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { devices, jit, jnp, makeJaxpr, ShapeDtypeStruct, vmap, type Array } from "../engine/index.js";
import { ConcreteArray } from "../engine/core/concrete-array.js";
import { parameterNames } from "../engine/transforms/parameter-names.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

type Nested = number | boolean | Nested[];

const W = () =>
  jnp.array([
    [1, -2, 0.5],
    [0.25, 3, -1],
  ]);
const xs = () =>
  jnp.array([
    [1, 0, 2],
    [0, 1, -1],
    [0.5, 0.5, 0.5],
    [2, -1, 0],
  ]);

describeEachDevice("jit", () => {
  it("gives the function's values: elementwise, matmul+tanh, reductions", async () => {
    const x = jnp.array([0.5, -1, 2]);
    const elementwise = (a: Array) => jnp.add(jnp.sin(a).mul(2), jnp.exp(a.mul(-1)));
    assertAllClose(await jit(elementwise)(x).tolist(), await elementwise(x).tolist());
    // Hand-computed: 2 sin(0.5) + exp(-0.5) = 1.5653...
    assertAllClose(((await jit(elementwise)(x).tolist()) as number[])[0], 2 * Math.sin(0.5) + Math.exp(-0.5));

    const w = W();
    const layer = (v: Array) => jnp.tanh(jnp.matmul(w, v));
    const expected = [Math.tanh(0.5 + 2 + 1), Math.tanh(0.25 * 0.5 - 3 - 2)];
    assertAllClose(await jit(layer)(x).tolist(), expected);

    const m = xs();
    const reductions = (a: Array) => [jnp.sum(a, 1), jnp.max(a, 0), jnp.sum(a)];
    const got = jit(reductions)(m);
    const want = reductions(m);
    for (let i = 0; i < 3; i++) assertAllClose(await got[i].tolist(), await want[i].tolist());
    assertAllClose(await got[0].tolist(), [3, 0, 1.5, 1]);
  });

  it("takes and returns pytrees (objects with sorted keys, arrays, null)", async () => {
    const f = (p: { w: Array; b: Array }, [x, y]: Array[]) => ({
      out: jnp.add(jnp.matmul(p.w, x), p.b),
      rest: [y.mul(2), null],
    });
    const p = { w: W(), b: jnp.array([10, 20]) };
    const args = [jnp.array([1, 1, 1]), jnp.array([3])];
    const r = jit(f)(p, args);
    assert.equal(r.rest[1], null);
    assertAllClose(await r.out.tolist(), [10 + 1 - 2 + 0.5, 20 + 0.25 + 3 - 1]);
    assertAllClose(await (r.rest[0] as Array).tolist(), [6]);
  });

  it("takes JS numbers as weakly typed scalars and returns scalars", async () => {
    const f = (a: Array, s: Array) => jnp.multiply(a, s).add(1);
    const jf = jit(f);
    const r = jf(jnp.array([1, 2]), 3 as unknown as Array);
    assert.equal(r.dtype, "float32");
    assertAllClose(await r.tolist(), [4, 7]);
    const scalar = jit((a: Array) => jnp.sum(a))(jnp.array([1.5, 2.5]));
    assert.deepEqual(scalar.shape, []);
    assert.equal(await scalar.item(), 4);
    // Another number is the same signature (a weak f32[]): no new trace.
    jf(jnp.array([1, 2]), 5 as unknown as Array);
    assert.equal(jf.traceCount, 1);
  });

  it("traces once per signature: shape, dtype, tree structure", () => {
    let traces = 0;
    const jf = jit((a: Array | Array[]) => {
      traces++; // A side effect: runs while tracing only, as in JAX.
      return globalThis.Array.isArray(a) ? a[0].mul(2) : (a as Array).mul(2);
    });
    jf(jnp.array([1, 2, 3]));
    jf(jnp.array([4, 5, 6]));
    assert.equal(jf.traceCount, 1);
    assert.equal(jf.cacheSize(), 1);
    jf(jnp.array([1, 2])); // new shape
    assert.equal(jf.traceCount, 2);
    jf(jnp.array([1, 2], { dtype: "int32" })); // new dtype
    assert.equal(jf.traceCount, 3);
    jf([jnp.array([1, 2])]); // new tree structure
    assert.equal(jf.traceCount, 4);
    jf(jnp.array([7, 8, 9]));
    jf([jnp.array([3, 4])]);
    assert.equal(jf.traceCount, 4);
    assert.equal(jf.cacheSize(), 4);
    assert.equal(traces, 4);
    jf.clearCache();
    assert.equal(jf.cacheSize(), 0);
  });

  it("static arguments: JS values seen by the function, a new value retraces", async () => {
    const power = (x: Array, n: number) => {
      let y = x;
      for (let i = 1; i < n; i++) y = y.mul(x); // Python-style loop on a static value
      return y;
    };
    const byNum = jit(power, { staticArgnums: 1 });
    const x = jnp.array([2, 3]);
    assertAllClose(await byNum(x, 3).tolist(), [8, 27]);
    assertAllClose(await byNum(x, 3).tolist(), [8, 27]);
    assert.equal(byNum.traceCount, 1);
    assertAllClose(await byNum(x, 2).tolist(), [4, 9]);
    assert.equal(byNum.traceCount, 2);
    // Negative positions count from the end; names map to the parameter's position.
    assertAllClose(await jit(power, { staticArgnums: -1 })(x, 2).tolist(), [4, 9]);
    const byName = jit(power, { staticArgnames: "n" });
    assertAllClose(await byName(x, 4).tolist(), [16, 81]);
    assert.match(makeJaxpr((a: Array) => byName(a, 2))(x).toString(), /mul b b|mul c c/);
    // Structured static values are keyed by content.
    const cfg = jit((a: Array, c: { scale: number; shift: number[] }) => a.mul(c.scale).add(c.shift[0]), {
      staticArgnums: [1],
    });
    assertAllClose(await cfg(x, { scale: 2, shift: [1] }).tolist(), [5, 7]);
    assertAllClose(await cfg(x, { shift: [1], scale: 2 }).tolist(), [5, 7]);
    assert.equal(cfg.traceCount, 1);
  });

  it("rejects an array as a static argument, naming it; and bad option values", () => {
    const f = (x: Array, n: number) => x.mul(n);
    const jf = jit(f, { staticArgnames: ["n"] });
    assert.throws(
      () => jf(jnp.array([1]), jnp.array([2]) as unknown as number),
      /jit\(f\): static argument 1 \('n'\) is an array \(f32\[1\]\)/,
    );
    assert.throws(() => jit(f, { staticArgnames: "m" }), /staticArgnames names 'm'.*\(x, n\)/);
    assert.throws(
      () => jit(f)(jnp.array([1]), "two" as unknown as number),
      /jit\(f\): argument 1 of type string is not a valid array argument/,
    );
    assert.throws(() => jit(f, { staticArgnums: 1, donateArgnums: 1 }), /cannot be donated/);
  });

  it("prints a pjit equation holding the traced jaxpr", () => {
    const f = (x: Array) => jnp.sin(x).mul(2);
    assert.equal(
      makeJaxpr(jit(f))(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = pjit[jaxpr={ lambda ; c:f32[3]. let
          d:f32[3] = sin c
          e:f32[3] = mul d 2.0:f32[]
        in (e,) } name=f] a
  in (b,) }`,
    );
  });

  it("vmap(jit(f)) batches the inner jaxpr and equals a per-example loop", async () => {
    const w = W();
    const f = (x: Array) => jnp.tanh(jnp.matmul(w, x));
    const jf = jit(f);
    const batched = vmap(jf);
    const loop: Nested[] = [];
    for (const x of xs()) loop.push((await f(x).tolist()) as Nested);
    assertAllClose(await batched(xs()).tolist(), loop);
    // Called again, vmap(jit(f)) reuses the trace (per-example signature) and the batched jaxpr.
    assertAllClose(await batched(xs()).tolist(), loop);
    assert.equal(jf.traceCount, 1);
    // The batched inner jaxpr contracts the closed-over weight with the whole batch; the result's
    // batch axis comes out second and vmap moves it to the front outside.
    assert.equal(
      makeJaxpr(vmap(jit(f)))(new ShapeDtypeStruct([4, 3])).toString(),
      `{ lambda ; a:f32[4,3]. let
    b:f32[2,4] = pjit[jaxpr={ lambda c:f32[2,3]; d:f32[4,3]. let
          e:f32[2,4] = dot_general[dimension_numbers=(([1], [1]), ([], [])) preferred_element_type=float32] c d
          f:f32[2,4] = tanh e
        in (f,) } name=f] a
    g:f32[4,2] = transpose[permutation=(1, 0)] b
  in (g,) }`,
    );
  });

  it("jit(vmap(f)) equals vmap(f), and nested jits print as nested pjit equations", async () => {
    const w = W();
    const f = (x: Array) => jnp.tanh(jnp.matmul(w, x));
    assertAllClose(await jit(vmap(f))(xs()).tolist(), await vmap(f)(xs()).tolist());

    const inner = (y: Array, z: Array) => y.add(z);
    const outer = (x: Array) => jit(inner)(x.mul(2), x);
    assertAllClose(await jit(outer)(jnp.array([1, 2])).tolist(), [3, 6]);
    assert.equal(
      makeJaxpr(jit(outer))(new ShapeDtypeStruct([2])).toString(),
      `{ lambda ; a:f32[2]. let
    b:f32[2] = pjit[jaxpr={ lambda ; c:f32[2]. let
          d:f32[2] = mul c 2.0:f32[]
          e:f32[2] = pjit[jaxpr={ lambda ; f:f32[2] g:f32[2]. let
                h:f32[2] = add f g
              in (h,) } name=inner] d c
        in (e,) } name=outer] a
  in (b,) }`,
    );
  });

  it("closes over a vmap tracer: it becomes a leading operand of the pjit equation", async () => {
    const y0 = jnp.array([1, 2, 3]);
    const g = (x: Array) => jit((y: Array) => y.mul(x))(y0);
    assertAllClose(await vmap(g)(jnp.array([1, 10])).tolist(), [
      [1, 2, 3],
      [10, 20, 30],
    ]);
    assert.equal(
      makeJaxpr(g)(new ShapeDtypeStruct([])).toString(),
      `{ lambda a:f32[3]; b:f32[]. let
    c:f32[3] = pjit[jaxpr={ lambda ; d:f32[] e:f32[3]. let
          f:f32[3] = mul e d
        in (f,) } name=<lambda>] b a
  in (c,) }`,
    );
    // An inner jit closing over the outer jit's tracer.
    const outer = jit((x: Array) => jit((y: Array) => y.sub(x))(x.mul(3)));
    assertAllClose(await outer(jnp.array([1, 2])).tolist(), [2, 4]);
    // vmap of a jit closing over the vmap's tracer inside a jitted function.
    const h = jit(vmap((x: Array) => jit((y: Array) => jnp.sum(y.mul(x)))(y0)));
    assertAllClose(await h(jnp.array([1, -1, 2])).tolist(), [6, -6, 12]);
  });

  it("returns an input unchanged, and runs constant-only functions", async () => {
    const x = jnp.array([1, 2, 3]);
    const same = jit((a: Array) => a);
    assert.equal(
      makeJaxpr(same)(x).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = pjit[jaxpr={ lambda ; c:f32[3]. let  in (c,) } name=<lambda>] a
  in (b,) }`,
    );
    assertAllClose(await same(x).tolist(), [1, 2, 3]);
    const w = W();
    assertAllClose(await jit(() => w)().tolist(), await w.tolist());
    assertAllClose(await jit(() => jnp.ones([2]).mul(3))().tolist(), [3, 3]);
    const two = jit(() => 2)();
    assert.equal(await (two as unknown as Array).item(), 2);
  });

  it("runs on the operands' device; closed-over CPU arrays are copied there once", async () => {
    const cpu = devices().find((d) => d.kind === "cpu")!;
    const w = jnp.array([1, 2, 3], { device: cpu });
    const f = jit((x: Array) => x.mul(w));
    const x = jnp.array([2, 2, 2]);
    const y = f(x);
    assert.equal((y as ConcreteArray).device, (x as ConcreteArray).device);
    assertAllClose(await y.tolist(), [2, 4, 6]);
    assertAllClose(await f(jnp.array([1, 0, -1])).tolist(), [1, 0, -3]);
    assert.equal(f.traceCount, 1);
  });

  it("donated arrays are disposed after the call, unless returned", async () => {
    const f = jit((a: Array, b: Array) => [a.add(b), b], { donateArgnums: [0, 1] });
    const a = jnp.array([1, 2]);
    const b = jnp.array([3, 4]);
    const [s, same] = f(a, b);
    assertAllClose(await s.tolist(), [4, 6]);
    assert.equal((a as ConcreteArray).isDisposed, true);
    assert.equal(same, b);
    assert.equal((b as ConcreteArray).isDisposed, false);
    await assert.rejects(a.data(), /was disposed/);
  });
});

describe("parameterNames (what staticArgnames maps to positions)", () => {
  it("reads arrow functions, functions, defaults, rest and destructured parameters", () => {
    assert.deepEqual(
      parameterNames((x: number) => x),
      ["x"],
    );
    assert.deepEqual(
      parameterNames(function f(a: number, b: number = Math.max(1, 2), ...rest: number[]) {
        return a + b + rest.length;
      }),
      ["a", "b", "rest"],
    );
    assert.deepEqual(
      parameterNames(({ w }: { w: number }, [y]: number[], s: string = "a,(b") => w + y + s),
      [null, null, "s"],
    );
    assert.deepEqual(
      parameterNames(() => 1),
      [],
    );
  });
});
