/**
 * The primitives: the small set of operations everything in the engine lowers to. Names are JAX's
 * (`lax` primitive names), so printed jaxprs read like JAX's. Each transform keeps a rule table keyed
 * by this enum (`Record<Primitive, ...>`), so adding a primitive without its rules is a type error.
 */
import type { DType } from "../dtype.js";

export enum Primitive {
  // elementwise unary
  Neg = "neg",
  Sin = "sin",
  Cos = "cos",
  Tan = "tan",
  Exp = "exp",
  Log = "log",
  Tanh = "tanh",
  Logistic = "logistic",
  Sqrt = "sqrt",
  Rsqrt = "rsqrt",
  Abs = "abs",
  Sign = "sign",
  Floor = "floor",
  Ceil = "ceil",
  Log1p = "log1p",
  Expm1 = "expm1",
  // elementwise binary
  Add = "add",
  Sub = "sub",
  Mul = "mul",
  Div = "div",
  Max = "max",
  Min = "min",
  Pow = "pow",
  // comparisons (result bool)
  Eq = "eq",
  Ne = "ne",
  Lt = "lt",
  Le = "le",
  Gt = "gt",
  Ge = "ge",
  // selection and conversion
  SelectN = "select_n",
  ConvertElementType = "convert_element_type",
  // structural
  BroadcastInDim = "broadcast_in_dim",
  Reshape = "reshape",
  Transpose = "transpose",
  // reductions
  ReduceSum = "reduce_sum",
  ReduceMax = "reduce_max",

  // [elementwise] primitives
  Exp2 = "exp2",
  Cbrt = "cbrt",
  Asin = "asin",
  Acos = "acos",
  Atan = "atan",
  Sinh = "sinh",
  Cosh = "cosh",
  Asinh = "asinh",
  Acosh = "acosh",
  Atanh = "atanh",
  Erf = "erf",
  Round = "round",
  IsFinite = "is_finite",
  IntegerPow = "integer_pow",
  Atan2 = "atan2",
  Rem = "rem",
  And = "and",
  Or = "or",
  Xor = "xor",
  Not = "not",
  // [end elementwise]

  // [reductions-linalg] primitives
  // [end reductions-linalg]

  // [shape-indexing] primitives
  // [end shape-indexing]

  // [random-sort] primitives
  // [end random-sort]
}

export const UNARY_PRIMITIVES = [
  Primitive.Neg,
  Primitive.Sin,
  Primitive.Cos,
  Primitive.Tan,
  Primitive.Exp,
  Primitive.Log,
  Primitive.Tanh,
  Primitive.Logistic,
  Primitive.Sqrt,
  Primitive.Rsqrt,
  Primitive.Abs,
  Primitive.Sign,
  Primitive.Floor,
  Primitive.Ceil,
  Primitive.Log1p,
  Primitive.Expm1,
] as const;
export type UnaryPrimitive = (typeof UNARY_PRIMITIVES)[number];

export const BINARY_PRIMITIVES = [
  Primitive.Add,
  Primitive.Sub,
  Primitive.Mul,
  Primitive.Div,
  Primitive.Max,
  Primitive.Min,
  Primitive.Pow,
] as const;
export type BinaryPrimitive = (typeof BINARY_PRIMITIVES)[number];

export const COMPARE_PRIMITIVES = [
  Primitive.Eq,
  Primitive.Ne,
  Primitive.Lt,
  Primitive.Le,
  Primitive.Gt,
  Primitive.Ge,
] as const;
export type ComparePrimitive = (typeof COMPARE_PRIMITIVES)[number];

export const REDUCE_PRIMITIVES = [Primitive.ReduceSum, Primitive.ReduceMax] as const;
export type ReducePrimitive = (typeof REDUCE_PRIMITIVES)[number];

export type NoParams = Record<string, never>;

/**
 * The parameters each primitive takes (JAX's param names, snake_case as JAX prints them). Every
 * primitive must have an entry: `ParamsOf<P>` does not compile for one that lacks it.
 */
