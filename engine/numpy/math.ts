/**
 * More numpy math, as jax.numpy defines it: inexact functions bind one primitive after promoting to
 * float (exp2, cbrt, arcsin, ...); the rest compose primitives the way JAX does (log2 = log x / log 2,
 * trunc, clip via maximum/minimum, Python-style remainder and floor division, jnp.round half to even).
 */
import { ShapedArray } from "../core/aval.js";
import { literalArray } from "../core/from-host.js";
import { Primitive, type UnaryPrimitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { isFloating, isInteger, type DType } from "../dtype.js";
import type { ElementwiseMathPrimitive } from "../primitives/elementwise-math.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { ceil, floor, maximum, minimum, promoteNumeric, where } from "./elementwise.js";
import { promoteArgs, promoteToFloat } from "./promote.js";

/** A strongly typed scalar constant (JAX's _constant_like / _lax_const). */
const constant = (value: number, dtype: DType): Tracer => literalArray(value, new ShapedArray([], dtype));

function inexact(prim: ElementwiseMathPrimitive | UnaryPrimitive) {
  return (x: ArrayLike): Tracer => bind1(prim, [promoteToFloat(asArray(x))], {});
}

export const exp2 = inexact(Primitive.Exp2);
export const cbrt = inexact(Primitive.Cbrt);
export const arcsin = inexact(Primitive.Asin);
export const arccos = inexact(Primitive.Acos);
export const arctan = inexact(Primitive.Atan);
export const sinh = inexact(Primitive.Sinh);
export const cosh = inexact(Primitive.Cosh);
export const arcsinh = inexact(Primitive.Asinh);
export const arccosh = inexact(Primitive.Acosh);
export const arctanh = inexact(Primitive.Atanh);

/** atan(x1 / x2) in the quadrant of (x2, x1). */
export function arctan2(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = promoteArgs("jnp.arctan2", x1, x2).map(promoteToFloat);
  return bind1(Primitive.Atan2, [a, b], {});
}

function logBase(base: number) {
  return (x: ArrayLike): Tracer => {
    const a = promoteToFloat(asArray(x));
    const num = bind1(Primitive.Log, [a], {});
    return bind1(Primitive.Div, [num, bind1(Primitive.Log, [constant(base, a.dtype)], {})], {});
  };
}
export const log2 = logBase(2);
export const log10 = logBase(10);

/** log(exp(x1) + exp(x2)) without overflow: max + log1p(exp(-|x1 - x2|)); NaN or same-sign inf: x1 + x2. */
export function logaddexp(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = promoteArgs("jnp.logaddexp", x1, x2).map(promoteToFloat);
  const amax = bind1(Primitive.Max, [a, b], {});
  const delta = bind1(Primitive.Sub, [a, b], {});
  const tail = bind1(
    Primitive.Log1p,
    [bind1(Primitive.Exp, [bind1(Primitive.Neg, [bind1(Primitive.Abs, [delta], {})], {})], {})],
    {},
  );
  const isNan = bind1(Primitive.Ne, [delta, delta], {});
  return bind1(
    Primitive.SelectN,
    [isNan, bind1(Primitive.Add, [amax, tail], {}), bind1(Primitive.Add, [a, b], {})],
    {},
  );
}

export interface RoundOptions {
  decimals?: number;
}

/** Round half to even (numpy); integers are returned unchanged; `decimals` scales by 10^decimals. */
export function round(x: ArrayLike, decimals: number | RoundOptions = 0): Tracer {
  const d = typeof decimals === "number" ? decimals : (decimals.decimals ?? 0);
  if (!Number.isInteger(d)) throw new TypeError(`jnp.round: decimals must be an integer, got ${d}`);
  const a = asArray(x);
  if (a.dtype === "bool") throw new TypeError("jnp.round does not accept dtype bool");
  if (isInteger(a.dtype)) {
    if (d < 0) throw new TypeError(`jnp.round: integer rounding with decimals < 0 (${d}) is not implemented`);
    return a;
  }
  if (d === 0) return bind1(Primitive.Round, [a], { rounding_method: 1 });
  const factor = constant(10 ** d, a.dtype);
  const scaled = bind1(Primitive.Round, [bind1(Primitive.Mul, [a, factor], {})], { rounding_method: 1 });
  return bind1(Primitive.Div, [scaled, factor], {});
}
export const around = round;

/** Rounds toward zero: ceil below 0, floor above; integers unchanged. */
export function trunc(x: ArrayLike): Tracer {
  const a = asArray(x);
  if (!isFloating(a.dtype)) return a;
  return where(bind1(Primitive.Lt, [a, constant(0, a.dtype)], {}), ceil(a), floor(a));
}
export const fix = trunc;

export interface ClipOptions {
  min?: ArrayLike | null;
  max?: ArrayLike | null;
}

function isClipOptions(x: unknown): x is ClipOptions {
  return (
    typeof x === "object" &&
    x !== null &&
    !Array.isArray(x) &&
    !ArrayBuffer.isView(x) &&
    !(x instanceof Tracer)
  );
}

/** Limits values to [min, max] (either may be omitted): maximum(min, x), then minimum(max, x). */
export function clip(x: ArrayLike, min?: ArrayLike | ClipOptions | null, max?: ArrayLike | null): Tracer {
  let lo = min;
  let hi = max;
  if (isClipOptions(min)) ({ min: lo, max: hi } = min);
  let out = asArray(x);
  if (lo !== undefined && lo !== null) out = maximum(lo as ArrayLike, out);
  if (hi !== undefined && hi !== null) out = minimum(hi, out);
  return out;
}

function numericArgs(name: string, x1: ArrayLike, x2: ArrayLike): [Tracer, Tracer] {
  const [a, b] = promoteArgs(`jnp.${name}`, x1, x2).map(promoteNumeric);
  return [a, b];
}

/** Integer divisors of 0 become 1 (JAX's fmod/remainder avoid integer division by zero). */
function nonzeroDivisor(b: Tracer): Tracer {
  if (!isInteger(b.dtype)) return b;
  return where(bind1(Primitive.Eq, [b, constant(0, b.dtype)], {}), constant(1, b.dtype), b);
}

/** C's fmod: the remainder has the sign of the dividend. */
export function fmod(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = numericArgs("fmod", x1, x2);
  return bind1(Primitive.Rem, [a, nonzeroDivisor(b)], {});
}

/** Python's %: the remainder has the sign of the divisor (rem, plus the divisor where signs differ). */
export function remainder(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b0] = numericArgs("remainder", x1, x2);
  const b = nonzeroDivisor(b0);
  const zero = constant(0, a.dtype);
  const mod = bind1(Primitive.Rem, [a, b], {});
  const lt = (t: Tracer) => bind1(Primitive.Lt, [t, zero], {});
  const doPlus = bind1(
    Primitive.And,
    [bind1(Primitive.Ne, [lt(mod), lt(b)], {}), bind1(Primitive.Ne, [mod, zero], {})],
    {},
  );
  return bind1(Primitive.SelectN, [doPlus, mod, bind1(Primitive.Add, [mod, b], {})], {});
}
export const mod = remainder;

