/** The numpy namespace (`jnp`): numpy's names in camelCase, with lax-style short aliases. */
export {
  array,
  asArray as asarray,
  type ArrayLike,
  type ArrayOptions,
  type NestedNumbers,
} from "./array-like.js";
export { full, zeros, ones, zerosLike, onesLike, arange, linspace, eye, identity } from "./creation.js";
export {
  negative,
  abs,
  sign,
  sin,
  cos,
  tan,
  exp,
  log,
  tanh,
  sqrt,
  rsqrt,
  floor,
  ceil,
  log1p,
  expm1,
  add,
  subtract,
  multiply,
  divide,
  trueDivide,
  power,
  square,
  reciprocal,
  maximum,
  minimum,
  equal,
  notEqual,
  less,
  lessEqual,
  greater,
  greaterEqual,
  where,
  astype,
} from "./elementwise.js";
export { sum, max, mean, type ReduceOptions, type AxisArg } from "./reductions.js";
export { reshape, ravel, transpose, broadcastTo, expandDims, squeeze } from "./shape-ops.js";
export type { DType } from "../dtype.js";

// [elementwise] exports
export {
  exp2,
  log2,
  log10,
  cbrt,
  arcsin,
  arccos,
  arctan,
  arctan2,
  sinh,
  cosh,
  arcsinh,
  arccosh,
  arctanh,
  arcsin as asin,
  arccos as acos,
  arctan as atan,
  arctan2 as atan2,
  arcsinh as asinh,
  arccosh as acosh,
  arctanh as atanh,
  logaddexp,
  round,
  around,
  trunc,
  fix,
  clip,
  fmod,
  remainder,
  mod,
  floorDivide,
  positive,
  type RoundOptions,
  type ClipOptions,
} from "./math.js";
export {
  isnan,
  isinf,
  isfinite,
  logicalAnd,
  logicalOr,
  logicalNot,
  logicalXor,
  bitwiseAnd,
  bitwiseOr,
  bitwiseXor,
  bitwiseNot,
  invert,
} from "./logical.js";
// [end elementwise]

// [reductions-linalg] exports
export {
  prod,
  min,
  all,
  any,
  var_ as var,
  std,
  argmax,
  argmin,
  type VarOptions,
  type ArgOptions,
} from "./reductions.js";
export { cumsum, cumprod, type CumulativeOptions } from "./cumulative.js";
export { dot, vdot, inner, outer, tensordot, matmul } from "./linalg.js";
export { einsum } from "./einsum.js";
// [end reductions-linalg]

// [shape-indexing] exports
export {
  concatenate,
  stack,
  hstack,
  vstack,
  split,
  tile,
  repeat,
  type AxisOption,
  type RepeatOptions,
} from "./joining.js";
export {
  moveaxis,
  swapaxes,
  flip,
  roll,
  pad,
  type PadWidth,
  type PadMode,
  type PadOptions,
} from "./rearrange.js";
export { take, takeAlongAxis, type TakeOptions, type TakeAlongAxisOptions } from "./take.js";
export {
  index,
  IndexUpdateRef,
  type Index,
  type SliceSpec,
  type GetOptions,
  type UpdateOptions,
} from "./indexing.js";
// [end shape-indexing]

// [random-sort] exports
export { sort, argsort, type SortOptions } from "./sorting.js";
export { tri, tril, triu, empty, emptyLike, fullLike } from "./creation.js";
// [end random-sort]

// lax-style aliases (jax-js and lax users write these).
export {
  subtract as sub,
  multiply as mul,
  divide as div,
  negative as neg,
  power as pow,
  absolute,
} from "./aliases.js";
