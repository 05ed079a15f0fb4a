/**
 * argmax and argmin along one axis (`axes=(k,)`, `index_dtype=int32`), as lax.argmax/lax.argmin: the
 * first occurrence wins on ties, and a NaN counts as the extreme for both (the first NaN is returned).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray, isFloating } from "../dtype.js";
import { wgslStorageType } from "../backend/webgpu/wgsl.js";
import { checkAxes, describe } from "./checks.js";
import { wgslIsNan } from "../backend/webgpu/wgsl.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

type ArgPrimitive = Primitive.Argmax | Primitive.Argmin;

/** Sizes before the axis, along it and after it: a line along the axis is `outer x inner` strided. */
export function lineGeometry(
  shape: readonly number[],
  axis: number,
): { outer: number; n: number; inner: number } {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { outer, n: shape[axis], inner };
}

function argRules<P extends ArgPrimitive>(prim: P): PrimitiveRules<P> {
  const better =
    prim === Primitive.Argmax ? (x: number, acc: number) => x > acc : (x: number, acc: number) => x < acc;
  const op = prim === Primitive.Argmax ? ">" : "<";
  return {
    abstractEval: ([x], params) => {
      const { axes, index_dtype } = params as { axes: readonly number[]; index_dtype: string };
      if (axes.length !== 1)
        throw new TypeError(`${prim} takes exactly one axis, got axes (${axes.join(", ")})`);
      checkAxes(prim, x, axes);
      if (x.dtype === "bool") throw new TypeError(`${prim} does not accept dtype bool`);
      if (index_dtype !== "int32" && index_dtype !== "uint32")
        throw new TypeError(`${prim}: index_dtype must be an integer dtype, got ${index_dtype}`);
      if (x.shape[axes[0]] === 0)
        throw new RangeError(`${prim}: axis ${axes[0]} of operand ${describe(x)} is empty`);
      return [
        new ShapedArray(
          x.shape.filter((_, i) => i !== axes[0]),
          index_dtype as "int32" | "uint32",
        ),
      ];
    },
    cpu: ([x], [inAval], [out], params) => {
      const { outer, n, inner } = lineGeometry(inAval.shape, params.axes[0]);
      const y = hostArray(out.dtype, out.size);
      for (let o = 0; o < outer; o++) {
        for (let q = 0; q < inner; q++) {
          const base = o * n * inner + q;
          let best = x[base];
          let k = 0;
          for (let j = 1; j < n; j++) {
            const v = x[base + j * inner];
            if (Number.isNaN(best)) break;
            if (Number.isNaN(v) || better(v, best)) {
              best = v;
              k = j;
            }
          }
          y[o * inner + q] = k;
        }
      }
      return [y];
    },
    // One invocation per output element, scanning its line along the axis.
    wgsl: ([x], [out], params) => {
      const { n, inner } = lineGeometry(x.shape, params.axes[0]);
      const t = wgslStorageType(x.dtype);
      const float = isFloating(x.dtype);
      const pick = float ? `(${wgslIsNan("v")} || v ${op} best) && !${wgslIsNan("best")}` : `v ${op} best`;
      return {
        body: `let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;
  var best: ${t} = in0[base];
  var k = 0u;
  for (var j = 1u; j < ${n}u; j = j + 1u) {
    let v = in0[base + j * ${inner}u];
    if (${pick}) { best = v; k = j; }
  }
  out[i] = ${wgslStorageType(out.dtype)}(k);`,
      };
    },
  };
}

export const argMinMaxRules: RuleGroup<ArgPrimitive> = {
  [Primitive.Argmax]: argRules(Primitive.Argmax),
  [Primitive.Argmin]: argRules(Primitive.Argmin),
};
