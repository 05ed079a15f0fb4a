/**
 * More elementwise primitives (JAX's names): exp2 cbrt asin acos atan sinh cosh asinh acosh atanh
 * erf round is_finite integer_pow (unary), atan2 rem (binary), and the bitwise and/or/xor/not.
 * CPU rules compute in JS doubles and store into the float32 result; WGSL rules guard the edge cases
 * that WGSL leaves indeterminate (asin/acos/acosh/atanh outside their domains) and use forms that stay
 * accurate near 0 (sinh, asinh, atanh via log1p).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { isFloating, isInteger, type DType } from "../dtype.js";
import { map1, map2, type Fn1, type Fn2 } from "../backend/cpu/loops.js";
import { at, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { checkArity, describe, elementwiseResult } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";
import { erf } from "./erf.js";

// NaN and inf from runtime bits: Tint rejects a constant expression whose value is NaN or inf.
const NAN = "bitcast<f32>(nanBits)";
const INF = "bitcast<f32>(infBits)";
/** Declares the bits that NAN and INF read, when a body uses them. */
const withSpecials = (body: string): string =>
  (body.includes("nanBits") ? "var nanBits = 0x7fc00000u;\n  " : "") +
  (body.includes("infBits") ? "var infBits = 0x7f800000u;\n  " : "") +
  body;
/** log1p(t) by Goldberg's trick (accurate near 0), as a WGSL expression of a `let` named t. */
const LOG1P_T = "select(log(1.0 + t) * t / ((1.0 + t) - 1.0), t, (1.0 + t) == 1.0)";

type FloatUnary =
  | Primitive.Exp2
  | Primitive.Cbrt
  | Primitive.Asin
  | Primitive.Acos
  | Primitive.Atan
  | Primitive.Sinh
  | Primitive.Cosh
  | Primitive.Asinh
  | Primitive.Acosh
  | Primitive.Atanh
  | Primitive.Erf;

