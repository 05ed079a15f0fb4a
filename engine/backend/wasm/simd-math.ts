/**
 * Vectorised float32 math on f32x4 values, emitted as WebAssembly SIMD128 code: small expression
 * combinators and the transcendentals as polynomial approximations (Cephes' single-precision
 * coefficients, Cody-Waite range reduction). Each function leaves one v128 on the stack.
 */
import type { FunctionBuilder } from "./emitter/module.js";
import { ValType } from "./emitter/opcodes.js";

/** Code that pushes one v128. */
export type V = (f: FunctionBuilder) => void;

export const get =
  (local: number): V =>
  (f) =>
    f.get(local);
export const fc =
  (c: number): V =>
  (f) =>
    f.v128([c, c, c, c]);
export const ic =
  (c: number): V =>
  (f) =>
    f.v128([c, c, c, c], true);

type SimdOp = Parameters<FunctionBuilder["simd"]>[0];
const bin =
  (op: SimdOp) =>
  (a: V, b: V): V =>
  (f) => {
    a(f);
    b(f);
    f.simd(op);
  };
const un =
  (op: SimdOp) =>
  (a: V): V =>
  (f) => {
    a(f);
    f.simd(op);
  };

export const add = bin("f32x4_add");
export const sub = bin("f32x4_sub");
export const mul = bin("f32x4_mul");
export const div = bin("f32x4_div");
export const min = bin("f32x4_min");
export const max = bin("f32x4_max");
export const lt = bin("f32x4_lt");
export const gt = bin("f32x4_gt");
export const eq = bin("f32x4_eq");
export const ne = bin("f32x4_ne");
export const and = bin("v128_and");
export const or = bin("v128_or");
export const xor = bin("v128_xor");
export const iadd = bin("i32x4_add");
export const isub = bin("i32x4_sub");
export const ieq = bin("i32x4_eq");
export const abs = un("f32x4_abs");
export const nearest = un("f32x4_nearest");
export const toInt = un("i32x4_trunc_sat_f32x4_s");
export const toFloat = un("f32x4_convert_i32x4_s");

/** Lanes of `a` where `mask` is set, else lanes of `b`. */
export const select =
  (mask: V, a: V, b: V): V =>
  (f) => {
    a(f);
    b(f);
    mask(f);
    f.simd("v128_bitselect");
  };

const shift =
  (op: "i32x4_shl" | "i32x4_shr_s" | "i32x4_shr_u") =>
  (a: V, n: number): V =>
  (f) => {
    a(f);
    f.i32(n);
    f.simd(op);
  };
export const shl = shift("i32x4_shl");
export const shrS = shift("i32x4_shr_s");
export const shrU = shift("i32x4_shr_u");

/** Horner: c[0] x^(n-1) + ... + c[n-1]. */
export function poly(x: V, coeffs: readonly number[]): V {
  let acc: V = fc(coeffs[0]);
  for (const c of coeffs.slice(1)) acc = add(mul(acc, x), fc(c));
  return acc;
}

/** Evaluates `e` once into a fresh v128 local; the returned V reads it. */
export function bind(f: FunctionBuilder, e: V): V {
  const l = f.local(ValType.V128);
  e(f);
  f.set(l);
  return get(l);
}

const SIGN = -0x80000000;
const INF = Infinity;

/** 2^n for integer lanes n in [-126, 127]: the exponent field built directly. */
const pow2i = (n: V): V => shl(iadd(n, ic(127)), 23);

/**
 * e^x: n = round(x / ln 2), r = x - n ln 2 (two-part ln 2), e^r by a degree-7 polynomial, then
 * scaled by 2^n in two halves so that results near overflow and in the subnormal range are right.
 */
