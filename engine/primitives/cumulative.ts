/**
 * Cumulative reductions along one axis (`axis`, `reverse`), as lax.cumsum/cumprod/cummax/cummin:
 * out[..., j, ...] combines x[..., 0..j, ...] (or x[..., j..n-1, ...] when reversed).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray, isFloating } from "../dtype.js";
import { wgslMinMax, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { lineGeometry } from "./argminmax.js";
import { checkAxes } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

type CumPrimitive = Primitive.Cumsum | Primitive.Cumprod | Primitive.Cummax | Primitive.Cummin;

const NAN_OR = (fn: (a: number, b: number) => number) => (a: number, b: number) =>
  Number.isNaN(a) || Number.isNaN(b) ? NaN : fn(a, b);

const CPU: Record<CumPrimitive, (a: number, b: number) => number> = {
  [Primitive.Cumsum]: (a, b) => a + b,
  [Primitive.Cumprod]: (a, b) => a * b,
  [Primitive.Cummax]: NAN_OR(Math.max),
  [Primitive.Cummin]: NAN_OR(Math.min),
};

function wgslCombine(prim: CumPrimitive, a: string, x: string, float: boolean): string {
  switch (prim) {
    case Primitive.Cumsum:
      return `${a} + ${x}`;
    case Primitive.Cumprod:
      return `${a} * ${x}`;
    default: {
      const fn = prim === Primitive.Cummax ? "max" : "min";
      return wgslMinMax(fn, a, x, float ? "f32" : "int");
    }
  }
}

function cumRules<P extends CumPrimitive>(prim: P): PrimitiveRules<P> {
  const combine = CPU[prim];
  return {
    abstractEval: ([x], params) => {
      const { axis, reverse } = params as { axis: number; reverse: boolean };
      checkAxes(prim, x, [axis]);
      if (typeof reverse !== "boolean") throw new TypeError(`${prim}: reverse must be a boolean`);
      if (x.dtype === "bool") throw new TypeError(`${prim} does not accept dtype bool`);
      return [new ShapedArray(x.shape, x.dtype, x.weakType)];
    },
    cpu: ([x], [inAval], [out], params) => {
      const { outer, n, inner } = lineGeometry(inAval.shape, params.axis);
      const y = hostArray(out.dtype, out.size);
      for (let o = 0; o < outer; o++) {
        for (let q = 0; q < inner; q++) {
          const base = o * n * inner + q;
          let acc = 0;
          for (let s = 0; s < n; s++) {
            const j = params.reverse ? n - 1 - s : s;
            const v = x[base + j * inner];
            acc = s === 0 ? v : combine(acc, v);
            // Store each step so integer results wrap and float ones round as the device's do.
            y[base + j * inner] = acc;
            acc = y[base + j * inner];
          }
        }
      }
      return [y];
    },
    // One invocation per line along the axis.
    wgsl: ([x], [out], params) => {
      const { outer, n, inner } = lineGeometry(x.shape, params.axis);
      const t = wgslStorageType(out.dtype);
      const j = params.reverse ? `${n - 1}u - s` : "s";
      return {
        threads: n === 0 ? 0 : outer * inner,
        body: `let base = (i / ${inner}u) * ${n * inner}u + i % ${inner}u;
  var acc: ${t} = in0[base + (${j.replace("s", "0u")}) * ${inner}u];
  out[base + (${j.replace("s", "0u")}) * ${inner}u] = acc;
  for (var s = 1u; s < ${n}u; s = s + 1u) {
    let p = base + (${j}) * ${inner}u;
    acc = ${wgslCombine(prim, "acc", "in0[p]", isFloating(x.dtype))};
    out[p] = acc;
  }`,
      };
    },
  };
}

export const cumulativeRules: RuleGroup<CumPrimitive> = {
  [Primitive.Cumsum]: cumRules(Primitive.Cumsum),
  [Primitive.Cumprod]: cumRules(Primitive.Cumprod),
  [Primitive.Cummax]: cumRules(Primitive.Cummax),
  [Primitive.Cummin]: cumRules(Primitive.Cummin),
};
