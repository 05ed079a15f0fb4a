/** Float32 comparisons with numpy's allclose semantics and messages that show both sides. */
import assert from "node:assert/strict";
import type { NestedList } from "../../engine/core/concrete-array.js";

type Nested = number | boolean | Nested[] | NestedList;

function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [Number(x)];
}

function shapeOf(x: Nested): number[] {
  return Array.isArray(x) ? [x.length, ...(x.length ? shapeOf(x[0]) : [])] : [];
}

export function assertAllClose(actual: Nested, expected: Nested, { rtol = 1e-5, atol = 1e-6 } = {}): void {
  assert.deepEqual(
    shapeOf(actual),
    shapeOf(expected),
    `shape ${shapeOf(actual)} != expected ${shapeOf(expected)}`,
  );
  const a = flat(actual);
  const e = flat(expected);
  a.forEach((v, i) => {
    const ok =
      (Number.isNaN(v) && Number.isNaN(e[i])) ||
      v === e[i] ||
      Math.abs(v - e[i]) <= atol + rtol * Math.abs(e[i]);
    assert.ok(
      ok,
      `element ${i}: ${v} is not close to ${e[i]}\n actual:   ${JSON.stringify(actual)}\n expected: ${JSON.stringify(expected)}`,
    );
  });
}

type Tree = Nested | { [key: string]: Tree } | Tree[];

const isRecord = (x: unknown): x is { [key: string]: Tree } =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const holdsRecord = (x: unknown): boolean => isRecord(x) || (Array.isArray(x) && x.some(holdsRecord));

/** assertAllClose over a pytree of nested lists: objects must have the same keys, leaves be close. */
export function assertTreeClose(actual: unknown, expected: Tree, tolerances = {}, path = "tree"): void {
  if (isRecord(expected)) {
    assert.ok(isRecord(actual), `${path}: expected an object, got ${JSON.stringify(actual)}`);
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${path}: keys differ`);
    for (const k of Object.keys(expected))
      assertTreeClose(actual[k], expected[k], tolerances, `${path}.${k}`);
  } else if (Array.isArray(expected) && holdsRecord(expected)) {
    assert.ok(
      Array.isArray(actual) && actual.length === expected.length,
      `${path}: expected a list of ${expected.length}, got ${JSON.stringify(actual)}`,
    );
    expected.forEach((e, i) => assertTreeClose(actual[i], e, tolerances, `${path}[${i}]`));
  } else {
    assert.ok(!holdsRecord(actual), `${path}: expected arrays, got ${JSON.stringify(actual)}`);
    assertAllClose(actual as Nested, expected as Nested, tolerances);
  }
}
