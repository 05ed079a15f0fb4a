/**
 * makeJaxpr of vmapped functions (issue 4): the batched jaxpr, exact text. Batch dimensions appear in
 * the shapes, dot_general keeps unbatched weights unbatched, and transposes/broadcasts appear only
 * where the batching rules need them (as in JAX; see the README for where our jaxprs differ).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jnp, makeJaxpr, ShapeDtypeStruct, vmap, type Array } from "../engine/index.js";

const spec = (...shape: number[]) => new ShapeDtypeStruct(shape);

describe("makeJaxpr of vmap", () => {
  it("batches an elementwise function by batching its shapes only", () => {
    const f = (x: Array) => jnp.sin(x).mul(2);
    assert.equal(
      makeJaxpr(vmap(f))(spec(5, 3)).toString(),
      `{ lambda ; a:f32[5,3]. let
    b:f32[5,3] = sin a
    c:f32[5,3] = mul b 2.0:f32[]
  in (c,) }`,
    );
  });

  it("keeps a closed-over weight matrix unbatched in a matvec (one dot_general, no copies)", () => {
    const W = jnp.ones([4, 3]);
    const f = (x: Array) => jnp.dot(W, x);
    assert.equal(
      makeJaxpr(vmap(f))(spec(5, 3)).toString(),
      `{ lambda a:f32[4,3]; b:f32[5,3]. let
    c:f32[4,5] = dot_general[dimension_numbers=(([1], [1]), ([], [])) preferred_element_type=float32] a b
    d:f32[5,4] = transpose[permutation=(1, 0)] c
  in (d,) }`,
    );
  });

  it("gives dot_general batch dimensions when both operands are batched", () => {
    const f = (a: Array, b: Array) => jnp.dot(a, b);
    assert.equal(
      makeJaxpr(vmap(f))(spec(5, 2, 3), spec(5, 3)).toString(),
      `{ lambda ; a:f32[5,2,3] b:f32[5,3]. let
    c:f32[5,2] = dot_general[dimension_numbers=(([2], [1]), ([0], [0])) preferred_element_type=float32] a b
  in (c,) }`,
    );
  });

  it("shifts reduction axes past the batch axis (softmax over each example)", () => {
    const softmax = (x: Array) => {
      const e = jnp.exp(x.sub(jnp.max(x)));
      return e.div(jnp.sum(e));
    };
    assert.equal(
      makeJaxpr(vmap(softmax))(spec(5, 3)).toString(),
      `{ lambda ; a:f32[5,3]. let
    b:f32[5] = reduce_max[axes=(1,)] a
    c:f32[5,3] = broadcast_in_dim[broadcast_dimensions=(0,) shape=(5, 3)] b
    d:f32[5,3] = sub a c
    e:f32[5,3] = exp d
    f:f32[5] = reduce_sum[axes=(1,)] e
    g:f32[5,3] = broadcast_in_dim[broadcast_dimensions=(0,) shape=(5, 3)] f
    h:f32[5,3] = div e g
  in (h,) }`,
    );
  });

  it("nests: pairwise distances map one argument per level", () => {
    const dist = (x: Array, y: Array) => {
      const d = x.sub(y);
      return jnp.sqrt(jnp.sum(d.mul(d)));
    };
    const pairwise = vmap(vmap(dist, [null, 0]), [0, null]);
    assert.equal(
      makeJaxpr(pairwise)(spec(4, 3), spec(6, 3)).toString(),
      `{ lambda ; a:f32[4,3] b:f32[6,3]. let
    c:f32[4,6,3] = broadcast_in_dim[broadcast_dimensions=(0, 2) shape=(4, 6, 3)] a
    d:f32[4,6,3] = broadcast_in_dim[broadcast_dimensions=(1, 2) shape=(4, 6, 3)] b
    e:f32[4,6,3] = sub c d
    f:f32[4,6,3] = mul e e
    g:f32[4,6] = reduce_sum[axes=(2,)] f
    h:f32[4,6] = sqrt g
  in (h,) }`,
    );
  });

  it("maps inAxes 1 to outAxes 1 with a transpose only where cumsum needs its axis", () => {
    assert.equal(
      makeJaxpr(vmap((x: Array) => jnp.cumsum(x), { inAxes: 1, outAxes: 1 }))(spec(3, 5)).toString(),
      `{ lambda ; a:f32[3,5]. let
    b:f32[5,3] = transpose[permutation=(1, 0)] a
    c:f32[5,3] = cumsum[axis=1 reverse=False] b
    d:f32[3,5] = transpose[permutation=(1, 0)] c
  in (d,) }`,
    );
  });

  it("keeps elementwise work at inAxes 1 without any transpose", () => {
    assert.equal(
      makeJaxpr(vmap((x: Array) => jnp.exp(x), { inAxes: 1, outAxes: 1 }))(spec(3, 5)).toString(),
      `{ lambda ; a:f32[3,5]. let
    b:f32[3,5] = exp a
  in (b,) }`,
    );
  });
});
