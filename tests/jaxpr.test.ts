/** makeJaxpr prints JAX's text format; expectations are exact text, kept next to each case. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, makeJaxpr, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { evalJaxpr } from "../engine/core/eval-jaxpr.js";

describe("makeJaxpr", () => {
  it("prints sin then mul by a literal, as in JAX's docs", () => {
    const f = (x: Array) => jnp.sin(x).mul(2);
    assert.equal(
      makeJaxpr(f)(new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = mul b 2.0:f32[]
  in (c,) }`,
    );
  });

  it("shows broadcasting and reductions with their params", () => {
    const f = (a: Array, b: Array) => jnp.sum(jnp.add(a, b), { axis: 1 });
    assert.equal(
      makeJaxpr(f)(jnp.ones([2, 3]), jnp.ones([3])).toString(),
      `{ lambda ; a:f32[2,3] b:f32[3]. let
    c:f32[2,3] = broadcast_in_dim[broadcast_dimensions=(1,) shape=(2, 3)] b
    d:f32[2,3] = add a c
    e:f32[2] = reduce_sum[axes=(1,)] d
  in (e,) }`,
    );
  });

  it("hoists a closed-over array as a constvar", () => {
    const w = jnp.array([1, 2, 3]);
    const f = (x: Array) => jnp.mul(x, w);
    assert.equal(
      makeJaxpr(f)(new ShapeDtypeStruct([3])).toString(),
      `{ lambda a:f32[3]; b:f32[3]. let
    c:f32[3] = mul b a
  in (c,) }`,
    );
  });

  it("takes pytrees of arguments and returns several results", () => {
    const f = (p: { w: Array; b: Array }) => [p.w.mul(p.b), jnp.negative(p.b)];
    const s = new ShapeDtypeStruct([2]);
    assert.equal(
      makeJaxpr(f)({ w: s, b: s }).toString(),
      `{ lambda ; a:f32[2] b:f32[2]. let
    c:f32[2] = mul b a
    d:f32[2] = neg a
  in (c, d) }`,
    );
  });

  it("prints float32 literals as their shortest float32 form, as JAX does", () => {
    // gelu's constants: sqrt(2/pi) = 0.7978846 and 0.044715 (JAX prints these digits).
    const text = makeJaxpr((x: Array) => jnp.multiply(jnp.add(x, 0.044715), Math.sqrt(2 / Math.PI)))(
      new ShapeDtypeStruct([2]),
    ).toString();
    assert.match(text, /add a 0\.044715:f32\[\]/);
    assert.match(text, /mul b 0\.7978846:f32\[\]/);
  });

  it("evaluates back to the function's values (evalJaxpr), constants and literals included", async () => {
    const w = jnp.array([1, 2, 3]);
    const f = (x: Array) => jnp.sum(jnp.mul(jnp.sin(x), w).add(2));
    const x = jnp.array([0.5, -1, 2]);
    const closed = makeJaxpr(f)(x);
    const [y] = evalJaxpr(closed.jaxpr, closed.consts, [x]);
    // sum(sin(x) * w + 2), computed by hand in JS
    const expected = [0.5, -1, 2].reduce((s, v, i) => s + Math.sin(v) * (i + 1) + 2, 0);
    assert.ok(Math.abs(((await y.item()) as number) - expected) < 1e-5);
  });

  it("prints an identity function with an empty body", () => {
    assert.equal(
      makeJaxpr((x: Array) => x)(new ShapeDtypeStruct([])).toString(),
      "{ lambda ; a:f32[]. let  in (a,) }",
    );
  });
});
