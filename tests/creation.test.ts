/** Array creation: tri, tril, triu (also inside transforms), empty, fullLike, and the seed's ones. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

const M = [
  [1, 2, 3, 4],
  [5, 6, 7, 8],
  [9, 10, 11, 12],
];

describeEachDevice("creation", () => {
  it("tri puts ones at and below the k-th diagonal", async () => {
    const t = jnp.tri(3);
    assert.equal(t.dtype, "float32");
    assert.deepEqual(await t.tolist(), [
      [1, 0, 0],
      [1, 1, 0],
      [1, 1, 1],
    ]);
    assert.deepEqual(await jnp.tri(3, 4, { k: 1 }).tolist(), [
      [1, 1, 0, 0],
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    const low = jnp.tri(3, 4, { k: -1, dtype: "int32" });
    assert.equal(low.dtype, "int32");
    assert.deepEqual(await low.tolist(), [
      [0, 0, 0, 0],
      [1, 0, 0, 0],
      [1, 1, 0, 0],
    ]);
  });

  it("tril and triu keep one triangle of the last two axes", async () => {
    const x = jnp.array(M);
    assert.deepEqual(await jnp.tril(x).tolist(), [
      [1, 0, 0, 0],
      [5, 6, 0, 0],
      [9, 10, 11, 0],
    ]);
    assert.deepEqual(await jnp.tril(x, { k: -1 }).tolist(), [
      [0, 0, 0, 0],
      [5, 0, 0, 0],
      [9, 10, 0, 0],
    ]);
    assert.deepEqual(await jnp.triu(x).tolist(), [
      [1, 2, 3, 4],
      [0, 6, 7, 8],
      [0, 0, 11, 12],
    ]);
    assert.deepEqual(await jnp.triu(x, 1).tolist(), [
      [0, 2, 3, 4],
      [0, 0, 7, 8],
      [0, 0, 0, 12],
    ]);
    // tril + triu(k=1) rebuilds the matrix.
    assertAllClose(await jnp.add(jnp.tril(x), jnp.triu(x, 1)).tolist(), M);
  });

  it("tril works batch-wise and on int32", async () => {
    const x = jnp.array(
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      { dtype: "int32" },
    );
    const y = jnp.tril(x);
    assert.equal(y.dtype, "int32");
    assert.deepEqual(await y.tolist(), [
      [
        [1, 0],
        [3, 4],
      ],
      [
        [5, 0],
        [7, 8],
      ],
    ]);
  });

  it("empty is zeros (as in JAX); fullLike and the seed's creators still work", async () => {
    assert.deepEqual(await jnp.empty([2, 2]).tolist(), [
      [0, 0],
      [0, 0],
    ]);
    const i = jnp.array([1, 2, 3], { dtype: "int32" });
    const e = jnp.emptyLike(i);
    assert.equal(e.dtype, "int32");
    assert.deepEqual(await e.tolist(), [0, 0, 0]);
    const f = jnp.fullLike(i, 7);
    assert.equal(f.dtype, "int32");
    assert.deepEqual(await f.tolist(), [7, 7, 7]);
    assert.deepEqual(await jnp.fullLike(i, 2.5, { dtype: "float32" }).tolist(), [2.5, 2.5, 2.5]);
    assert.deepEqual(await jnp.eye(2, 3, { k: 1 }).tolist(), [
      [0, 1, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(await jnp.arange(3).tolist(), [0, 1, 2]);
    assert.deepEqual(await jnp.zeros(2).tolist(), [0, 0]);
    assert.deepEqual(await lax.iota("int32", 4).tolist(), [0, 1, 2, 3]);
    assert.deepEqual(await lax.broadcastedIota("float32", [2, 2], 0).tolist(), [
      [0, 0],
      [1, 1],
    ]);
  });

  it("rejects bad input with errors naming the function", () => {
    assert.throws(
      () => jnp.tril(jnp.ones([3])),
      /jnp\.tril: the argument must be at least 2-D, got shape \(3,\)/,
    );
    assert.throws(() => jnp.triu(jnp.array(1)), /jnp\.triu: the argument must be at least 2-D/);
    assert.throws(() => jnp.tri(-1), /jnp\.tri: N must be a non-negative integer, got -1/);
    assert.throws(() => jnp.tri(2, 2, { k: 0.5 }), /jnp\.tri: k must be an integer/);
  });

  it("traces tril as JAX's lax._tri and select_n", () => {
    // JAX's jnp.tril body (inside its pjit[name=tril]); JAX also prints sharding=None on
    // broadcast_in_dim and convert_element_type, which our params do not carry.
    assert.equal(
      makeJaxpr((x: Array) => jnp.tril(x))(new ShapeDtypeStruct([3, 3])).toString(),
      `{ lambda ; a:f32[3,3]. let
    b:i32[3,3] = iota[dimension=0 dtype=int32 shape=(3, 3) sharding=None]
    c:i32[3,3] = add b 0:i32[]
    d:i32[3,3] = iota[dimension=1 dtype=int32 shape=(3, 3) sharding=None]
    e:bool[3,3] = ge c d
    f:bool[3,3] = convert_element_type[new_dtype=bool weak_type=False] e
    g:f32[3,3] = broadcast_in_dim[broadcast_dimensions=() shape=(3, 3)] 0.0:f32[]
    h:f32[3,3] = select_n f g a
  in (h,) }`,
    );
  });
});