/** CPU function and WGSL statements (reading `x`, writing `out[i]`) of each float-only unary op. */
const FLOAT_UNARY: Record<FloatUnary, { cpu: Fn1; wgsl: string }> = {
  [Primitive.Exp2]: { cpu: (x) => 2 ** x, wgsl: "out[i] = exp2(x);" },
  // cbrt(x) = sign(x) |x|^(1/3), refined by one Newton step (y -= (y^3 - a) / 3y^2).
  [Primitive.Cbrt]: {
    cpu: Math.cbrt,
    wgsl: `let a = abs(x);
  var y = pow(a, 0.33333334);
  if (y > 0.0 && y < 1e12) { y = y - (y * y * y - a) / (3.0 * y * y); }
  out[i] = select(sign(x) * y, x, !(a > 0.0) || a == ${INF});`,
  },
  // lavapipe's asin/acos are off by 1e-4; atan2 with sqrt((1 - x)(1 + x)) is accurate to float32.
  [Primitive.Asin]: {
    cpu: Math.asin,
    wgsl: `out[i] = select(atan2(x, sqrt((1.0 - x) * (1.0 + x))), ${NAN}, !(abs(x) <= 1.0));`,
  },
  [Primitive.Acos]: {
    cpu: Math.acos,
    wgsl: `out[i] = select(atan2(sqrt((1.0 - x) * (1.0 + x)), x), ${NAN}, !(abs(x) <= 1.0));`,
  },
  [Primitive.Atan]: { cpu: Math.atan, wgsl: "out[i] = atan(x);" },
  // sinh = (e^a - e^-a)/2 with e^a/2 = h * h/2, h = e^(a/2) (no early overflow); Taylor below 0.5.
  [Primitive.Sinh]: {
    cpu: Math.sinh,
    wgsl: `let a = abs(x);
  let h = exp(0.5 * a);
  let x2 = x * x;
  let small = x * (1.0 + x2 * (1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 / 5040.0)));
  out[i] = select(sign(x) * (h * (0.5 * h) - 0.5 / h / h), small, a < 0.5);`,
  },
  [Primitive.Cosh]: {
    cpu: Math.cosh,
    wgsl: `let h = exp(0.5 * abs(x));
  out[i] = h * (0.5 * h) + 0.5 / h / h;`,
  },
  // asinh(a) = log1p(a + a^2 / (1 + sqrt(1 + a^2))); log(2a) for huge a; odd.
  [Primitive.Asinh]: {
    cpu: Math.asinh,
    wgsl: `let a = abs(x);
  var r = log(a) + 0.6931472;
  if (a < 1e8) { let t = a + a * a / (1.0 + sqrt(1.0 + a * a)); r = ${LOG1P_T}; }
  out[i] = select(sign(x) * r, x, !(a > 0.0));`,
  },
  // acosh(x) = log1p(d + sqrt(d (x + 1))), d = x - 1; NaN below 1.
  [Primitive.Acosh]: {
    cpu: Math.acosh,
    wgsl: `var r = log(x) + 0.6931472;
  if (x < 1e8) { let d = x - 1.0; let t = d + sqrt(d * (x + 1.0)); r = ${LOG1P_T}; }
  out[i] = select(r, ${NAN}, !(x >= 1.0));`,
  },
  // atanh(a) = log1p(2a / (1 - a)) / 2; +-inf at +-1, NaN beyond.
  [Primitive.Atanh]: {
    cpu: Math.atanh,
    wgsl: `let a = abs(x);
  let t = 2.0 * a / (1.0 - a);
  var r = sign(x) * 0.5 * ${LOG1P_T};
  if (a == 0.0) { r = x; }
  if (a == 1.0) { r = sign(x) * ${INF}; }
  if (!(a <= 1.0)) { r = ${NAN}; }
  out[i] = r;`,
  },
  // erf(a) = 2/sqrt(pi) e^(-a^2) sum_n 2^n a^(2n+1) / (1*3*...*(2n+1)): positive terms, no
  // cancellation; erf(4) rounds to 1 in float32.
  [Primitive.Erf]: {
    cpu: erf,
    wgsl: `let a = min(abs(x), 4.0);
  let a2 = a * a;
  var term = a;
  var sum = a;
  for (var n = 1u; n < 200u; n = n + 1u) {
    if (term <= sum * 1e-8) { break; }
    term = term * 2.0 * a2 / f32(2u * n + 1u);
    sum = sum + term;
  }
  let r = min(1.1283791671 * exp(-a2) * sum, 1.0);
  out[i] = select(sign(x) * r, x, !(a > 0.0));`,
  },
};

function floatUnaryRules<P extends FloatUnary>(prim: P): PrimitiveRules<P> {
  const spec = FLOAT_UNARY[prim];
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 1);
      const [x] = avals;
      if (!isFloating(x.dtype)) {
        throw new TypeError(
          `${prim} does not accept dtype ${x.dtype} (operand ${describe(x)}): floating only`,
        );
      }
      return [x];
    },
    cpu: ([x], _in, [out]) => [map1(x, out, spec.cpu)],
    wgsl: ([x]) => ({ body: withSpecials(`let x = ${at(0, x)};\n  ${spec.wgsl}`) }),
  };
}

/** Round half to even (jnp.round, numpy) in doubles: Math.round rounds halves up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}
/** Round half away from zero (lax.round's default). */
export function roundHalfAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

const roundRules: PrimitiveRules<Primitive.Round> = {
  abstractEval: (avals, { rounding_method }) => {
    checkArity(Primitive.Round, avals, 1);
    const [x] = avals;
    if (!isFloating(x.dtype))
      throw new TypeError(`round does not accept dtype ${x.dtype} (operand ${describe(x)})`);
    if (rounding_method !== 0 && rounding_method !== 1)
      throw new TypeError(`round: rounding_method must be 0 or 1, got ${String(rounding_method)}`);
    return [x];
  },
  cpu: ([x], _in, [out], { rounding_method }) => [
    map1(x, out, rounding_method === 1 ? roundHalfEven : roundHalfAway),
  ],
  // WGSL's round() rounds half to even; half away from zero from trunc (x - trunc(x) is exact).
  wgsl: ([x], _out, { rounding_method }) => ({
    body:
      rounding_method === 1
        ? `out[i] = round(${at(0, x)});`
        : `let x = ${at(0, x)};
  let t = trunc(x);
  out[i] = select(t, t + sign(x), abs(x - t) >= 0.5);`,
  }),
};

