/** Reductions over a set of axes: reduce_sum, reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or. */
import { ShapedArray } from "../core/aval.js";
import { Primitive, type ReducePrimitive } from "../core/primitive.js";
import { hostArray, type TypedArray } from "../dtype.js";
import { stridesOf } from "../shape.js";
import type { Fn2 } from "../backend/cpu/loops.js";
import { HIGHEST, LOWEST, stridedSource, wgslMinMax, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { checkAxes } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

/** Every reduction over axes (reduce_sum and reduce_max plus the ones added with the reductions area). */
export type AxesReducePrimitive =
  ReducePrimitive | Primitive.ReduceMin | Primitive.ReduceProd | Primitive.ReduceAnd | Primitive.ReduceOr;

interface ReduceSpec {
  /** Identity for the CPU loop, per output dtype. */
  init: (dtype: string) => number;
  combine: Fn2;
  wgslInit: (t: string, dtype: string) => string;
  wgslCombine: (acc: string, x: string, t: string) => string;
  /** Which operand dtypes the reduction takes (lax: and/or are logical on bool, bitwise on integers). */
  accepts: (dtype: string) => boolean;
}

const notBool = (d: string) => d !== "bool";
const boolOrInt = (d: string) => d === "bool" || d === "int32" || d === "uint32";

const SPECS: Record<AxesReducePrimitive, ReduceSpec> = {
  [Primitive.ReduceSum]: {
    init: () => 0,
    combine: (a, b) => a + b,
    wgslInit: (t) => `${t}(0)`,
    wgslCombine: (a, x) => `${a} + ${x}`,
    accepts: notBool,
  },
  [Primitive.ReduceMax]: {
    init: (d) => (d === "int32" ? -2147483648 : d === "uint32" ? 0 : -Infinity),
    combine: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
    wgslInit: (t) => LOWEST[t],
    wgslCombine: (a, x, t) => wgslMinMax("max", a, x, t),
    accepts: notBool,
  },
  [Primitive.ReduceMin]: {
    init: (d) => (d === "int32" ? 2147483647 : d === "uint32" ? 4294967295 : Infinity),
    combine: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
    wgslInit: (t) => HIGHEST[t],
    wgslCombine: (a, x, t) => wgslMinMax("min", a, x, t),
    accepts: notBool,
  },
  [Primitive.ReduceProd]: {
    init: () => 1,
    combine: (a, b) => a * b,
    wgslInit: (t) => `${t}(1)`,
    wgslCombine: (a, x) => `${a} * ${x}`,
    accepts: notBool,
  },
  // Logical on bool (stored 0/1), bitwise on integers; the identity is all ones.
  [Primitive.ReduceAnd]: {
    init: (d) => (d === "bool" ? 1 : d === "uint32" ? 4294967295 : -1),
    combine: (a, b) => a & b,
    wgslInit: (t, d) => (d === "bool" ? "1u" : t === "i32" ? "i32(-1)" : "0xffffffffu"),
    wgslCombine: (a, x) => `${a} & ${x}`,
    accepts: boolOrInt,
  },
  [Primitive.ReduceOr]: {
    init: () => 0,
    combine: (a, b) => a | b,
    wgslInit: (t) => `${t}(0)`,
    wgslCombine: (a, x) => `${a} | ${x}`,
    accepts: boolOrInt,
  },
};

/** Accumulates in doubles, then stores (rounding to the output dtype once). */
function reduceHost(
  x: TypedArray,
  inShape: readonly number[],
  axes: readonly number[],
  out: ShapedArray,
  spec: ReduceSpec,
): TypedArray {
  const acc = new Float64Array(out.size).fill(spec.init(out.dtype));
  const keptStrides = stridesOf(out.shape);
  const strideForAxis: number[] = [];
  let k = 0;
  for (let d = 0; d < inShape.length; d++) strideForAxis.push(axes.includes(d) ? 0 : keptStrides[k++]);
  const idx = new Array<number>(inShape.length).fill(0);
  let dst = 0;
  for (let i = 0; i < x.length; i++) {
    acc[dst] = spec.combine(acc[dst], x[i]);
    for (let d = inShape.length - 1; d >= 0; d--) {
      idx[d]++;
      dst += strideForAxis[d];
      if (idx[d] < inShape[d]) break;
      dst -= strideForAxis[d] * idx[d];
      idx[d] = 0;
    }
  }
  const y = hostArray(out.dtype, out.size);
  y.set(acc);
  return y;
}

function reduceRules<P extends AxesReducePrimitive>(prim: P): PrimitiveRules<P> {
  const spec = SPECS[prim];
  return {
    abstractEval: ([x], params) => {
      const { axes } = params as { axes: readonly number[] };
      checkAxes(prim, x, axes);
      if (!spec.accepts(x.dtype)) throw new TypeError(`${prim} does not accept dtype ${x.dtype}`);
      return [
        new ShapedArray(
          x.shape.filter((_, i) => !axes.includes(i)),
          x.dtype,
          x.weakType,
        ),
      ];
    },
    cpu: ([x], [inAval], [out], params) => [
      reduceHost(x, inAval.shape, (params as { axes: readonly number[] }).axes, out, spec),
    ],
    // One invocation per output element, looping over the reduced elements.
    wgsl: ([x], [out], params) => {
      const { axes } = params as { axes: readonly number[] };
      const t = wgslStorageType(out.dtype);
      const inStrides = stridesOf(x.shape);
      const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
      const reduced = [...axes].sort((a, b) => a - b);
      const count = reduced.reduce((n, d) => n * x.shape[d], 1);
      const base = stridedSource(
        kept.map((d) => x.shape[d]),
        kept.map((d) => inStrides[d]),
      );
      const redStrides = stridesOf(reduced.map((d) => x.shape[d]));
      const offset =
        reduced.map((d, j) => `((r / ${redStrides[j]}u) % ${x.shape[d]}u) * ${inStrides[d]}u`).join(" + ") ||
        "0u";
      // An empty reduction is its identity (and `% 0u` would not compile). The input must still be
      // used, or the automatic bind group layout drops its binding (buffers hold at least one word).
      if (count === 0) return { body: `_ = in0[0];\n  out[i] = ${spec.wgslInit(t, out.dtype)};` };
      return {
        body: `${base}
  var acc: ${t} = ${spec.wgslInit(t, out.dtype)};
  for (var r = 0u; r < ${count}u; r = r + 1u) {
    acc = ${spec.wgslCombine("acc", `in0[src + ${offset}]`, t)};
  }
  out[i] = acc;`,
      };
    },
  };
}

export const reducePrimitiveRules: RuleGroup<ReducePrimitive> = {
  [Primitive.ReduceSum]: reduceRules(Primitive.ReduceSum),
  [Primitive.ReduceMax]: reduceRules(Primitive.ReduceMax),
};

/** The reductions added by the reductions-linalg area (spread into the table in its own section). */
export const moreReducePrimitiveRules: RuleGroup<
  Primitive.ReduceMin | Primitive.ReduceProd | Primitive.ReduceAnd | Primitive.ReduceOr
> = {
  [Primitive.ReduceMin]: reduceRules(Primitive.ReduceMin),
  [Primitive.ReduceProd]: reduceRules(Primitive.ReduceProd),
  [Primitive.ReduceAnd]: reduceRules(Primitive.ReduceAnd),
  [Primitive.ReduceOr]: reduceRules(Primitive.ReduceOr),
};
