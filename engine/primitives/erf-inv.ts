/**
 * erf_inv: the inverse error function, by M. Giles' single-precision approximation ("Approximating
 * the erfinv function", GPU Computing Gems, 2011), the one XLA uses for float32:
 *   w = -log((1 - x)(1 + x));  w < 5: p(w - 2.5),  else: q(sqrt(w) - 3);  erfinv(x) = x * poly.
 * erf_inv(±1) = ±inf; |x| > 1 gives NaN. The CPU evaluates the same polynomials in doubles.
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { isFloating } from "../dtype.js";
import { map1 } from "../backend/cpu/loops.js";
import { at } from "../backend/webgpu/wgsl.js";
import { checkArity, describe } from "./checks.js";
import type { PrimitiveRules } from "./rules.js";

/** Coefficients from the highest power down (Horner order). */
const CENTRAL = [
  2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164,
  0.246640727, 1.50140941,
];
const TAIL = [
  -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
  1.00167406, 2.83297682,
];

function horner(coefficients: number[], w: number): number {
  let p = 0;
  for (const c of coefficients) p = p * w + c;
  return p;
}

export function erfInvHost(x: number): number {
  if (x === 1 || x === -1) return x * Infinity;
  const w = -Math.log((1 - x) * (1 + x));
  const p = w < 5 ? horner(CENTRAL, w - 2.5) : horner(TAIL, Math.sqrt(w) - 3);
  return p * x;
}

function hornerWgsl(coefficients: number[], w: string): string {
  const lit = (c: number) => (Number.isInteger(c) ? `${c}.0` : c.toExponential());
  return coefficients.slice(1).reduce((acc, c) => `(${acc} * ${w} + ${lit(c)})`, lit(coefficients[0]));
}

export const erfInvRules: PrimitiveRules<Primitive.ErfInv> = {
  abstractEval: (avals) => {
    checkArity(Primitive.ErfInv, avals, 1);
    const [x] = avals;
    if (!isFloating(x.dtype))
      throw new TypeError(`erf_inv does not accept dtype ${x.dtype} (${describe(x)})`);
    return [new ShapedArray(x.shape, x.dtype, x.weakType)];
  },
  cpu: ([x], _in, [out]) => [map1(x, out, erfInvHost)],
  wgsl: ([x]) => ({
    body: `let x = ${at(0, x)};
  let w = -log((1.0 - x) * (1.0 + x));
  var p: f32;
  if (w < 5.0) {
    let c = w - 2.5;
    p = ${hornerWgsl(CENTRAL, "c")};
  } else {
    let t = sqrt(w) - 3.0;
    p = ${hornerWgsl(TAIL, "t")};
  }
  var r = p * x;
  // ±inf with x's sign, built from x's bits (a constant inf is rejected by WGSL).
  if (abs(x) == 1.0) { r = bitcast<f32>(0x7f800000u | (bitcast<u32>(x) & 0x80000000u)); }
  out[i] = r;`,
  }),
};
