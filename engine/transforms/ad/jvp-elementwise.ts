/**
 * JVP rules of the elementwise primitives (JAX's `ad.defjvp` entries in lax.py): the tangent is the
 * derivative times the input tangent, computed with primitives on the primal values.
 */
import { Primitive, type ParamsOf } from "../../core/primitive.js";
import { bind, bind1, type Tracer } from "../../core/trace.js";
import {
  add,
  addTangents,
  broadcastTo,
  convert,
  div,
  eq,
  gt,
  instantiate,
  lt,
  mul,
  neg,
  scalar,
  scale,
  selectN,
  sub,
  unary,
  type JvpRule,
} from "./ops.js";
import { Zero, type Tangent } from "./zero.js";

type Rules<K extends Primitive> = { [P in K]: JvpRule<P> };

const one = (x: Tracer) => scalar(1, x.dtype);
const square = (x: Tracer) => mul(x, x);

/** f(x) with tangent t * f'(x), where `deriv(x, out)` gives f'(x) (JAX's `defjvp2` shape). */
function scaled<P extends Primitive>(prim: P, deriv: (x: Tracer, out: Tracer) => Tracer): JvpRule<P> {
  return ([x], [t], params) => {
    const out = bind1(prim, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [mul(t, deriv(x, out))]];
  };
}

/** Piecewise-constant functions (sign, floor, round, comparisons, bit ops): zero tangents. */
function zeroTangent<P extends Primitive>(prim: P): JvpRule<P> {
  return (primals, _tangents, params) => {
    const outs = bind(prim, primals, params);
    return [outs, outs.map((o) => Zero.of(o.aval))];
  };
}

/** Linear in every operand (neg, add, sub, and the linear structural ops): apply it to the tangents. */
function linear<P extends Primitive>(prim: P): JvpRule<P> {
  return (primals, tangents, params) => {
    const outs = bind(prim, primals, params);
    if (tangents.length === 1) {
      const t = tangents[0];
      return [outs, [t instanceof Zero ? Zero.of(outs[0].aval) : bind1(prim, [t], params)]];
    }
    throw new Error(`linear jvp rule of ${prim} applies to one operand`);
  };
}

/** Binary primitives: the sum of the two partials' contributions. */
function binary<P extends Primitive>(
  prim: P,
  dx: (tx: Tracer, x: Tracer, y: Tracer, out: Tracer) => Tracer,
  dy: (ty: Tracer, x: Tracer, y: Tracer, out: Tracer) => Tracer,
): JvpRule<P> {
  return ([x, y], [tx, ty], params) => {
    const out = bind1(prim, [x, y], params);
    const parts: Tangent[] = [
      tx instanceof Zero ? tx : dx(tx, x, y, out),
      ty instanceof Zero ? ty : dy(ty, x, y, out),
    ];
    return [[out], [addTangents(parts, out.aval)]];
  };
}

/**
 * max/min: the tangent of the chosen operand, half of each where they tie (JAX's
 * `_balanced_eq`, so max(x, x) has derivative 1).
 */
function chooser(prim: Primitive.Max | Primitive.Min): JvpRule<typeof prim> {
  const wins = prim === Primitive.Max ? gt : lt;
  const weight = (a: Tracer, b: Tracer) =>
    add(convert(wins(a, b), a.dtype), scale(convert(eq(a, b), a.dtype), 0.5));
  return binary(
    prim,
    (tx, x, y) => mul(tx, weight(x, y)),
    (ty, x, y) => mul(ty, weight(y, x)),
  );
}

const u = (p: Primitive, x: Tracer) => unary(p, x);

const unaryRules: Rules<
  | Primitive.Sin
  | Primitive.Cos
  | Primitive.Tan
  | Primitive.Exp
  | Primitive.Log
  | Primitive.Tanh
  | Primitive.Logistic
  | Primitive.Sqrt
  | Primitive.Rsqrt
  | Primitive.Abs
  | Primitive.Log1p
  | Primitive.Expm1
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
  | Primitive.Erf
  | Primitive.ErfInv
  | Primitive.IntegerPow
