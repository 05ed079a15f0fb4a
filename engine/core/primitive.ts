/**
 * The primitives: the small set of operations everything in the engine lowers to. Names are JAX's
 * (`lax` primitive names), so printed jaxprs read like JAX's. Each transform keeps a rule table keyed
 * by this enum (`Record<Primitive, ...>`), so adding a primitive without its rules is a type error.
 */
import type { DType } from "../dtype.js";
// [shape-indexing] imports
import type { GatherParams, ScatterParams } from "./dimension-numbers.js";
// [end shape-indexing]
// [jit] imports (also used by control flow)
import type { ClosedJaxpr } from "./jaxpr.js";
// [end jit]
// [autodiff] imports
import type { ShapedArray } from "./aval.js";
import type { CustomBwd } from "../transforms/ad/custom-bwd.js";
// [end autodiff]

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
  ReduceMin = "reduce_min",
  ReduceProd = "reduce_prod",
  ReduceAnd = "reduce_and",
  ReduceOr = "reduce_or",
  Argmax = "argmax",
  Argmin = "argmin",
  Cumsum = "cumsum",
  Cumprod = "cumprod",
  Cummax = "cummax",
  Cummin = "cummin",
  DotGeneral = "dot_general",
  // [end reductions-linalg]

  // [shape-indexing] primitives
  Concatenate = "concatenate",
  Pad = "pad",
  Slice = "slice",
  Rev = "rev",
  Squeeze = "squeeze",
  DynamicSlice = "dynamic_slice",
  DynamicUpdateSlice = "dynamic_update_slice",
  Gather = "gather",
  Scatter = "scatter",
  ScatterAdd = "scatter-add",
  ScatterMul = "scatter-mul",
  ScatterMin = "scatter-min",
  ScatterMax = "scatter-max",
  // [end shape-indexing]

  // [random-sort] primitives
  Iota = "iota",
  Sort = "sort",
  ErfInv = "erf_inv",
  Threefry2x32 = "threefry2x32",
  RandomBits = "random_bits",
  RandomSplit = "random_split",
  RandomFoldIn = "random_fold_in",
  // [end random-sort]

  // collectives over a named (vmapped) axis
  Psum = "psum",
  Pmax = "pmax",
  Pmin = "pmin",
  AllGather = "all_gather",

  // [jit] primitives
  /** jit's call primitive: runs a closed jaxpr as one program (JAX's `pjit_p`). */
  Pjit = "pjit",
  // [end jit]

  // [control-flow] primitives
  Cond = "cond",
  While = "while",
  Scan = "scan",
  // [end control-flow]

  // [autodiff] primitives
  StopGradient = "stop_gradient",
  /** The linear part of a custom_vjp function: its transpose calls the user's bwd (JAX's custom_lin). */
  CustomLin = "custom_lin",
  /** This example's index along a named vmapped axis (for all_gather's transpose). */
  AxisIndex = "axis_index",
  // [end autodiff]
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

/** The other elementwise math and bitwise primitives (the elementwise-math area's). */
export const MORE_ELEMENTWISE_PRIMITIVES = [
  Primitive.Exp2,
  Primitive.Cbrt,
  Primitive.Asin,
  Primitive.Acos,
  Primitive.Atan,
  Primitive.Sinh,
  Primitive.Cosh,
  Primitive.Asinh,
  Primitive.Acosh,
  Primitive.Atanh,
  Primitive.Erf,
  Primitive.ErfInv,
  Primitive.Round,
  Primitive.IsFinite,
  Primitive.IntegerPow,
  Primitive.Atan2,
  Primitive.Rem,
  Primitive.And,
  Primitive.Or,
  Primitive.Xor,
  Primitive.Not,
] as const;

export const REDUCE_PRIMITIVES = [Primitive.ReduceSum, Primitive.ReduceMax] as const;

