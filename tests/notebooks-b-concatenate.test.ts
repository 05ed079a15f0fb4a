/**
 * Concatenating more operands than a WebGPU shader may bind (16 storage buffers on lavapipe):
 * `jnp.stack` of a loop's results, as the tutorials do. The eager WebGPU executor concatenates
 * groups of operands, then the groups; values checked against a JS loop, on both executors.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jit, jnp } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";

const rows = (n: number) => Array.from({ length: n }, (_, i) => [i, 10 * i + 0.5, -i]);

describeEachDevice("concatenate with many operands", () => {
  it("stacks 40 rows (more than a shader's bindings) in order", async () => {
    const expected = rows(40);
    const stacked = jnp.stack(expected.map((r) => jnp.array(r)));
    assert.deepEqual(stacked.shape, [40, 3]);
    assert.deepEqual(await stacked.tolist(), expected);
  });

  it("concatenates 33 pieces of different lengths along axis 1", async () => {
    const pieces = Array.from({ length: 33 }, (_, k) => rows(2).map((r) => r.slice(0, 1 + (k % 3))));
    const expected = [0, 1].map((i) => pieces.flatMap((p) => p[i]));
    const out = jnp.concatenate(
      pieces.map((p) => jnp.array(p)),
      1,
    );
    assert.deepEqual(await out.tolist(), expected);
  });

  it("under jit too", async () => {
    const expected = rows(20);
    const f = jit((...xs: ReturnType<typeof jnp.array>[]) => jnp.stack(xs));
    assert.deepEqual(await f(...expected.map((r) => jnp.array(r))).tolist(), expected);
  });
});
