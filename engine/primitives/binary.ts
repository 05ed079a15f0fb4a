/** Elementwise binary primitives (add, sub, ..., pow) and comparisons (eq, ..., ge → bool). */
import { Primitive, type BinaryPrimitive, type ComparePrimitive } from "../core/primitive.js";
import { ShapedArray } from "../core/aval.js";
import { isFloating, isInteger, type DType } from "../dtype.js";
import { map2, type Fn2 } from "../backend/cpu/loops.js";
import { at, wgslMinMax, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { checkArity, elementwiseResult } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

// Integer arithmetic wraps like int32/uint32; integer division truncates toward zero (lax.div).
function cpuBinary(prim: BinaryPrimitive, dtype: DType): Fn2 {
  const int = isInteger(dtype);
  switch (prim) {
    case Primitive.Add:
      return (x, y) => x + y;
    case Primitive.Sub:
      return (x, y) => x - y;
    case Primitive.Mul:
      return int ? (x, y) => Math.imul(x, y) : (x, y) => x * y;
    case Primitive.Div:
      return int ? (x, y) => (y === 0 ? 0 : Math.trunc(x / y)) : (x, y) => x / y;
    case Primitive.Max:
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y));
    case Primitive.Min:
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y));
    case Primitive.Pow:
      return Math.pow;
  }
}

function wgslBinary(prim: BinaryPrimitive, x: string, y: string, t: string): string {
  switch (prim) {
    case Primitive.Add:
      return `(${x} + ${y})`;
    case Primitive.Sub:
      return `(${x} - ${y})`;
    case Primitive.Mul:
      return `(${x} * ${y})`;
    case Primitive.Div:
      return t === "i32" ? `idiv_(${x}, ${y})` : t === "u32" ? `udiv_(${x}, ${y})` : `(${x} / ${y})`;
    case Primitive.Max:
      return wgslMinMax("max", x, y, t);
    case Primitive.Min:
      return wgslMinMax("min", x, y, t);
    case Primitive.Pow:
      return `pow_(${x}, ${y})`;
  }
}

function binaryRules<P extends BinaryPrimitive>(prim: P): PrimitiveRules<P> {
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 2);
      const out = elementwiseResult(prim, avals[0], avals[1]);
      if (out.dtype === "bool" || (prim === Primitive.Pow && !isFloating(out.dtype))) {
        throw new TypeError(`${prim} does not accept dtype ${out.dtype}`);
      }
      return [out];
    },
    cpu: ([x, y], _in, [out]) => [map2(x, y, out, cpuBinary(prim, out.dtype))],
    wgsl: ([x, y], [out]) => ({
      body: `out[i] = ${wgslBinary(prim, at(0, x), at(1, y), wgslStorageType(out.dtype))};`,
    }),
  };
}

const COMPARE: Record<ComparePrimitive, { js: Fn2; wgsl: string }> = {
  [Primitive.Eq]: { js: (x, y) => +(x === y), wgsl: "==" },
  // Tint lowers != to an ordered comparison (NaN != NaN false); "not equal" is NaN-correct.
  [Primitive.Ne]: { js: (x, y) => +(x !== y), wgsl: "!=" },
  [Primitive.Lt]: { js: (x, y) => +(x < y), wgsl: "<" },
  [Primitive.Le]: { js: (x, y) => +(x <= y), wgsl: "<=" },
  [Primitive.Gt]: { js: (x, y) => +(x > y), wgsl: ">" },
  [Primitive.Ge]: { js: (x, y) => +(x >= y), wgsl: ">=" },
};

function compareRules<P extends ComparePrimitive>(prim: P): PrimitiveRules<P> {
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 2);
      return [new ShapedArray(elementwiseResult(prim, avals[0], avals[1]).shape, "bool")];
    },
    cpu: ([x, y], _in, [out]) => [map2(x, y, out, COMPARE[prim].js)],
    wgsl: ([x, y]) => ({
      body:
        prim === Primitive.Ne
          ? `out[i] = select(1u, 0u, ${at(0, x)} == ${at(1, y)});`
          : `out[i] = select(0u, 1u, ${at(0, x)} ${COMPARE[prim].wgsl} ${at(1, y)});`,
    }),
  };
}

export const binaryPrimitiveRules: RuleGroup<BinaryPrimitive | ComparePrimitive> = {
  [Primitive.Add]: binaryRules(Primitive.Add),
  [Primitive.Sub]: binaryRules(Primitive.Sub),
  [Primitive.Mul]: binaryRules(Primitive.Mul),
  [Primitive.Div]: binaryRules(Primitive.Div),
  [Primitive.Max]: binaryRules(Primitive.Max),
  [Primitive.Min]: binaryRules(Primitive.Min),
  [Primitive.Pow]: binaryRules(Primitive.Pow),
  [Primitive.Eq]: compareRules(Primitive.Eq),
  [Primitive.Ne]: compareRules(Primitive.Ne),
  [Primitive.Lt]: compareRules(Primitive.Lt),
  [Primitive.Le]: compareRules(Primitive.Le),
  [Primitive.Gt]: compareRules(Primitive.Gt),
  [Primitive.Ge]: compareRules(Primitive.Ge),
};
