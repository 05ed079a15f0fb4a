/** select_n(which, *cases): picks cases[which] elementwise (false → cases[0], true → cases[1]). */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray } from "../dtype.js";
import { shapeEqual } from "../shape.js";
import { at } from "../backend/webgpu/wgsl.js";
import { describe } from "./checks.js";
import type { PrimitiveRules } from "./rules.js";

export const selectNRules: PrimitiveRules<Primitive.SelectN> = {
  abstractEval: (avals) => {
    const [pred, ...cases] = avals;
    if (cases.length === 0) throw new TypeError("select_n needs at least one case");
    if (pred.dtype !== "bool" && pred.dtype !== "int32") {
      throw new TypeError(`select_n: the predicate must be bool or int32, got ${describe(pred)}`);
    }
    const first = cases[0];
    for (const c of cases) {
      if (!shapeEqual(c.shape, first.shape) || c.dtype !== first.dtype) {
        throw new TypeError(
          `select_n: cases must agree in shape and dtype, got ${cases.map(describe).join(", ")}`,
        );
      }
    }
    if (pred.ndim !== 0 && !shapeEqual(pred.shape, first.shape)) {
      throw new TypeError(
        `select_n: predicate ${describe(pred)} does not match the cases ${describe(first)}`,
      );
    }
    return [
      new ShapedArray(
        first.shape,
        first.dtype,
        cases.every((c) => c.weakType),
      ),
    ];
  },
  cpu: ([pred, ...cases], _in, [out]) => {
    const y = hostArray(out.dtype, out.size);
    const sp = pred.length === 1 ? 0 : 1;
    for (let i = 0; i < y.length; i++) y[i] = cases[pred[i * sp]][i];
    return [y];
  },
  wgsl: ([pred, ...cases]) => {
    const lines = [`var v = ${at(1, cases[0])};`];
    for (let k = 1; k < cases.length; k++)
      lines.push(`if (u32(${at(0, pred)}) == ${k}u) { v = ${at(k + 1, cases[k])}; }`);
    return { body: `${lines.join("\n  ")}\n  out[i] = v;` };
  },
};