/** Python's //: rounds the quotient toward -inf (for floats via CPython's float_divmod, as JAX). */
export function floorDivide(x1: ArrayLike, x2: ArrayLike): Tracer {
  const [a, b] = numericArgs("floorDivide", x1, x2);
  if (a.dtype === "uint32") return bind1(Primitive.Div, [a, b], {});
  const sign = (t: Tracer) => bind1(Primitive.Sign, [t], {});
  const ne = (p: Tracer, q: Tracer) => bind1(Primitive.Ne, [p, q], {});
  const one = constant(1, a.dtype);
  const zero = constant(0, a.dtype);
  if (a.dtype === "int32") {
    const quotient = bind1(Primitive.Div, [a, b], {});
    const select = bind1(
      Primitive.And,
      [ne(sign(a), sign(b)), ne(bind1(Primitive.Rem, [a, b], {}), zero)],
      {},
    );
    return where(select, bind1(Primitive.Sub, [quotient, one], {}), quotient);
  }
  const m = bind1(Primitive.Rem, [a, b], {});
  let div = bind1(Primitive.Div, [bind1(Primitive.Sub, [a, m], {}), b], {});
  const ind = bind1(Primitive.And, [ne(m, zero), ne(sign(b), sign(m))], {});
  div = bind1(Primitive.SelectN, [ind, div, bind1(Primitive.Sub, [div, one], {})], {});
  return bind1(Primitive.Round, [div], { rounding_method: 0 });
}

/** +x: the array itself (numeric dtypes). */
export function positive(x: ArrayLike): Tracer {
  return asArray(x);
}
