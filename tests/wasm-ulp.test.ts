/**
 * Accuracy of the wasm executor's vectorised float32 transcendentals: max ULP error against
 * `Math.*` (computed in doubles, rounded to float32) over each function's domain, swept by bit
 * pattern so that every binade is covered. The table is printed; the bounds are asserted.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { Primitive } from "../engine/core/primitive.js";
import { measureUlp, sweep, ulpDistance, type UlpRow } from "./helpers/ulp.js";

const device = new WasmDevice("wasm:ulp", 1);
after(() => device.releaseWorkers());

const N = 400_001;
const logistic = (x: number) => 1 / (1 + Math.exp(-x));
/** [primitive, reference, domain lo, hi, max ULP allowed]. */
const CASES: [Primitive, (x: number) => number, number, number, number][] = [
  [Primitive.Exp, Math.exp, -87.3, 88.7, 2],
  [Primitive.Exp, Math.exp, -103.9, -87.3, 2],
  [Primitive.Log, Math.log, 1e-45, 3.4e38, 2],
  [Primitive.Sin, Math.sin, -Math.PI, Math.PI, 2],
  [Primitive.Sin, Math.sin, -8192, 8192, 2],
  [Primitive.Cos, Math.cos, -Math.PI, Math.PI, 2],
  [Primitive.Sin, Math.sin, -1e6, 1e6, 2],
  [Primitive.Cos, Math.cos, -1e6, 1e6, 2],
  [Primitive.Tanh, Math.tanh, -20, 20, 2],
  [Primitive.Logistic, logistic, -100, 100, 2],
  [Primitive.Sqrt, Math.sqrt, 0, 3.4e38, 0],
  [Primitive.Rsqrt, (x) => 1 / Math.sqrt(x), 1e-38, 3.4e38, 1],
];

describe("wasm transcendentals: max ULP against Math.*", () => {
  it("ulpDistance counts float32 steps, across zero too", () => {
    assert.equal(ulpDistance(1, Math.fround(1 + 2 ** -23)), 1);
    assert.equal(ulpDistance(-0, 0), 0);
    assert.equal(ulpDistance(1e-45, -1e-45), 2);
    assert.equal(ulpDistance(NaN, NaN), 0);
    assert.equal(ulpDistance(NaN, 1), Infinity);
  });

  const rows: UlpRow[] = [];
  for (const [prim, ref, lo, hi, bound] of CASES) {
    it(`${prim} on [${lo}, ${hi}] within ${bound} ULP`, () => {
      const row = measureUlp(device, prim, ref, sweep(lo, hi, N), `[${lo}, ${hi}]`);
      rows.push(row);
      assert.ok(row.maxUlp <= bound, `${prim}: ${row.maxUlp} ULP at x = ${row.worstInput}`);
    });
  }
  it("prints the table", () => {
    console.log(
      ["| function | domain | points | max ULP | worst x |", "|---|---|---:|---:|---:|"]
        .concat(rows.map((r) => `| ${r.fn} | ${r.domain} | ${r.points} | ${r.maxUlp} | ${r.worstInput} |`))
        .join("\n"),
    );
    assert.equal(rows.length, CASES.length);
  });
});
