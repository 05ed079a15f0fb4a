/**
 * `lax`: thin wrappers that bind one primitive each, with lax's strict rules (operands already of one
 * dtype and shape, no implicit promotion), as in `jax.lax`.
 */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";

export function add(x: Tracer, y: Tracer): Tracer {
  return bind1(Primitive.Add, [x, y], {});
}

export function mul(x: Tracer, y: Tracer): Tracer {
  return bind1(Primitive.Mul, [x, y], {});
}

// [elementwise] lax
export * from "./elementwise.js";
// [end elementwise]

// [reductions-linalg] lax
export {
  dotGeneral,
  dot,
  reduceSum,
  reduceMax,
  reduceMin,
  reduceProd,
  reduceAnd,
  reduceOr,
  argmax,
  argmin,
  cumsum,
  cumprod,
  cummax,
  cummin,
  type DotDimensionNumbers,
  type DotOptions,
  type CumulativeOptions,
} from "./reductions-linalg.js";
// [end reductions-linalg]

// [shape-indexing] lax
export {
  concatenate,
  pad,
  slice,
  rev,
  squeeze,
  expandDims,
  dynamicSlice,
  dynamicSlice as dynamic_slice,
  dynamicUpdateSlice,
  dynamicUpdateSlice as dynamic_update_slice,
  gather,
  scatter,
  scatterAdd,
  scatterAdd as scatter_add,
  scatterMul,
  scatterMin,
  scatterMax,
  GatherDimensionNumbers,
  ScatterDimensionNumbers,
  GatherScatterMode,
  type PaddingConfig,
  type GatherOptions,
  type ScatterOptions,
  type GatherDimensionNumbersInit,
  type ScatterDimensionNumbersInit,
  type GatherScatterModeLike,
} from "./slicing.js";
// [end shape-indexing]

// [random-sort] lax
export {
  iota,
  broadcastedIota,
  sort,
  sortKeyVal,
  erfInv,
  threefry2x32,
  type SortOptions,
} from "./random-sort.js";
// [end random-sort]

export { psum, pmean, pmax, pmin, allGather, all_gather } from "./collectives.js";

// [jit] lax
// [end jit]

// [control-flow] lax
export {
  cond,
  switch_ as switch,
  whileLoop,
  forLoop,
  foriLoop,
  scan,
  map,
  type ScanOptions,
} from "./control-flow.js";
export {
  associativeScan,
  associativeScan as associative_scan,
  type AssociativeScanOptions,
} from "./associative-scan.js";
// [end control-flow]

// [autodiff] lax
export { axisIndex, axisIndex as axis_index } from "./axis-index.js";
export { stopGradient, stopGradient as stop_gradient } from "../transforms/custom-derivatives.js";
// [end autodiff]
