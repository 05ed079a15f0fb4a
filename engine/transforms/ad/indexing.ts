/**
 * Gather and scatter-add as each other's transposes (JAX's `_gather_transpose_rule` and
 * `_scatter_add_transpose_rule`), and take-along-axis by a permutation (for sort's JVP).
 */
import {
  GatherDimensionNumbers,
  GatherScatterMode,
  ScatterDimensionNumbers,
  type GatherParams,
  type ScatterParams,
} from "../../core/dimension-numbers.js";
import { Primitive } from "../../core/primitive.js";
import { bind1, type Tracer } from "../../core/trace.js";
import { gather, scatter, scatterAdd } from "../../lax/slicing.js";
import { reshape, zeros } from "./ops.js";
import type { ShapedArray } from "../../core/aval.js";

/** The scatter-add that sends a gather's cotangent back to the operand's positions. */
export function gatherTranspose(
  ct: Tracer,
  indices: Tracer,
  operand: ShapedArray,
  params: GatherParams,
): Tracer {
  const dn = params.dimension_numbers;
  const numbers = new ScatterDimensionNumbers({
    updateWindowDims: dn.offset_dims,
    insertedWindowDims: dn.collapsed_slice_dims,
    scatterDimsToOperandDims: dn.start_index_map,
    operandBatchingDims: dn.operand_batching_dims,
    scatterIndicesBatchingDims: dn.start_indices_batching_dims,
  });
  return scatterAdd(zeros(operand), indices, ct, numbers, {
    indicesAreSorted: params.indices_are_sorted,
    uniqueIndices: params.unique_indices,
    mode: params.mode,
  });
}

/** The gather reading, for each update, the operand window that update lands on. */
export function scatterWindows(
  x: Tracer,
  indices: Tracer,
  updates: ShapedArray,
  params: ScatterParams,
): Tracer {
  const dn = params.dimension_numbers;
  const sliceSizes: number[] = [];
  let pos = 0;
  for (let d = 0; d < x.ndim; d++) {
    if (dn.inserted_window_dims.includes(d) || dn.operand_batching_dims.includes(d)) sliceSizes.push(1);
    else sliceSizes.push(updates.shape[dn.update_window_dims[pos++]]);
  }
  const numbers = new GatherDimensionNumbers({
    offsetDims: dn.update_window_dims,
    collapsedSliceDims: dn.inserted_window_dims,
    startIndexMap: dn.scatter_dims_to_operand_dims,
    operandBatchingDims: dn.operand_batching_dims,
    startIndicesBatchingDims: dn.scatter_indices_batching_dims,
  });
  // Dropped (out-of-bounds) updates contributed nothing: their windows read as 0.
  return gather(x, indices, numbers, sliceSizes, {
    indicesAreSorted: params.indices_are_sorted,
    uniqueIndices: params.unique_indices,
    mode: params.mode,
    fillValue: 0,
  });
}

/** Gather with the same params but a zero fill (tangents and cotangents of dropped windows are 0). */
export function gatherLike(t: Tracer, indices: Tracer, params: GatherParams): Tracer {
  return bind1(Primitive.Gather, [t, indices], {
    ...params,
    fill_value: params.mode === GatherScatterMode.FILL_OR_DROP ? 0 : params.fill_value,
  });
}

/** Scatter (overwrite) with the params of another scatter. */
export function scatterLike(x: Tracer, indices: Tracer, updates: Tracer, params: ScatterParams): Tracer {
  return scatter(x, indices, updates, params.dimension_numbers, {
    indicesAreSorted: params.indices_are_sorted,
    uniqueIndices: params.unique_indices,
    mode: params.mode,
  });
}

/** t[..., perm[..., i], ...] along `dimension`: a gather whose other axes are batching dimensions. */
export function takeAlongAxis(t: Tracer, perm: Tracer, dimension: number): Tracer {
  const others = t.shape.map((_, d) => d).filter((d) => d !== dimension);
  const numbers = new GatherDimensionNumbers({
    offsetDims: [],
    collapsedSliceDims: [dimension],
    startIndexMap: [dimension],
    operandBatchingDims: others,
    startIndicesBatchingDims: others,
  });
  return gather(
    t,
    reshape(perm, [...perm.shape, 1]),
    numbers,
    t.shape.map(() => 1),
    { mode: GatherScatterMode.PROMISE_IN_BOUNDS },
  );
}