const isFiniteRules: PrimitiveRules<Primitive.IsFinite> = {
  abstractEval: (avals) => {
    checkArity(Primitive.IsFinite, avals, 1);
    const [x] = avals;
    if (!isFloating(x.dtype))
      throw new TypeError(`is_finite does not accept dtype ${x.dtype} (operand ${describe(x)})`);
    return [new ShapedArray(x.shape, "bool")];
  },
  cpu: ([x], _in, [out]) => [map1(x, out, (v) => +Number.isFinite(v))],
  // Exponent bits all ones = inf or NaN (a bit test survives any fast-math assumptions).
  wgsl: ([x]) => ({
    body: `out[i] = select(0u, 1u, (bitcast<u32>(${at(0, x)}) & 0x7f800000u) != 0x7f800000u);`,
  }),
};

/** x^n by binary exponentiation, as WGSL statements leaving the result in `acc` (n >= 0). */
function wgslPowChain(n: number, t: string): string {
  const one = t === "f32" ? "1.0" : t === "i32" ? "1" : "1u";
  const lines = [`var acc = ${one};`, "var b = x;"];
  for (let k = n; k > 0; k >>= 1) {
    if (k & 1) lines.push("acc = acc * b;");
    if (k > 1) lines.push("b = b * b;");
  }
  return lines.join("\n  ");
}

function intPow(x: number, n: number, dtype: DType): number {
  let acc = 1;
  let b = x;
  for (let k = n; k > 0; k >>= 1) {
    if (k & 1) acc = dtype === "float32" ? acc * b : Math.imul(acc, b);
    if (k > 1) b = dtype === "float32" ? b * b : Math.imul(b, b);
  }
  return acc;
}

const integerPowRules: PrimitiveRules<Primitive.IntegerPow> = {
  abstractEval: (avals, { y }) => {
    checkArity(Primitive.IntegerPow, avals, 1);
    const [x] = avals;
    if (x.dtype === "bool")
      throw new TypeError(`integer_pow does not accept dtype bool (operand ${describe(x)})`);
    if (!Number.isInteger(y)) throw new TypeError(`integer_pow: y must be an integer, got ${y}`);
    if (y < 0 && isInteger(x.dtype))
      throw new TypeError(
        `Integers cannot be raised to negative powers, got integer_pow(${describe(x)}, ${y})`,
      );
    return [x];
  },
  // Floats: exact double power then one rounding to float32; integers wrap like repeated multiplication.
  cpu: ([x], _in, [out], { y }) => [
    map1(x, out, isFloating(out.dtype) ? (v) => v ** y : (v) => intPow(v, y, out.dtype)),
  ],
  wgsl: ([x], [out], { y }) => {
    const t = wgslStorageType(out.dtype);
    return {
      body: `let x = ${at(0, x)};
  ${wgslPowChain(Math.abs(y), t)}
  out[i] = ${y < 0 ? "1.0 / acc" : "acc"};`,
    };
  },
};

type Bitwise = Primitive.And | Primitive.Or | Primitive.Xor;
const BITWISE: Record<Bitwise, { cpu: Fn2; op: string }> = {
  [Primitive.And]: { cpu: (x, y) => x & y, op: "&" },
  [Primitive.Or]: { cpu: (x, y) => x | y, op: "|" },
  [Primitive.Xor]: { cpu: (x, y) => x ^ y, op: "^" },
};

const boolOrInt = (d: DType) => d === "bool" || isInteger(d);

function bitwiseRules<P extends Bitwise>(prim: P): PrimitiveRules<P> {
  return {
    abstractEval: (avals) => {
      checkArity(prim, avals, 2);
      const out = elementwiseResult(prim, avals[0], avals[1]);
      if (!boolOrInt(out.dtype))
        throw new TypeError(`${prim} does not accept dtype ${out.dtype}: bool, int32 and uint32 only`);
      return [out];
    },
    // JS bitwise operators work on int32; typed-array stores wrap uint32 and keep bool 0/1.
    cpu: ([x, y], _in, [out]) => [map2(x, y, out, BITWISE[prim].cpu)],
    wgsl: ([x, y]) => ({ body: `out[i] = ${at(0, x)} ${BITWISE[prim].op} ${at(1, y)};` }),
  };
}

