/** Elementwise unary primitives: neg, sin, cos, ..., all with one operand and a same-shaped result. */
import { Primitive, type UnaryPrimitive } from "../core/primitive.js";
import { isFloating } from "../dtype.js";
import { map1, type Fn1 } from "../backend/cpu/loops.js";
import { at, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { checkArity, describe } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

interface UnarySpec {
  /** Accepts only floating dtypes (lax: sin of an int is a type error). */
  floatOnly: boolean;
  cpu: Fn1;
  /** WGSL expression of `x` (of storage type `t`). */
  wgsl: (x: string, t: string) => string;
}

const SPECS: Record<UnaryPrimitive, UnarySpec> = {
  [Primitive.Neg]: {
    floatOnly: false,
    cpu: (x) => -x,
    wgsl: (x, t) => (t === "u32" ? `(0u - ${x})` : `-${x}`),
  },
  [Primitive.Sin]: { floatOnly: true, cpu: Math.sin, wgsl: (x) => `sin(${x})` },
  [Primitive.Cos]: { floatOnly: true, cpu: Math.cos, wgsl: (x) => `cos(${x})` },
  [Primitive.Tan]: { floatOnly: true, cpu: Math.tan, wgsl: (x) => `tan(${x})` },
  [Primitive.Exp]: { floatOnly: true, cpu: Math.exp, wgsl: (x) => `exp(${x})` },
  [Primitive.Log]: { floatOnly: true, cpu: Math.log, wgsl: (x) => `log(${x})` },
  [Primitive.Tanh]: { floatOnly: true, cpu: Math.tanh, wgsl: (x) => `tanh(${x})` },
  // logistic(x) = 1 / (1 + e^-x)
  [Primitive.Logistic]: {
    floatOnly: true,
    cpu: (x) => 1 / (1 + Math.exp(-x)),
    wgsl: (x) => `(1.0 / (1.0 + exp(-${x})))`,
  },
  [Primitive.Sqrt]: { floatOnly: true, cpu: Math.sqrt, wgsl: (x) => `sqrt(${x})` },
  [Primitive.Rsqrt]: { floatOnly: true, cpu: (x) => 1 / Math.sqrt(x), wgsl: (x) => `inverseSqrt(${x})` },
  [Primitive.Abs]: { floatOnly: false, cpu: Math.abs, wgsl: (x, t) => (t === "u32" ? x : `abs(${x})`) },
  [Primitive.Sign]: {
    floatOnly: false,
    cpu: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
    wgsl: (x, t) => (t === "u32" ? `select(0u, 1u, ${x} > 0u)` : `sign(${x})`),
  },
  [Primitive.Floor]: { floatOnly: true, cpu: Math.floor, wgsl: (x) => `floor(${x})` },
  [Primitive.Ceil]: { floatOnly: true, cpu: Math.ceil, wgsl: (x) => `ceil(${x})` },
  [Primitive.Log1p]: { floatOnly: true, cpu: Math.log1p, wgsl: (x) => `log1p_(${x})` },
  [Primitive.Expm1]: { floatOnly: true, cpu: Math.expm1, wgsl: (x) => `expm1_(${x})` },
};

function unaryRules<P extends UnaryPrimitive>(prim: P): PrimitiveRules<P> {
  const spec = SPECS[prim];
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 1);
      const [x] = avals;
      if (x.dtype === "bool" || (spec.floatOnly && !isFloating(x.dtype))) {
        throw new TypeError(`${prim} does not accept dtype ${x.dtype} (operand ${describe(x)})`);
      }
      return [x];
    },
    cpu: ([x], _in, [out]) => [map1(x, out, spec.cpu)],
    wgsl: ([x], [out]) => ({ body: `out[i] = ${spec.wgsl(at(0, x), wgslStorageType(out.dtype))};` }),
  };
}

export const unaryPrimitiveRules: RuleGroup<UnaryPrimitive> = {
  [Primitive.Neg]: unaryRules(Primitive.Neg),
  [Primitive.Sin]: unaryRules(Primitive.Sin),
  [Primitive.Cos]: unaryRules(Primitive.Cos),
  [Primitive.Tan]: unaryRules(Primitive.Tan),
  [Primitive.Exp]: unaryRules(Primitive.Exp),
  [Primitive.Log]: unaryRules(Primitive.Log),
  [Primitive.Tanh]: unaryRules(Primitive.Tanh),
  [Primitive.Logistic]: unaryRules(Primitive.Logistic),
  [Primitive.Sqrt]: unaryRules(Primitive.Sqrt),
  [Primitive.Rsqrt]: unaryRules(Primitive.Rsqrt),
  [Primitive.Abs]: unaryRules(Primitive.Abs),
  [Primitive.Sign]: unaryRules(Primitive.Sign),
  [Primitive.Floor]: unaryRules(Primitive.Floor),
  [Primitive.Ceil]: unaryRules(Primitive.Ceil),
  [Primitive.Log1p]: unaryRules(Primitive.Log1p),
  [Primitive.Expm1]: unaryRules(Primitive.Expm1),
};
