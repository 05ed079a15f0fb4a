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
