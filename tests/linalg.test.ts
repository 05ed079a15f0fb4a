/**
 * Products and contractions (dot, vdot, inner, outer, tensordot, matmul, einsum, lax.dot_general) on
 * both executors, against plain JS loops and hand-computed cases; errors and exact jaxpr text.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, lax, makeJaxpr, ShapeDtypeStruct, type Array as Arr } from "../engine/index.js";
import { assertAllClose } from "./helpers/allclose.js";
import { describeEachDevice } from "./helpers/devices.js";

type M = number[][];

/** C = A B with a triple loop. */
function matmulRef(a: M, b: M): M {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}
const transposeRef = (a: M): M => a[0].map((_, j) => a.map((row) => row[j]));

const A: M = [
  [1, 2, -1, 0.5],
  [0, 3, 2, -2],
  [4, -1, 1, 1],
];
const B: M = [
  [2, 1],
  [0, -1],
  [1, 3],
  [-2, 0.5],
];
const V = [1, -2, 0.5, 3];
// Batched operands: 2 x (3x4) and 2 x (4x2).
const A3 = [A, A.map((r) => r.map((v) => v * 2 - 1))];
const B3 = [B, B.map((r) => r.map((v) => 1 - v))];

describeEachDevice("linear algebra", () => {
  it("matmul and dot of matrices agree with a triple loop", async () => {
    const expected = matmulRef(A, B);
    assertAllClose(await jnp.matmul(jnp.array(A), jnp.array(B)).tolist(), expected);
    assertAllClose(await jnp.dot(jnp.array(A), jnp.array(B)).tolist(), expected);
    assertAllClose(await jnp.array(A).matmul(jnp.array(B)).tolist(), expected);
    assertAllClose(await jnp.array(A).dot(B).tolist(), expected);
  });

  it("dot of a matrix and a vector, of two vectors, and with a scalar", async () => {
    const av = A.map((row) => row.reduce((s, v, k) => s + v * V[k], 0));
    assertAllClose(await jnp.dot(jnp.array(A), jnp.array(V)).tolist(), av);
    assertAllClose(await jnp.dot(jnp.array(V), jnp.array(V)).item(), 1 + 4 + 0.25 + 9);
    assertAllClose(
      await jnp.dot(2, jnp.array(V)).tolist(),
      V.map((v) => 2 * v),
    );
    // vector . matrix contracts the vector with the matrix's first axis.
    const w = [1, 0, -1];
    assertAllClose(
      await jnp.dot(jnp.array(w), jnp.array(A)).tolist(),
      A[0].map((_, j) => A[0][j] - A[2][j]),
    );
    const ints = jnp.dot(
      jnp.array(
        [
          [1, 2],
          [3, 4],
        ],
        { dtype: "int32" },
      ),
      jnp.array([5, 6], { dtype: "int32" }),
    );
    assert.equal(ints.dtype, "int32");
    assert.deepEqual(await ints.tolist(), [17, 39]);
  });

  it("matmul: 1-D operands are promoted and squeezed, batch dims broadcast", async () => {
    const av = A.map((row) => row.reduce((s, v, k) => s + v * V[k], 0));
    assertAllClose(await jnp.matmul(jnp.array(A), jnp.array(V)).tolist(), av);
    assertAllClose(
      await jnp.matmul(jnp.array([1, 0, -1]), jnp.array(A)).tolist(),
      A[0].map((v, j) => v - A[2][j]),
    );
    assertAllClose(await jnp.matmul(jnp.array(V), jnp.array(V)).item(), 14.25);
    // (2,3,4) @ (2,4,2): per batch.
    const batched = await jnp.matmul(jnp.array(A3), jnp.array(B3)).tolist();
    assertAllClose(batched, [matmulRef(A3[0], B3[0]), matmulRef(A3[1], B3[1])]);
    // (2,3,4) @ (4,2): the matrix broadcasts over the batch.
    assertAllClose(await jnp.matmul(jnp.array(A3), jnp.array(B)).tolist(), [
      matmulRef(A3[0], B),
      matmulRef(A3[1], B),
    ]);
    // (1,3,4) @ (2,4,2): a size-1 batch dim broadcasts.
    assertAllClose(await jnp.matmul(jnp.array([A]), jnp.array(B3)).tolist(), [
      matmulRef(A, B3[0]),
      matmulRef(A, B3[1]),
    ]);
    // (2,3,4) @ (4,): the vector contracts with the last axis of every batch.
    assertAllClose(
      await jnp.matmul(jnp.array(A3), jnp.array(V)).tolist(),
      A3.map((m) => m.map((row) => row.reduce((s, v, k) => s + v * V[k], 0))),
    );
  });

  it("vdot, inner, outer and tensordot against hand-computed values", async () => {
    assertAllClose(
      await jnp
        .vdot(
          jnp.array([
            [1, 2],
            [3, 4],
          ]),
          jnp.array([5, 6, 7, 8]),
        )
        .item(),
      5 + 12 + 21 + 32,
    );
    // inner contracts the last axes: inner(A, B^T) = A B.
    assertAllClose(await jnp.inner(jnp.array(A), jnp.array(transposeRef(B))).tolist(), matmulRef(A, B));
    assertAllClose(await jnp.inner(jnp.array([1, 2, 3]), jnp.array([4, 5, 6])).item(), 32);
    assert.deepEqual(await jnp.outer(jnp.array([1, 2]), jnp.array([[3, 4, 5]])).tolist(), [
      [3, 4, 5],
      [6, 8, 10],
    ]);
    assertAllClose(await jnp.tensordot(jnp.array(A), jnp.array(B), 1).tolist(), matmulRef(A, B));
    assertAllClose(await jnp.tensordot(jnp.array(A), jnp.array(B), [[1], [0]]).tolist(), matmulRef(A, B));
    assertAllClose(
      await jnp.tensordot(jnp.array(A), jnp.array(transposeRef(B)), [1, 1]).tolist(),
      matmulRef(A, B),
    );
    // axes=2 (default): the full contraction sum_ij A_ij A_ij.
    const frob = A.flat().reduce((s, v) => s + v * v, 0);
    assertAllClose(await jnp.tensordot(jnp.array(A), jnp.array(A)).item(), frob);
    // Contract both axes of B3's batches pairwise: out[i, j] = sum_{k,l} A3[i][k][l] * A3[j][k][l].
    const t = await jnp
      .tensordot(jnp.array(A3), jnp.array(A3), [
        [1, 2],
        [1, 2],
      ])
      .tolist();
    const ref = A3.map((x) => A3.map((y) => x.flat().reduce((s, v, q) => s + v * y.flat()[q], 0)));
    assertAllClose(t, ref);
  });

  it("lax.dotGeneral orders result dims batch, lhs free, rhs free", async () => {
    // lhs (2,3,4) batch 0, contract 2; rhs (4,2,5)... use rhs (2,4,2) batch 0, contract 1.
    const out = lax.dotGeneral(jnp.array(A3), jnp.array(B3), [
      [[2], [1]],
      [[0], [0]],
    ]);
    assert.deepEqual(out.shape, [2, 3, 2]);
    assertAllClose(await out.tolist(), [matmulRef(A3[0], B3[0]), matmulRef(A3[1], B3[1])]);
    // Batch dim last on the lhs, first on the rhs: lhs = A3 transposed to (3,4,2).
    const lhs = jnp.transpose(jnp.array(A3), [1, 2, 0]);
    const out2 = lax.dotGeneral(lhs, jnp.array(B3), [
      [[1], [1]],
      [[2], [0]],
    ]);
    assert.deepEqual(out2.shape, [2, 3, 2]);
    assertAllClose(await out2.tolist(), [matmulRef(A3[0], B3[0]), matmulRef(A3[1], B3[1])]);
    // No contraction at all: an outer product (lhs free dims then rhs free dims).
    const o = lax.dotGeneral(jnp.array([1, 2]), jnp.array([3, 4, 5]), [
      [[], []],
      [[], []],
    ]);
    assert.deepEqual(await o.tolist(), [
      [3, 4, 5],
      [6, 8, 10],
    ]);
    assertAllClose(await lax.dot(jnp.array(A), jnp.array(B)).tolist(), matmulRef(A, B));
    const bools = lax.dotGeneral(
      jnp.array([
        [true, false],
        [false, false],
      ]),
      jnp.array([true, true]),
      [
        [[1], [0]],
        [[], []],
      ],
    );
    assert.deepEqual(await bools.tolist(), [true, false]);
  });

  it("einsum: matmul, implicit output, trace, diagonal, transpose, batch, ellipsis, sums", async () => {
    const a = jnp.array(A);
    const b = jnp.array(B);
    const ab = matmulRef(A, B);
    assertAllClose(await jnp.einsum("ij,jk->ik", a, b).tolist(), ab);
    assertAllClose(await jnp.einsum("ij,jk", a, b).tolist(), ab);
    assertAllClose(await jnp.einsum("ij,jk->ki", a, b).tolist(), transposeRef(ab));
    const sq = jnp.array([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 10],
    ]);
    assert.equal(await jnp.einsum("ii->", sq).item(), 16);
    assert.equal(await jnp.einsum("ii", sq).item(), 16);
    assert.deepEqual(await jnp.einsum("ii->i", sq).tolist(), [1, 5, 10]);
    assert.deepEqual(await jnp.einsum("ij->ji", sq).tolist(), transposeRef((await sq.tolist()) as M));
    // Implicit mode sorts the output labels: 'ji' is the transpose.
    assert.deepEqual(await jnp.einsum("ji", sq).tolist(), transposeRef((await sq.tolist()) as M));
    assert.deepEqual(await jnp.einsum("ij->", sq).item(), 46);
    assert.deepEqual(await jnp.einsum("ij->j", sq).tolist(), [12, 15, 19]);
    assertAllClose(await jnp.einsum("i,i->", jnp.array(V), jnp.array(V)).item(), 14.25);
    assert.deepEqual(await jnp.einsum("i,j->ij", jnp.array([1, 2]), jnp.array([3, 4, 5])).tolist(), [
      [3, 4, 5],
      [6, 8, 10],
    ]);
    const batched = [matmulRef(A3[0], B3[0]), matmulRef(A3[1], B3[1])];
    assertAllClose(await jnp.einsum("bij,bjk->bik", jnp.array(A3), jnp.array(B3)).tolist(), batched);
    assertAllClose(await jnp.einsum("...ij,...jk->...ik", jnp.array(A3), jnp.array(B3)).tolist(), batched);
    // An ellipsis broadcasting against no dims: (2,3,4) with (4,2).
    assertAllClose(await jnp.einsum("...ij,jk->...ik", jnp.array(A3), b).tolist(), [
      matmulRef(A3[0], B),
      matmulRef(A3[1], B),
    ]);
    // Three operands: (A B) v' where v' = [1, -1].
    assertAllClose(
      await jnp.einsum("ij,jk,k->i", a, b, jnp.array([1, -1])).tolist(),
      ab.map((r) => r[0] - r[1]),
    );
  });

  it("errors name the function and both shapes", () => {
    const a = jnp.ones([2, 3]);
    const b = jnp.ones([4, 2]);
    assert.throws(
      () => jnp.dot(a, b),
      /jnp\.dot: shapes \(2, 3\) and \(4, 2\) are not aligned: dimension 1 of the first \(size 3\) != dimension 0 of the second \(size 4\)/,
    );
    assert.throws(() => jnp.matmul(a, b), /jnp\.matmul: shapes \(2, 3\) and \(4, 2\) are not aligned/);
    assert.throws(
      () => jnp.matmul(a, 2),
      /jnp\.matmul: operands must be at least 1-D, got shapes \(2, 3\) and \(\)/,
    );
    assert.throws(
      () => jnp.matmul(jnp.ones([2, 2, 3]), jnp.ones([3, 3, 2])),
      /jnp\.matmul \(batch dims of float32\(2, 2, 3\) and float32\(3, 3, 2\)\): shapes \(2,\), \(3,\) cannot be broadcast/,
    );
    assert.throws(
      () => jnp.tensordot(a, b, [[1], [0]]),
      /jnp\.tensordot: shapes \(2, 3\) and \(4, 2\) are not aligned/,
    );
    assert.throws(() => jnp.tensordot(a, b, [[5], [0]]), /jnp\.tensordot: axis 5 is out of bounds/);
    assert.throws(
      () => jnp.vdot(a, b),
      /jnp\.vdot: operands of shapes \(2, 3\) and \(4, 2\) have different sizes/,
    );
    assert.throws(
      () =>
        lax.dotGeneral(a, b, [
          [[1], [0]],
          [[], []],
        ]),
      /dot_general requires contracting dimensions to have the same shape, got \(3,\) and \(4,\) for operands float32\(2, 3\) and float32\(4, 2\)/,
    );
    assert.throws(
      () =>
        lax.dotGeneral(a, b, [
          [[2], [0]],
          [[], []],
        ]),
      /dot_general: lhs contracting dimension 2 is out of bounds for operand float32\(2, 3\)/,
    );
    assert.throws(
      () => jnp.einsum("ij,jk->ik", a, b),
      /jnp\.einsum: label 'j' has size 3 in operand 0 of shape \(2, 3\) but size 4 in operand 1 of shape \(4, 2\)/,
    );
    assert.throws(
      () => jnp.einsum("ij,jk->ik", a),
      /jnp\.einsum: 'ij,jk->ik' names 2 operands but 1 were given/,
    );
    assert.throws(
      () => jnp.einsum("ijk", a),
      /jnp\.einsum: subscripts 'ijk' do not match operand 0 of shape \(2, 3\)/,
    );
    assert.throws(
      () => jnp.einsum("ij->iz", a),
      /jnp\.einsum: output label 'z' does not appear in the inputs/,
    );
  });
});

