/**
 * A concatenate of more operands than a WebGPU shader stage can bind (a `jnp.stack` over a
 * per-example loop of 512 results) runs in chunks on WebGPU and gives the plain JS result.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { jnp } from "../engine/index.js";
import { describeEachDevice } from "./helpers/devices.js";

describeEachDevice("concatenate of many operands", () => {
  it("stacks 40 rows and concatenates 40 columns in order", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => jnp.array([i, 10 * i, -i]));
    const stacked = jnp.stack(rows);
    assert.deepEqual(stacked.shape, [40, 3]);
    assert.deepEqual(
      Array.from(await stacked.data()),
      Array.from({ length: 40 }, (_, i) => [i, 10 * i, -i]).flat(),
    );
    const cols = Array.from({ length: 40 }, (_, i) => jnp.full([2, 1], i, { dtype: "int32" }));
    const wide = jnp.concatenate(cols, 1);
    assert.deepEqual(wide.shape, [2, 40]);
    const want = Array.from({ length: 40 }, (_, i) => i);
    assert.deepEqual(Array.from(await wide.data()), [...want, ...want]);
  });
});