export interface PrimitiveParams {
  [Primitive.Neg]: NoParams;
  [Primitive.Sin]: NoParams;
  [Primitive.Cos]: NoParams;
  [Primitive.Tan]: NoParams;
  [Primitive.Exp]: NoParams;
  [Primitive.Log]: NoParams;
  [Primitive.Tanh]: NoParams;
  [Primitive.Logistic]: NoParams;
  [Primitive.Sqrt]: NoParams;
  [Primitive.Rsqrt]: NoParams;
  [Primitive.Abs]: NoParams;
  [Primitive.Sign]: NoParams;
  [Primitive.Floor]: NoParams;
  [Primitive.Ceil]: NoParams;
  [Primitive.Log1p]: NoParams;
  [Primitive.Expm1]: NoParams;
  [Primitive.Add]: NoParams;
  [Primitive.Sub]: NoParams;
  [Primitive.Mul]: NoParams;
  [Primitive.Div]: NoParams;
  [Primitive.Max]: NoParams;
  [Primitive.Min]: NoParams;
  [Primitive.Pow]: NoParams;
  [Primitive.Eq]: NoParams;
  [Primitive.Ne]: NoParams;
  [Primitive.Lt]: NoParams;
  [Primitive.Le]: NoParams;
  [Primitive.Gt]: NoParams;
  [Primitive.Ge]: NoParams;
  [Primitive.SelectN]: NoParams;
  [Primitive.ConvertElementType]: { new_dtype: DType; weak_type: boolean };
  [Primitive.BroadcastInDim]: { shape: readonly number[]; broadcast_dimensions: readonly number[] };
  [Primitive.Reshape]: { new_sizes: readonly number[]; dimensions: null };
  [Primitive.Transpose]: { permutation: readonly number[] };
  [Primitive.ReduceSum]: { axes: readonly number[] };
  [Primitive.ReduceMax]: { axes: readonly number[] };

  // [elementwise] params
  [Primitive.Exp2]: NoParams;
  [Primitive.Cbrt]: NoParams;
  [Primitive.Asin]: NoParams;
  [Primitive.Acos]: NoParams;
  [Primitive.Atan]: NoParams;
  [Primitive.Sinh]: NoParams;
  [Primitive.Cosh]: NoParams;
  [Primitive.Asinh]: NoParams;
  [Primitive.Acosh]: NoParams;
  [Primitive.Atanh]: NoParams;
  [Primitive.Erf]: NoParams;
  /** lax.RoundingMethod: 0 = AWAY_FROM_ZERO (lax.round's default), 1 = TO_NEAREST_EVEN (jnp.round). */
  [Primitive.Round]: { rounding_method: 0 | 1 };
  [Primitive.IsFinite]: NoParams;
  /** x ** y for a static integer y (jnp.power with a JS integer exponent). */
  [Primitive.IntegerPow]: { y: number };
  [Primitive.Atan2]: NoParams;
  [Primitive.Rem]: NoParams;
  [Primitive.And]: NoParams;
  [Primitive.Or]: NoParams;
  [Primitive.Xor]: NoParams;
  [Primitive.Not]: NoParams;
  // [end elementwise]

  // [reductions-linalg] params
  // [end reductions-linalg]

  // [shape-indexing] params
  // [end shape-indexing]

  // [random-sort] params
  // [end random-sort]
}

export type ParamsOf<P extends Primitive> = PrimitiveParams[P];

/** Any primitive's parameters, for code that handles primitives generically. */
export type AnyParams = { [P in Primitive]: ParamsOf<P> }[Primitive];

export function isUnary(p: Primitive): p is UnaryPrimitive {
  return (UNARY_PRIMITIVES as readonly Primitive[]).includes(p);
}
export function isBinary(p: Primitive): p is BinaryPrimitive {
  return (BINARY_PRIMITIVES as readonly Primitive[]).includes(p);
}
export function isCompare(p: Primitive): p is ComparePrimitive {
  return (COMPARE_PRIMITIVES as readonly Primitive[]).includes(p);
}
export function isReduce(p: Primitive): p is ReducePrimitive {
  return (REDUCE_PRIMITIVES as readonly Primitive[]).includes(p);
}
