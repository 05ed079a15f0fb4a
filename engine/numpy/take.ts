/** jnp.take and jnp.takeAlongAxis: gathers along one axis, with JAX's out-of-bounds modes. */
import type { ConcreteArray } from "../core/concrete-array.js";
import { Tracer } from "../core/trace.js";
import { GatherScatterMode, type GatherScatterModeLike } from "../core/dimension-numbers.js";
import { isInteger } from "../dtype.js";
import { broadcastShapes, formatShape, normalizeAxis } from "../shape.js";
import * as lax from "../lax/slicing.js";
import { array, asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";
import { full } from "./creation.js";
import { ravel, reshape } from "./shape-ops.js";

export interface TakeOptions {
  axis?: number | null;
  /** "fill" (default: out-of-bounds gives `fillValue`, NaN for floats), "clip", or "wrap". */
  mode?: "fill" | "clip" | "wrap" | null;
  fillValue?: number | null;
}

/** The values and shape of indices given as JS numbers (nested lists, typed arrays). */
export function hostIndexValues(
  what: string,
  indices: ArrayLike,
): { values: number[]; shape: readonly number[] } {
  const host = array(indices) as ConcreteArray;
  const values = Array.from(host.peekHost() ?? []);
  if (host.dtype === "bool" || values.some((v) => !Number.isInteger(v)))
    throw new TypeError(`${what}: indices must be integers, got ${JSON.stringify(values)}`);
  return { values, shape: host.shape };
}

/** Integer indices as an array; JS indices are known on the host, so they are normalised there. */
function indexArray(what: string, indices: ArrayLike, size: number, mode: string): Tracer {
  if (!(indices instanceof Tracer)) {
    const { values, shape } = hostIndexValues(what, indices);
    const wrapped = values.map((v) =>
      mode === "wrap" ? ((v % size) + size) % size : mode === "fill" && v < 0 ? v + size : v,
    );
    return reshape(array(Int32Array.from(wrapped)), shape);
  }
  if (!isInteger(indices.dtype))
    throw new TypeError(
      `${what}: indices must have an integer dtype, got ${indices.dtype}${formatShape(indices.shape)}`,
    );
  if (mode === "wrap")
    throw new TypeError(`${what}: mode "wrap" needs indices known on the host (JS numbers) in this engine`);
  const idx = indices.dtype === "int32" ? indices : convert(indices, "int32");
  return mode === "fill" ? lax.normalizeIndex(idx, size) : idx;
}

function takeOptions(arg: number | null | TakeOptions | undefined): TakeOptions {
  if (arg === undefined || arg === null) return {};
  return typeof arg === "number" ? { axis: arg } : arg;
}

/** jnp.take: `a` at `indices` along `axis` (default: the flattened array), as JAX's gather. */
export function take(a: ArrayLike, indices: ArrayLike, options?: number | null | TakeOptions): Tracer {
  const opts = takeOptions(options);
  let x = asArray(a);
  let axis = opts.axis ?? null;
  if (axis === null) {
    x = ravel(x);
    axis = 0;
  }
  const d = normalizeAxis("jnp.take", axis, x.ndim);
  const mode = opts.mode ?? "fill";
  if (!["fill", "clip", "wrap"].includes(mode))
    throw new TypeError(`jnp.take: invalid mode '${mode}' (fill, clip, wrap)`);
  const n = x.shape[d];
  const idx = indexArray("jnp.take", indices, n, mode);
  const q = idx.ndim;
  const outShape = [...x.shape.slice(0, d), ...idx.shape, ...x.shape.slice(d + 1)];
  if (n === 0) {
    if (idx.size !== 0) throw new RangeError("jnp.take: cannot do a non-empty take from an empty axis");
    return x;
  }
  if (idx.size === 0) return full(outShape, 0, { dtype: x.dtype });
  const sliceSizes = x.shape.map((s, k) => (k === d ? 1 : s));
  const offsetDims = [
    ...Array.from({ length: d }, (_, k) => k),
    ...Array.from({ length: x.ndim - d - 1 }, (_, k) => d + q + k),
  ];
  return lax.gather(
    x,
    lax.expandDims(idx, [q]),
    { offsetDims, collapsedSliceDims: [d], startIndexMap: [d] },
    sliceSizes,
    {
      mode:
        mode === "clip"
          ? GatherScatterMode.CLIP
          : mode === "wrap"
            ? GatherScatterMode.PROMISE_IN_BOUNDS
            : GatherScatterMode.FILL_OR_DROP,
      fillValue: opts.fillValue ?? null,
    },
  );
}

export interface TakeAlongAxisOptions {
  axis?: number | null;
  mode?: GatherScatterModeLike | null;
  fillValue?: number | null;
}

/**
 * jnp.takeAlongAxis: `arr` at `indices` along `axis` (default -1), the other axes broadcast. As in
 * JAX, the other axes become gather batching dims (no iota needed).
 */
export function takeAlongAxis(
  arr: ArrayLike,
  indices: ArrayLike,
  options?: number | null | TakeAlongAxisOptions,
): Tracer {
  const opts: TakeAlongAxisOptions =
    options === undefined
      ? { axis: -1 }
      : options === null || typeof options === "number"
        ? { axis: options }
        : { axis: -1, ...options };
  let a = asArray(arr);
  let idx = indices instanceof Tracer ? indices : asArray(indices, "int32");
  if (!isInteger(idx.dtype))
    throw new TypeError(`jnp.takeAlongAxis: indices must be of integer type, got ${idx.dtype}`);
  if (idx.dtype !== "int32") idx = convert(idx, "int32");
  let axis = opts.axis ?? null;
  if (axis === null) {
    if (idx.ndim !== 1)
      throw new TypeError(
        `jnp.takeAlongAxis: indices must be 1D if axis=null, got shape ${formatShape(idx.shape)}`,
      );
    a = ravel(a);
    axis = 0;
  }
  const rank = a.ndim;
  if (idx.ndim !== rank)
    throw new TypeError(
      `jnp.takeAlongAxis: indices and arr must have the same number of dimensions; ${idx.ndim} vs. ${rank}`,
    );
  const ax = normalizeAxis("jnp.takeAlongAxis", axis, rank);
  const axisSize = a.shape[ax];
  const arrShape = a.shape.map((s, d) => (d === ax ? 1 : s));
  const outShape = broadcastShapes("jnp.takeAlongAxis", idx.shape, arrShape);
  if (axisSize === 0) return full(outShape, 0, { dtype: a.dtype });
  const indexDims = idx.shape.flatMap((s, d) => (d === ax || s !== 1 ? [d] : []));
  const gatherIndexShape = [...indexDims.map((d) => outShape[d]), 1];
  const sliceSizes: number[] = [];
  const offsetDims: number[] = [];
  const startIndexMap: number[] = [];
  const collapsed: number[] = [];
  const operandBatching: number[] = [];
  const indicesBatching: number[] = [];
  const squeezed: number[] = [];
  let gatherIdx: Tracer | null = null;
  let newI = 0;
  let j = 0;
  for (let i = 0; i < rank; i++) {
    if (i === ax) {
      const normalized = opts.mode === "promise_in_bounds" ? idx : lax.normalizeIndex(idx, axisSize);
      gatherIdx = reshape(normalized, gatherIndexShape);
      sliceSizes.push(1);
      startIndexMap.push(newI);
      collapsed.push(newI);
      newI++;
      j++;
    } else if (idx.shape[i] === 1) {
      // The whole axis of arr is taken: it becomes a window (offset) dimension.
      offsetDims.push(i);
      sliceSizes.push(arrShape[i]);
      newI++;
    } else if (arrShape[i] === 1) {
      squeezed.push(i);
      j++;
    } else {
      sliceSizes.push(arrShape[i] === 0 ? 0 : 1);
      operandBatching.push(newI);
      indicesBatching.push(j);
      newI++;
      j++;
    }
  }
  return lax.gather(
    lax.squeeze(a, squeezed),
    gatherIdx!,
    {
      offsetDims,
      collapsedSliceDims: collapsed,
      startIndexMap,
      operandBatchingDims: operandBatching,
      startIndicesBatchingDims: indicesBatching,
    },
    sliceSizes,
    { mode: opts.mode ?? "fill", fillValue: opts.fillValue ?? null },
  );
}
