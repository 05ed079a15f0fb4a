/**
 * XLA's gather/scatter dimension numbers and JAX's out-of-bounds modes, as jaxpr params. They print
 * as JAX prints them (`GatherDimensionNumbers(offset_dims=(0,), ...)`, `GatherScatterMode.CLIP`).
 * The index vector dimension is always the last dimension of the indices, as in `jax.lax`.
 */

import type { Jaxpr } from "./jaxpr.js";

const tuple = (xs: readonly number[]): string => `(${xs.join(", ")}${xs.length === 1 ? "," : ""})`;

/** How gather/scatter treat out-of-bounds indices (JAX's `GatherScatterMode`). */
export enum GatherScatterMode {
  /** Indices are clamped so that the whole window is in bounds. */
  CLIP = "GatherScatterMode.CLIP",
  /** Gathers return `fill_value` for windows that are partly out of bounds; scatters drop them. */
  FILL_OR_DROP = "GatherScatterMode.FILL_OR_DROP",
  /** The caller promises in-bounds indices; as with XLA, gathers clamp and scatters drop. */
  PROMISE_IN_BOUNDS = "GatherScatterMode.PROMISE_IN_BOUNDS",
}

export type GatherScatterModeLike = GatherScatterMode | "clip" | "fill" | "drop" | "promise_in_bounds";

/** JAX's `GatherScatterMode.from_any`; `fallback` is what `undefined` means at the call site. */
export function parseMode(
  mode: GatherScatterModeLike | null | undefined,
  fallback: GatherScatterMode,
): GatherScatterMode {
  switch (mode) {
    case undefined:
    case null:
      return fallback;
    case "clip":
      return GatherScatterMode.CLIP;
    case "fill":
    case "drop":
      return GatherScatterMode.FILL_OR_DROP;
    case "promise_in_bounds":
      return GatherScatterMode.PROMISE_IN_BOUNDS;
    default:
      if (Object.values(GatherScatterMode).includes(mode)) return mode;
      throw new TypeError(
        `unknown gather/scatter mode '${String(mode)}' (clip, fill, drop, promise_in_bounds)`,
      );
  }
}

export interface GatherDimensionNumbersInit {
  offsetDims: readonly number[];
  collapsedSliceDims: readonly number[];
  startIndexMap: readonly number[];
  operandBatchingDims?: readonly number[];
  startIndicesBatchingDims?: readonly number[];
}

/** XLA's GatherDimensionNumbers (JAX's field names); see `lax.gather`. */
export class GatherDimensionNumbers {
  readonly offset_dims: readonly number[];
  readonly collapsed_slice_dims: readonly number[];
  readonly start_index_map: readonly number[];
  readonly operand_batching_dims: readonly number[];
  readonly start_indices_batching_dims: readonly number[];

  constructor(init: GatherDimensionNumbersInit) {
    this.offset_dims = [...init.offsetDims];
    this.collapsed_slice_dims = [...init.collapsedSliceDims];
    this.start_index_map = [...init.startIndexMap];
    this.operand_batching_dims = [...(init.operandBatchingDims ?? [])];
    this.start_indices_batching_dims = [...(init.startIndicesBatchingDims ?? [])];
  }

  toString(): string {
    return (
      `GatherDimensionNumbers(offset_dims=${tuple(this.offset_dims)}, ` +
      `collapsed_slice_dims=${tuple(this.collapsed_slice_dims)}, start_index_map=${tuple(this.start_index_map)}, ` +
      `operand_batching_dims=${tuple(this.operand_batching_dims)}, ` +
      `start_indices_batching_dims=${tuple(this.start_indices_batching_dims)})`
    );
  }
}

export interface ScatterDimensionNumbersInit {
  updateWindowDims: readonly number[];
  insertedWindowDims: readonly number[];
  scatterDimsToOperandDims: readonly number[];
  operandBatchingDims?: readonly number[];
  scatterIndicesBatchingDims?: readonly number[];
}

/** XLA's ScatterDimensionNumbers (JAX's field names); see `lax.scatterAdd`. */
export class ScatterDimensionNumbers {
  readonly update_window_dims: readonly number[];
  readonly inserted_window_dims: readonly number[];
  readonly scatter_dims_to_operand_dims: readonly number[];
  readonly operand_batching_dims: readonly number[];
  readonly scatter_indices_batching_dims: readonly number[];

  constructor(init: ScatterDimensionNumbersInit) {
    this.update_window_dims = [...init.updateWindowDims];
    this.inserted_window_dims = [...init.insertedWindowDims];
    this.scatter_dims_to_operand_dims = [...init.scatterDimsToOperandDims];
    this.operand_batching_dims = [...(init.operandBatchingDims ?? [])];
    this.scatter_indices_batching_dims = [...(init.scatterIndicesBatchingDims ?? [])];
  }

  toString(): string {
    return (
      `ScatterDimensionNumbers(update_window_dims=${tuple(this.update_window_dims)}, ` +
      `inserted_window_dims=${tuple(this.inserted_window_dims)}, ` +
      `scatter_dims_to_operand_dims=${tuple(this.scatter_dims_to_operand_dims)}, ` +
      `operand_batching_dims=${tuple(this.operand_batching_dims)}, ` +
      `scatter_indices_batching_dims=${tuple(this.scatter_indices_batching_dims)})`
    );
  }
}

export interface GatherParams {
  dimension_numbers: GatherDimensionNumbers;
  /** Used by FILL_OR_DROP; null elsewhere (JAX's default fill: NaN, the lowest int, the highest uint). */
  fill_value: number | null;
  indices_are_sorted: boolean;
  mode: GatherScatterMode;
  slice_sizes: readonly number[];
  unique_indices: boolean;
}

export interface ScatterParams {
  dimension_numbers: ScatterDimensionNumbers;
  indices_are_sorted: boolean;
  mode: GatherScatterMode;
  unique_indices: boolean;
  update_consts: readonly never[];
  /** The combiner as a jaxpr (JAX's `update_jaxpr`); null for `scatter`, which overwrites. */
  update_jaxpr: Jaxpr | null;
}