> = {
  // d sin x = cos x dx
  [Primitive.Sin]: scaled(Primitive.Sin, (x) => u(Primitive.Cos, x)),
  // d cos x = -sin x dx
  [Primitive.Cos]: scaled(Primitive.Cos, (x) => neg(u(Primitive.Sin, x))),
  // d tan x = (1 + tan^2 x) dx
  [Primitive.Tan]: scaled(Primitive.Tan, (x, out) => add(one(x), square(out))),
  [Primitive.Exp]: scaled(Primitive.Exp, (_x, out) => out),
  // d log x = dx / x
  [Primitive.Log]: ([x], [t]) => {
    const out = u(Primitive.Log, x);
    return [[out], [t instanceof Zero ? t : div(t, x)]];
  },
  // d tanh x = (1 - tanh^2 x) dx
  [Primitive.Tanh]: scaled(Primitive.Tanh, (x, out) => sub(one(x), square(out))),
  // d σ(x) = σ(x) (1 - σ(x)) dx
  [Primitive.Logistic]: scaled(Primitive.Logistic, (x, out) => mul(out, sub(one(x), out))),
  // d sqrt x = dx / (2 sqrt x)
  [Primitive.Sqrt]: ([x], [t]) => {
    const out = u(Primitive.Sqrt, x);
    return [[out], [t instanceof Zero ? t : div(t, scale(out, 2))]];
  },
  // d x^-1/2 = -x^-1/2 / (2x) dx
  [Primitive.Rsqrt]: scaled(Primitive.Rsqrt, (x, out) => scale(div(out, x), -0.5)),
  // d |x| = sign(x) dx
  [Primitive.Abs]: scaled(Primitive.Abs, (x) => u(Primitive.Sign, x)),
  // d log(1 + x) = dx / (1 + x)
  [Primitive.Log1p]: ([x], [t]) => {
    const out = u(Primitive.Log1p, x);
    return [[out], [t instanceof Zero ? t : div(t, add(x, one(x)))]];
  },
  // d (e^x - 1) = e^x dx
  [Primitive.Expm1]: scaled(Primitive.Expm1, (x, out) => add(out, one(x))),
  // d 2^x = 2^x ln 2 dx
  [Primitive.Exp2]: scaled(Primitive.Exp2, (_x, out) => scale(out, Math.LN2)),
  // d x^(1/3) = x^(-2/3) / 3 dx
  [Primitive.Cbrt]: scaled(Primitive.Cbrt, (_x, out) =>
    scale(bind1(Primitive.IntegerPow, [out], { y: -2 }), 1 / 3),
  ),
  // d asin x = dx / sqrt(1 - x^2)
  [Primitive.Asin]: scaled(Primitive.Asin, (x) => u(Primitive.Rsqrt, sub(one(x), square(x)))),
  [Primitive.Acos]: scaled(Primitive.Acos, (x) => neg(u(Primitive.Rsqrt, sub(one(x), square(x))))),
  // d atan x = dx / (1 + x^2)
  [Primitive.Atan]: ([x], [t]) => {
    const out = u(Primitive.Atan, x);
    return [[out], [t instanceof Zero ? t : div(t, add(one(x), square(x)))]];
  },
  [Primitive.Sinh]: scaled(Primitive.Sinh, (x) => u(Primitive.Cosh, x)),
  [Primitive.Cosh]: scaled(Primitive.Cosh, (x) => u(Primitive.Sinh, x)),
  // d asinh x = dx / sqrt(x^2 + 1)
  [Primitive.Asinh]: scaled(Primitive.Asinh, (x) => u(Primitive.Rsqrt, add(square(x), one(x)))),
  // d acosh x = dx / sqrt((x - 1)(x + 1))
  [Primitive.Acosh]: scaled(Primitive.Acosh, (x) => u(Primitive.Rsqrt, mul(sub(x, one(x)), add(x, one(x))))),
  // d atanh x = dx / (1 - x^2)
  [Primitive.Atanh]: ([x], [t]) => {
    const out = u(Primitive.Atanh, x);
    return [[out], [t instanceof Zero ? t : div(t, sub(one(x), square(x)))]];
  },
  // d erf x = 2/sqrt(pi) e^(-x^2) dx
  [Primitive.Erf]: scaled(Primitive.Erf, (x) =>
    scale(u(Primitive.Exp, neg(square(x))), 2 / Math.sqrt(Math.PI)),
  ),
  // d erf^-1 x = sqrt(pi)/2 e^(erf^-1(x)^2) dx
  [Primitive.ErfInv]: scaled(Primitive.ErfInv, (_x, out) =>
    scale(u(Primitive.Exp, square(out)), Math.sqrt(Math.PI) / 2),
  ),
  // d x^n = n x^(n-1) dx
  [Primitive.IntegerPow]: ([x], [t], params) => {
    const out = bind1(Primitive.IntegerPow, [x], params);
    const n = params.y;
    if (t instanceof Zero || n === 0) return [[out], [Zero.of(out.aval)]];
    const d = n === 1 ? scalar(1, x.dtype) : scale(bind1(Primitive.IntegerPow, [x], { y: n - 1 }), n);
    return [[out], [mul(t, d)]];
  },
};

/** log(x) with log(0) replaced by 0, for the y-partial of x^y at x = 0 (JAX's `_replace_zero`). */
function safeLog(x: Tracer): Tracer {
  return u(Primitive.Log, selectN(eq(x, scalar(0, x.dtype)), [x, broadcastTo(scalar(1, x.dtype), x.shape)]));
}