/** The scatters: same operands (operand, indices, updates) and params, different combiners. */
export type ScatterPrimitive =
  | Primitive.Scatter
  | Primitive.ScatterAdd
  | Primitive.ScatterMul
  | Primitive.ScatterMin
  | Primitive.ScatterMax;
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
  [Primitive.ReduceMin]: { axes: readonly number[] };
  [Primitive.ReduceProd]: { axes: readonly number[] };
  [Primitive.ReduceAnd]: { axes: readonly number[] };
  [Primitive.ReduceOr]: { axes: readonly number[] };
  [Primitive.Argmax]: { axes: readonly number[]; index_dtype: DType };
  [Primitive.Argmin]: { axes: readonly number[]; index_dtype: DType };
  [Primitive.Cumsum]: { axis: number; reverse: boolean };
  [Primitive.Cumprod]: { axis: number; reverse: boolean };
  [Primitive.Cummax]: { axis: number; reverse: boolean };
  [Primitive.Cummin]: { axis: number; reverse: boolean };
  /** ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch)), as lax.dot_general takes them. */
  [Primitive.DotGeneral]: {
    dimension_numbers: readonly [
      readonly [readonly number[], readonly number[]],
      readonly [readonly number[], readonly number[]],
    ];
    precision: null;
    /** The result dtype; null (lax.dot_general's default) means the operands' dtype. */
    preferred_element_type: DType | null;
  };
  // [end reductions-linalg]

  // [shape-indexing] params
  [Primitive.Concatenate]: { dimension: number };
  /** (low, high, interior) per axis; low/high may be negative (cropping), as in lax.pad. */
  [Primitive.Pad]: { padding_config: readonly (readonly [number, number, number])[] };
  [Primitive.Slice]: {
    start_indices: readonly number[];
    limit_indices: readonly number[];
    strides: readonly number[] | null;
  };
  [Primitive.Rev]: { dimensions: readonly number[] };
  [Primitive.Squeeze]: { dimensions: readonly number[] };
  [Primitive.DynamicSlice]: { slice_sizes: readonly number[] };
  [Primitive.DynamicUpdateSlice]: NoParams;
  [Primitive.Gather]: GatherParams;
  [Primitive.Scatter]: ScatterParams;
  [Primitive.ScatterAdd]: ScatterParams;
  [Primitive.ScatterMul]: ScatterParams;
  [Primitive.ScatterMin]: ScatterParams;
  [Primitive.ScatterMax]: ScatterParams;
  // [end shape-indexing]

  // [random-sort] params
  [Primitive.Iota]: { dtype: DType; shape: readonly number[]; dimension: number; sharding: null };
  [Primitive.Sort]: { dimension: number; is_stable: boolean; num_keys: number };
  [Primitive.ErfInv]: NoParams;
  [Primitive.Threefry2x32]: NoParams;
  // JAX's random_bits/random_split/random_fold_in take typed key arrays; ours take the raw uint32
  // key data (shape (..., 2)), as JAX's legacy PRNGKey arrays are, with no random_wrap in between.
  [Primitive.RandomBits]: { bit_width: number; shape: readonly number[] };
  [Primitive.RandomSplit]: { shape: readonly number[] };
  [Primitive.RandomFoldIn]: NoParams;
  // [end random-sort]

  [Primitive.Psum]: { axes: readonly string[]; axis_index_groups: null };
  [Primitive.Pmax]: { axes: readonly string[]; axis_index_groups: null };
  [Primitive.Pmin]: { axes: readonly string[]; axis_index_groups: null };
  [Primitive.AllGather]: {
    all_gather_dimension: number;
    axis_index_groups: null;
    axis_name: string;
    axis_size: number;
    tiled: boolean;
  };

  // [jit] params
  // JAX's pjit also has shardings, donated_invars, inline, keep_unused... which its printer hides
  // at their defaults; we keep only the two it shows.
  [Primitive.Pjit]: { jaxpr: ClosedJaxpr; name: string };
  // [end jit]

  // [control-flow] params
  // Operands: the branch index (int32), then the operands every branch takes (closed-over values
  // first, as JAX hoists a branch's consts into operands).
  [Primitive.Cond]: { branches: readonly ClosedJaxpr[] };
  // Operands: cond consts, body consts, then the carry.
  [Primitive.While]: {
    body_jaxpr: ClosedJaxpr;
    body_nconsts: number;
    cond_jaxpr: ClosedJaxpr;
    cond_nconsts: number;
  };
  // Operands: consts, carry, xs (stacked along axis 0); results: carry, ys (stacked along axis 0).
  [Primitive.Scan]: {
    _split_transpose: boolean;
    jaxpr: ClosedJaxpr;
    length: number;
    linear: readonly boolean[];
    num_carry: number;
    num_consts: number;
    reverse: boolean;
    unroll: number;
  };
  // [end control-flow]

  // [autodiff] params
  [Primitive.StopGradient]: NoParams;
  /** Operands: num_res residuals, then the tangents of the custom_vjp function's inputs. */
  [Primitive.CustomLin]: {
    bwd: CustomBwd;
    num_res: number;
    out_avals: readonly ShapedArray[];
    symbolic_zeros: boolean;
  };
  [Primitive.AxisIndex]: { axis_name: string };
  // [end autodiff]
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
