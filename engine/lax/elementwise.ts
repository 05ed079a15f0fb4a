/**
 * lax's elementwise wrappers: each binds one primitive, with lax's strict rules. There is no implicit
 * promotion: operands of different dtypes raise `lax.sub requires arguments to have the same dtypes,
 * got float32, int32.` as JAX does. JS numbers are weakly typed and take the dtype of the array they
 * meet (JAX only lets Python scalars of a matching kind do so: a fraction with an int array is an error).
 */
import { ShapedArray } from "../core/aval.js";
import { literalArray } from "../core/from-host.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { isFloating, type DType } from "../dtype.js";

export type LaxOperand = Tracer | number | boolean;

function scalarFor(name: string, x: number | boolean, dtype: DType, other: DType): Tracer {
  const fits =
    typeof x === "boolean"
      ? dtype === "bool"
      : isFloating(dtype) || (Number.isInteger(x) && dtype !== "bool");
  if (!fits) {
    const own = typeof x === "boolean" ? "bool" : Number.isInteger(x) ? "int32" : "float32";
    throw new TypeError(`lax.${name} requires arguments to have the same dtypes, got ${other}, ${own}.`);
  }
  return literalArray(x, new ShapedArray([], dtype, true));
}

/** The operands as arrays of one dtype, or lax's error naming the dtypes. */
function operands(name: string, xs: readonly LaxOperand[]): Tracer[] {
  const first = xs.find((x): x is Tracer => x instanceof Tracer);
  const dtype: DType =
    first?.dtype ??
    (xs.every((x) => typeof x === "boolean")
      ? "bool"
      : xs.every((x) => Number.isInteger(x))
        ? "int32"
        : "float32");
  const arrays = xs.map((x) => (x instanceof Tracer ? x : scalarFor(name, x, dtype, dtype)));
  if (arrays.some((a) => a.dtype !== dtype)) {
    throw new TypeError(
      `lax.${name} requires arguments to have the same dtypes, got ${arrays.map((a) => a.dtype).join(", ")}.`,
    );
  }
  return arrays;
}

function unary<P extends Primitive>(prim: P, name: string, params: ParamsOf<P>) {
  return (x: LaxOperand): Tracer => bind1(prim, operands(name, [x]), params);
}
function binary<P extends Primitive>(prim: P, name: string, params: ParamsOf<P>) {
  return (x: LaxOperand, y: LaxOperand): Tracer => bind1(prim, operands(name, [x, y]), params);
}

const none = {} as Record<string, never>;

export const sub = binary(Primitive.Sub, "sub", none);
export const div = binary(Primitive.Div, "div", none);
export const max = binary(Primitive.Max, "max", none);
export const min = binary(Primitive.Min, "min", none);
export const pow = binary(Primitive.Pow, "pow", none);
export const atan2 = binary(Primitive.Atan2, "atan2", none);
export const rem = binary(Primitive.Rem, "rem", none);
export const bitwiseAnd = binary(Primitive.And, "bitwise_and", none);
export const bitwiseOr = binary(Primitive.Or, "bitwise_or", none);
export const bitwiseXor = binary(Primitive.Xor, "bitwise_xor", none);
export const eq = binary(Primitive.Eq, "eq", none);
export const ne = binary(Primitive.Ne, "ne", none);
export const lt = binary(Primitive.Lt, "lt", none);
export const le = binary(Primitive.Le, "le", none);
export const gt = binary(Primitive.Gt, "gt", none);
export const ge = binary(Primitive.Ge, "ge", none);

export const neg = unary(Primitive.Neg, "neg", none);
export const sin = unary(Primitive.Sin, "sin", none);
export const cos = unary(Primitive.Cos, "cos", none);
export const tan = unary(Primitive.Tan, "tan", none);
export const asin = unary(Primitive.Asin, "asin", none);
export const acos = unary(Primitive.Acos, "acos", none);
export const atan = unary(Primitive.Atan, "atan", none);
export const sinh = unary(Primitive.Sinh, "sinh", none);
export const cosh = unary(Primitive.Cosh, "cosh", none);
export const tanh = unary(Primitive.Tanh, "tanh", none);
export const asinh = unary(Primitive.Asinh, "asinh", none);
export const acosh = unary(Primitive.Acosh, "acosh", none);
export const atanh = unary(Primitive.Atanh, "atanh", none);
export const exp = unary(Primitive.Exp, "exp", none);
export const exp2 = unary(Primitive.Exp2, "exp2", none);
export const expm1 = unary(Primitive.Expm1, "expm1", none);
export const log = unary(Primitive.Log, "log", none);
export const log1p = unary(Primitive.Log1p, "log1p", none);
export const logistic = unary(Primitive.Logistic, "logistic", none);
export const sqrt = unary(Primitive.Sqrt, "sqrt", none);
export const rsqrt = unary(Primitive.Rsqrt, "rsqrt", none);
export const cbrt = unary(Primitive.Cbrt, "cbrt", none);
export const abs = unary(Primitive.Abs, "abs", none);
export const sign = unary(Primitive.Sign, "sign", none);
export const floor = unary(Primitive.Floor, "floor", none);
export const ceil = unary(Primitive.Ceil, "ceil", none);
export const erf = unary(Primitive.Erf, "erf", none);
export const isFinite = unary(Primitive.IsFinite, "is_finite", none);
export const bitwiseNot = unary(Primitive.Not, "bitwise_not", none);

/** lax.RoundingMethod. */
export const RoundingMethod = { AWAY_FROM_ZERO: 0, TO_NEAREST_EVEN: 1 } as const;

/** lax.round: halves away from zero by default (jnp.round uses TO_NEAREST_EVEN). */
export function round(x: LaxOperand, roundingMethod: 0 | 1 = RoundingMethod.AWAY_FROM_ZERO): Tracer {
  return bind1(Primitive.Round, operands("round", [x]), { rounding_method: roundingMethod });
}

/** x ** y for a static integer y. */
export function integerPow(x: LaxOperand, y: number): Tracer {
  return bind1(Primitive.IntegerPow, operands("integer_pow", [x]), { y });
}

/** select_n(which, ...cases): cases[which] elementwise (bool: false picks cases[0]). */
export function selectN(which: Tracer, ...cases: LaxOperand[]): Tracer {
  return bind1(Primitive.SelectN, [which, ...operands("select_n", cases)], {});
}

/** lax.select(pred, onTrue, onFalse) = select_n(pred, onFalse, onTrue). */
export function select(pred: Tracer, onTrue: LaxOperand, onFalse: LaxOperand): Tracer {
  return selectN(pred, onFalse, onTrue);
}

export function convertElementType(x: LaxOperand, newDtype: DType): Tracer {
  const a = x instanceof Tracer ? x : operands("convert_element_type", [x])[0];
  return bind1(Primitive.ConvertElementType, [a], { new_dtype: newDtype, weak_type: false });
}