const notRules: PrimitiveRules<Primitive.Not> = {
  abstractEval: (avals) => {
    checkArity(Primitive.Not, avals, 1);
    const [x] = avals;
    if (!boolOrInt(x.dtype))
      throw new TypeError(
        `not does not accept dtype ${x.dtype} (operand ${describe(x)}): bool, int32 and uint32 only`,
      );
    return [x];
  },
  cpu: ([x], _in, [out]) => [map1(x, out, out.dtype === "bool" ? (v) => v ^ 1 : (v) => ~v)],
  wgsl: ([x], [out]) => ({ body: `out[i] = ${out.dtype === "bool" ? `${at(0, x)} ^ 1u` : `~${at(0, x)}`};` }),
};

const atan2Rules: PrimitiveRules<Primitive.Atan2> = {
  abstractEval: (avals) => {
    checkArity(Primitive.Atan2, avals, 2);
    const out = elementwiseResult(Primitive.Atan2, avals[0], avals[1]);
    if (!isFloating(out.dtype))
      throw new TypeError(`atan2 does not accept dtype ${out.dtype}: floating only`);
    return [out];
  },
  cpu: ([x, y], _in, [out]) => [map2(x, y, out, Math.atan2)],
  // lax.atan2(x, y) = atan(x / y) in the right quadrant = WGSL atan2(x, y).
  wgsl: ([x, y]) => ({ body: `out[i] = atan2(${at(0, x)}, ${at(1, y)});` }),
};

const remRules: PrimitiveRules<Primitive.Rem> = {
  abstractEval: (avals) => {
    checkArity(Primitive.Rem, avals, 2);
    const out = elementwiseResult(Primitive.Rem, avals[0], avals[1]);
    if (out.dtype === "bool") throw new TypeError("rem does not accept dtype bool");
    return [out];
  },
  // C fmod: the sign of the dividend (JS %); an integer remainder by 0 is 0 (WGSL's rule).
  cpu: ([x, y], _in, [out]) => [map2(x, y, out, (a, b) => a % b)],
  wgsl: ([x, y], [out]) => {
    const t = wgslStorageType(out.dtype);
    const [a, b] = [at(0, x), at(1, y)];
    return {
      body:
        t === "f32"
          ? `out[i] = ${a} % ${b};`
          : `let d = ${b};\n  out[i] = select(${a} % select(d, ${t}(1), d == ${t}(0)), ${t}(0), d == ${t}(0));`,
    };
  },
};

export type ElementwiseMathPrimitive =
  | FloatUnary
  | Primitive.Round
  | Primitive.IsFinite
  | Primitive.IntegerPow
  | Primitive.Atan2
  | Primitive.Rem
  | Bitwise
  | Primitive.Not;

export const elementwiseMathRules: RuleGroup<ElementwiseMathPrimitive> = {
  [Primitive.Exp2]: floatUnaryRules(Primitive.Exp2),
  [Primitive.Cbrt]: floatUnaryRules(Primitive.Cbrt),
  [Primitive.Asin]: floatUnaryRules(Primitive.Asin),
  [Primitive.Acos]: floatUnaryRules(Primitive.Acos),
  [Primitive.Atan]: floatUnaryRules(Primitive.Atan),
  [Primitive.Sinh]: floatUnaryRules(Primitive.Sinh),
  [Primitive.Cosh]: floatUnaryRules(Primitive.Cosh),
  [Primitive.Asinh]: floatUnaryRules(Primitive.Asinh),
  [Primitive.Acosh]: floatUnaryRules(Primitive.Acosh),
  [Primitive.Atanh]: floatUnaryRules(Primitive.Atanh),
  [Primitive.Erf]: floatUnaryRules(Primitive.Erf),
  [Primitive.Round]: roundRules,
  [Primitive.IsFinite]: isFiniteRules,
  [Primitive.IntegerPow]: integerPowRules,
  [Primitive.Atan2]: atan2Rules,
  [Primitive.Rem]: remRules,
  [Primitive.And]: bitwiseRules(Primitive.And),
  [Primitive.Or]: bitwiseRules(Primitive.Or),
  [Primitive.Xor]: bitwiseRules(Primitive.Xor),
  [Primitive.Not]: notRules,
};