export const elementwiseJvpRules: Rules<
  | Primitive.Neg
  | Primitive.Sign
  | Primitive.Floor
  | Primitive.Ceil
  | Primitive.Round
  | Primitive.IsFinite
  | Primitive.Add
  | Primitive.Sub
  | Primitive.Mul
  | Primitive.Div
  | Primitive.Max
  | Primitive.Min
  | Primitive.Pow
  | Primitive.Atan2
  | Primitive.Rem
  | Primitive.Eq
  | Primitive.Ne
  | Primitive.Lt
  | Primitive.Le
  | Primitive.Gt
  | Primitive.Ge
  | Primitive.And
  | Primitive.Or
  | Primitive.Xor
  | Primitive.Not
  | Primitive.SelectN
  | Primitive.ConvertElementType
  | keyof typeof unaryRules
> = {
  ...unaryRules,
  [Primitive.Neg]: linear(Primitive.Neg),
  [Primitive.Sign]: zeroTangent(Primitive.Sign),
  [Primitive.Floor]: zeroTangent(Primitive.Floor),
  [Primitive.Ceil]: zeroTangent(Primitive.Ceil),
  [Primitive.Round]: zeroTangent(Primitive.Round),
  [Primitive.IsFinite]: zeroTangent(Primitive.IsFinite),
  [Primitive.Eq]: zeroTangent(Primitive.Eq),
  [Primitive.Ne]: zeroTangent(Primitive.Ne),
  [Primitive.Lt]: zeroTangent(Primitive.Lt),
  [Primitive.Le]: zeroTangent(Primitive.Le),
  [Primitive.Gt]: zeroTangent(Primitive.Gt),
  [Primitive.Ge]: zeroTangent(Primitive.Ge),
  [Primitive.And]: zeroTangent(Primitive.And),
  [Primitive.Or]: zeroTangent(Primitive.Or),
  [Primitive.Xor]: zeroTangent(Primitive.Xor),
  [Primitive.Not]: zeroTangent(Primitive.Not),

  [Primitive.Add]: binary(
    Primitive.Add,
    (tx) => tx,
    (ty) => ty,
  ),
  [Primitive.Sub]: binary(
    Primitive.Sub,
    (tx) => tx,
    (ty) => neg(ty),
  ),
  // d(xy) = y dx + x dy
  [Primitive.Mul]: binary(
    Primitive.Mul,
    (tx, _x, y) => mul(tx, y),
    (ty, x) => mul(x, ty),
  ),
  // d(x/y) = dx / y - (x/y) dy / y
  [Primitive.Div]: binary(
    Primitive.Div,
    (tx, _x, y) => div(tx, y),
    (ty, _x, y, out) => neg(mul(ty, div(out, y))),
  ),
  [Primitive.Max]: chooser(Primitive.Max),
  [Primitive.Min]: chooser(Primitive.Min),
  // d x^y = y x^(y-1) dx + log(x) x^y dy
  [Primitive.Pow]: binary(
    Primitive.Pow,
    (tx, x, y) => mul(tx, mul(y, bind1(Primitive.Pow, [x, sub(y, scalar(1, y.dtype))], {}))),
    (ty, x, _y, out) => mul(ty, mul(safeLog(x), out)),
  ),
  // atan2(x, y) = atan(x / y): d = (y dx - x dy) / (x^2 + y^2)
  [Primitive.Atan2]: binary(
    Primitive.Atan2,
    (tx, x, y) => mul(tx, div(y, add(square(x), square(y)))),
    (ty, x, y) => neg(mul(ty, div(x, add(square(x), square(y))))),
  ),
  // rem(x, y) = x - y trunc(x / y): d = dx - trunc(x / y) dy (JAX's rem jvp)
  [Primitive.Rem]: binary(
    Primitive.Rem,
    (tx) => tx,
    (ty, x, y) => {
      const q = div(x, y);
      return neg(mul(ty, mul(u(Primitive.Sign, q), u(Primitive.Floor, u(Primitive.Abs, q)))));
    },
  ),

  // select_n(which, *cases): the tangent of the chosen case (the predicate has none).
  [Primitive.SelectN]: ([which, ...cases], [, ...tangents]) => {
    const out = selectN(which, cases);
    if (tangents.every((t) => t instanceof Zero)) return [[out], [Zero.of(out.aval)]];
    return [[out], [selectN(which, tangents.map(instantiate))]];
  },
  // Between floating dtypes the tangent is converted; to or from integers it is zero.
  [Primitive.ConvertElementType]: ([x], [t], params) => {
    const out = bind1(Primitive.ConvertElementType, [x], params);
    if (t instanceof Zero || out.dtype === "bool" || !["float32", "float16"].includes(out.dtype))
      return [[out], [Zero.of(out.aval)]];
    return [[out], [convert(t, out.dtype)]];
  },
};

export { linear, zeroTangent };
export type { ParamsOf };