export function exp(f: FunctionBuilder, x0: V): V {
  const x = bind(f, min(max(x0, fc(-104)), fc(89)));
  const n = bind(f, nearest(mul(x, fc(Math.LOG2E))));
  const r = bind(f, sub(sub(x, mul(n, fc(0.693359375))), mul(n, fc(-2.1219444e-4))));
  const p = poly(
    r,
    [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
  );
  const y = bind(f, add(add(mul(mul(p, r), r), r), fc(1)));
  const ni = bind(f, toInt(n));
  const n1 = bind(f, shrS(ni, 1));
  return mul(mul(y, pow2i(n1)), pow2i(isub(ni, n1)));
}

/**
 * ln x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln(1 + f) by Cephes' polynomial, plus e ln 2.
 * Subnormals are scaled by 2^23 first; x < 0 gives NaN, 0 gives -inf, inf and NaN pass through.
 */
export function log(f: FunctionBuilder, x0: V): V {
  const xin = bind(f, x0);
  const tiny = bind(f, lt(xin, fc(1.1754943508222875e-38)));
  const x = bind(f, select(tiny, mul(xin, fc(8388608)), xin));
  const e0 = bind(f, isub(shrU(x, 23), select(tiny, ic(126 + 23), ic(126))));
  const m0 = bind(f, or(and(x, ic(0x807fffff)), ic(0x3f000000)));
  const small = bind(f, lt(m0, fc(Math.SQRT1_2)));
  const e = bind(f, toFloat(iadd(e0, small)));
  const m = bind(f, add(sub(m0, fc(1)), and(m0, small)));
  const z = bind(f, mul(m, m));
  const p = poly(
    m,
    [
      7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
      2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
    ],
  );
  let y: V = mul(mul(m, z), p);
  y = add(y, mul(e, fc(-2.1219444e-4)));
  y = sub(y, mul(z, fc(0.5)));
  const r = bind(f, add(add(m, y), mul(e, fc(0.693359375))));
  // Special cases, last one wins: negative → NaN, zero → -inf, +inf → +inf, NaN → NaN.
  let out: V = select(lt(xin, fc(0)), fc(NaN), r);
  out = select(eq(xin, fc(0)), fc(-INF), out);
  out = select(eq(xin, fc(INF)), fc(INF), out);
  return select(ne(xin, xin), xin, out);
}

const dc =
  (c: number): V =>
  (f) =>
    f.v128f64([c, c]);
const dadd = bin("f64x2_add");
const dsub = bin("f64x2_sub");
const dmul = bin("f64x2_mul");
function dpoly(x: V, coeffs: readonly number[]): V {
  let acc: V = dc(coeffs[0]);
  for (const c of coeffs.slice(1)) acc = dadd(dmul(acc, x), dc(c));
  return acc;
}
/** Lanes 2, 3 of a f32x4 moved to lanes 0, 1 (to promote the high half). */
const highHalf =
  (v: V): V =>
  (f) => {
    v(f);
    v(f);
    f.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  };
const promote = un("f64x2_promote_low_f32x4");
const demote = un("f32x4_demote_f64x2_zero");
/** Lanes 0, 1 of a and lanes 0, 1 of b as one f32x4. */
const joinHalves =
  (a: V, b: V): V =>
  (f) => {
    a(f);
    b(f);
    f.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  };

/**
 * sin x (cos x with `cosine`): n = round(x 2/pi) in float32, then the reduction r = x - n pi/2 and
 * fdlibm's sine and cosine kernels on [-pi/4, pi/4] in float64 (f64x2, two lanes at a time), so the
 * float32 result is almost always correctly rounded; the quadrant picks and signs the kernel.
 * Accurate while n pi/2's two-part product is exact (|x| < 2^20); the device redoes |x| > 8192.
 */
export function sincos(f: FunctionBuilder, x0: V, cosine: boolean): V {
  const x = bind(f, x0);
  const n = bind(f, nearest(mul(x, fc(2 / Math.PI))));
  const q = bind(f, cosine ? iadd(toInt(n), ic(1)) : toInt(n));
  const half = (xh: V, nh: V): [V, V] => {
    const nd = bind(f, promote(nh));
    const r = bind(
      f,
      dsub(dsub(promote(xh), dmul(nd, dc(1.57079632673412561417))), dmul(nd, dc(6.07710050650619224932e-11))),
    );
    const z = bind(f, dmul(r, r));
    const s = dadd(
      r,
      dmul(
        dmul(r, z),
        dpoly(
          z,
          [
            1.58969099521155010221e-10, -2.50507602534068634195e-8, 2.75573137070700676789e-6,
            -1.98412698298579493134e-4, 8.33333333332248946124e-3, -1.66666666666666324348e-1,
          ],
        ),
      ),
    );
    const c = dadd(
      dsub(dc(1), dmul(z, dc(0.5))),
      dmul(
        dmul(z, z),
        dpoly(
          z,
          [
            -1.13596475577881948265e-11, 2.0875723212981748279e-9, -2.75573143513906633035e-7,
            2.48015872894767294178e-5, -1.38888888888741095749e-3, 4.16666666666666019037e-2,
          ],
        ),
      ),
    );
    return [bind(f, demote(s)), bind(f, demote(c))];
  };
  const [sLo, cLo] = half(x, n);
  const [sHi, cHi] = half(highHalf(x), highHalf(n));
  const useCos = ieq(and(q, ic(1)), ic(1));
  // Quadrants 2 and 3 negate: bit 1 of q moved to the sign bit.
  return xor(select(useCos, joinHalves(cLo, cHi), joinHalves(sLo, sHi)), shl(and(q, ic(2)), 30));
}

/** tanh x: Cephes' odd polynomial for |x| < 0.625, else sign(x) (1 - 2 / (e^(2|x|) + 1)). */
export function tanh(f: FunctionBuilder, x0: V): V {
  const x = bind(f, x0);
  const a = bind(f, abs(x));
  const z = bind(f, mul(x, x));
  const ps = add(
    x,
    mul(
      mul(x, z),
      poly(z, [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]),
    ),
  );
  const e = exp(f, add(a, a));
  const pl = or(sub(fc(1), div(fc(2), add(e, fc(1)))), and(x, ic(SIGN)));
  return select(lt(a, fc(0.625)), ps, pl);
}

/** logistic x = 1 / (1 + e^-x), computed as e^x / (1 + e^x) for x < 0 (no overflow, subnormals kept). */
export function logistic(f: FunctionBuilder, x0: V): V {
  const x = bind(f, x0);
  const e = bind(f, exp(f, xor(abs(x), ic(SIGN))));
  const r = bind(f, div(fc(1), add(fc(1), e)));
  return select(lt(x, fc(0)), mul(e, r), r);
}