describeEachDevice("linear algebra jaxprs", () => {
  it("jnp.dot of a matrix and a vector prints one dot_general as JAX does", () => {
    assert.equal(
      makeJaxpr((m: Arr, v: Arr) => jnp.dot(m, v))(
        new ShapeDtypeStruct([3, 4]),
        new ShapeDtypeStruct([4]),
      ).toString(),
      `{ lambda ; a:f32[3,4] b:f32[4]. let
    c:f32[3] = dot_general[dimension_numbers=(([1], [0]), ([], [])) preferred_element_type=float32] a b
  in (c,) }`,
    );
  });

  it("a batched matmul has batch dimension numbers; lax.dotGeneral hides None params", () => {
    assert.equal(
      makeJaxpr((x: Arr, y: Arr) => jnp.matmul(x, y))(
        new ShapeDtypeStruct([2, 3, 4]),
        new ShapeDtypeStruct([2, 4, 5]),
      ).toString(),
      `{ lambda ; a:f32[2,3,4] b:f32[2,4,5]. let
    c:f32[2,3,5] = dot_general[dimension_numbers=(([2], [1]), ([0], [0])) preferred_element_type=float32] a b
  in (c,) }`,
    );
    assert.equal(
      makeJaxpr((x: Arr, y: Arr) =>
        lax.dotGeneral(x, y, [
          [[0], [0]],
          [[], []],
        ]),
      )(new ShapeDtypeStruct([3]), new ShapeDtypeStruct([3])).toString(),
      `{ lambda ; a:f32[3] b:f32[3]. let
    c:f32[] = dot_general[dimension_numbers=(([0], [0]), ([], []))] a b
  in (c,) }`,
    );
  });
});
