/**
 * Dtype promotion and broadcasting: jnp results against JAX's promotion lattice restricted to our
 * dtypes (jnp.promote_types with weak Python scalars; int32 with uint32 gives int32 here, as JAX does
 * without x64), and numpy's broadcasting rules.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp, type Array, type DType } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";

type Operand = DType | "int" | "float" | "boolean";
const STRONG: DType[] = ["bool", "int32", "uint32", "float32"];
const WEAK: Operand[] = ["int", "float", "boolean"];

/** JAX's result (dtype, weak_type) for each pair, written out by hand from the lattice. */
const TABLE: Record<string, [DType, boolean]> = {
  "bool+bool": ["bool", false],
  "bool+int32": ["int32", false],
  "bool+uint32": ["uint32", false],
  "bool+float32": ["float32", false],
  "int32+int32": ["int32", false],
  "int32+uint32": ["int32", false], // JAX: int64, which becomes int32 without x64
  "int32+float32": ["float32", false],
  "uint32+uint32": ["uint32", false],
  "uint32+float32": ["float32", false],
  "float32+float32": ["float32", false],
  // an array with a weak JS scalar: 3 is a Python int, 0.5 a Python float, true a (strong) bool
  "bool+int": ["int32", true],
  "bool+float": ["float32", true],
  "bool+boolean": ["bool", false],
  "int32+int": ["int32", false],
  "int32+float": ["float32", true],
  "int32+boolean": ["int32", false],
  "uint32+int": ["uint32", false],
  "uint32+float": ["float32", true],
  "uint32+boolean": ["uint32", false],
  "float32+int": ["float32", false],
  "float32+float": ["float32", false],
  "float32+boolean": ["float32", false],
  // two scalars
  "int+int": ["int32", true],
  "int+float": ["float32", true],
  "float+float": ["float32", true],
  "boolean+int": ["int32", true],
  "boolean+float": ["float32", true],
  "boolean+boolean": ["bool", false],
};

function operand(k: Operand): Array | number | boolean {
  if (k === "int") return 3;
  if (k === "float") return 0.5;
  if (k === "boolean") return true;
  return jnp.array([1, 0], { dtype: k });
}

function expected(a: Operand, b: Operand): [DType, boolean] {
  const e = TABLE[`${a}+${b}`] ?? TABLE[`${b}+${a}`];
  assert.ok(e, `no table entry for ${a}+${b}`);
  return e;
}

describeEachDevice("dtype promotion", () => {
  const all: Operand[] = [...STRONG, ...WEAK];
  it("jnp.add follows JAX's lattice for every pair, in both orders", () => {
    for (const a of all) {
      for (const b of all) {
        const r = jnp.add(operand(a), operand(b));
        const [dtype, weak] = expected(a, b);
        assert.equal(r.dtype, dtype, `${a} + ${b}: dtype ${r.dtype}, JAX gives ${dtype}`);
        assert.equal(r.weakType, weak, `${a} + ${b}: weak_type ${r.weakType}, JAX gives ${weak}`);
      }
    }
  });

  it("the weak flag carries on: (bool array + 3) + uint32 array is uint32", () => {
    const w = jnp.add(jnp.array([true, false]), 3);
    assert.equal(jnp.add(w, jnp.array([1, 2], { dtype: "uint32" })).dtype, "uint32");
    // while a strong int32 with uint32 gives int32
    assert.equal(
      jnp.add(jnp.array([1, 2], { dtype: "int32" }), jnp.array([1, 2], { dtype: "uint32" })).dtype,
      "int32",
    );
  });

  it("comparisons promote first and give bool; values are compared in the promoted dtype", async () => {
    const i = jnp.array([1, 2, 3], { dtype: "int32" });
    assert.deepEqual(await jnp.less(i, 2.5).tolist(), [true, true, false]);
    assert.deepEqual(await jnp.equal(i, jnp.array([1, 2.5, 3])).tolist(), [true, false, true]);
    assert.equal(jnp.equal(i, 1).dtype, "bool");
  });

  it("inexact functions promote ints and bools to float32, keeping weakness", () => {
    assert.equal(jnp.sin(jnp.array([1], { dtype: "int32" })).dtype, "float32");
    assert.equal(jnp.exp2(jnp.array([true])).dtype, "float32");
    assert.equal(jnp.arctan2(jnp.array([1], { dtype: "uint32" }), 1).dtype, "float32");
    assert.equal(jnp.sqrt(4).weakType, true);
  });
});

describeEachDevice("broadcasting", () => {
  const cases: [number[], number[], number[]][] = [
    [[3], [], [3]],
    [[2, 3], [3], [2, 3]],
    [
      [2, 1],
      [1, 3],
      [2, 3],
    ],
    [
      [4, 1, 3],
      [2, 1],
      [4, 2, 3],
    ],
    [[1], [5], [5]],
    [[0], [1], [0]],
    [
      [2, 1],
      [3, 1, 4],
      [3, 2, 4],
    ],
  ];
  it("gives numpy's result shapes, in both orders", () => {
    for (const [a, b, out] of cases) {
      assert.deepEqual(jnp.add(jnp.zeros(a), jnp.ones(b)).shape, out, `(${a}) + (${b})`);
      assert.deepEqual(jnp.multiply(jnp.ones(b), jnp.zeros(a)).shape, out, `(${b}) * (${a})`);
    }
  });

  it("broadcasts values: a column plus a row is the outer sum", async () => {
    const col = jnp.array([[10], [20]]);
    const row = jnp.array([[1, 2, 3]]);
    assert.deepEqual(await jnp.add(col, row).tolist(), [
      [11, 12, 13],
      [21, 22, 23],
    ]);
    assert.deepEqual(await jnp.where(jnp.array([true, false, true]), col, 0).tolist(), [
      [10, 0, 10],
      [20, 0, 20],
    ]);
  });

  it("refuses incompatible shapes, naming the function and the shapes", () => {
    assert.throws(
      () => jnp.add(jnp.zeros([2, 3]), jnp.zeros([2])),
      /jnp\.add: shapes \(2, 3\), \(2,\) cannot be broadcast together \(dimension 2 vs 3\)/,
    );
    assert.throws(
      () => jnp.arctan2(jnp.zeros([3]), jnp.zeros([4])),
      /jnp\.arctan2: shapes \(3,\), \(4,\) cannot be broadcast/,
    );
    assert.throws(() => jnp.logicalAnd(jnp.zeros([2, 2]), jnp.zeros([3])), /jnp\.logicalAnd: shapes/);
  });
});
