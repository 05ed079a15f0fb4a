/**
 * XLA's general gather and scatter (with batching dims), and JAX's out-of-bounds modes. The index
 * vector is the last axis of the indices. Gather: one output element per invocation, computing the
 * operand index. Scatter: WGSL has no float atomics, so each invocation owns one operand element and
 * loops over the scatter indices in order, applying the updates that land on it; the CPU reference
 * applies updates in the same order, so both executors give the same results, deterministically
 * (for `scatter`, the last update in index order wins).
 */
import { ShapedArray } from "../core/aval.js";
import { GatherScatterMode, type GatherParams, type ScatterParams } from "../core/dimension-numbers.js";
import { Primitive, type ScatterPrimitive } from "../core/primitive.js";
import { hostArray, isInteger, type DType } from "../dtype.js";
import { formatShape, stridesOf } from "../shape.js";
import { WGSL_NAN, wgslF32Bits, wgslStorageType } from "../backend/webgpu/wgsl.js";
import { describe } from "./checks.js";
import { ravel, unravel, wgslInt, wgslUnravel } from "./index-math.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

const tuple = formatShape;

/** JAX's default gather fill: NaN for floats, the lowest int32, the highest uint32, true for bool. */
export function defaultFillValue(dtype: DType): number {
  switch (dtype) {
    case "int32":
      return -2147483648;
    case "uint32":
      return 4294967295;
    case "bool":
      return 1;
    default:
      return NaN;
  }
}

function wgslConst(v: number, dtype: DType): string {
  switch (wgslStorageType(dtype)) {
    case "i32":
      return wgslInt(v);
    case "u32":
      return `${v >>> 0}u`;
    default:
      if (Number.isNaN(v)) return WGSL_NAN;
      if (!Number.isFinite(v)) return wgslF32Bits(v > 0 ? "0x7f800000u" : "0xff800000u");
      return `f32(${v})`;
  }
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

function checkDimList(prim: string, what: string, dims: readonly number[], rank: number, ascending: boolean) {
  for (const d of dims)
    if (!Number.isInteger(d) || d < 0 || d >= rank)
      throw new RangeError(`${prim}: ${what} ${tuple(dims)} has a dimension out of range for rank ${rank}`);
  if (new Set(dims).size !== dims.length)
    throw new RangeError(`${prim}: ${what} ${tuple(dims)} repeats a dimension`);
  if (ascending && dims.some((d, k) => k > 0 && d < dims[k - 1]))
    throw new RangeError(`${prim}: ${what} ${tuple(dims)} must be sorted`);
}

/**
 * The shared geometry of gather and scatter, in gather's words: `offsetDims` are the window axes of
 * the result (or updates), `collapsed` the operand axes of size 1 left out of it, `startIndexMap`
 * maps index vector entries to operand axes, batching dims pair operand and index axes.
 */
interface Geometry {
  operand: readonly number[];
  /** Indices shape without the index vector axis. */
  batchShape: readonly number[];
  /** Index vector length. */
  n: number;
  /** Result (gather) or updates (scatter) shape. */
  outShape: readonly number[];
  offsetDims: readonly number[];
  /** Operand axes that are window axes, in order (k-th ↔ offsetDims[k]). */
  windowDims: readonly number[];
  /** Result positions of the batch (scatter) axes, in order. */
  batchPos: readonly number[];
  /** Window size per operand axis. */
  window: readonly number[];
  startIndexMap: readonly number[];
  operandBatchingDims: readonly number[];
  indicesBatchingDims: readonly number[];
}

function geometry(
  prim: string,
  operand: ShapedArray,
  indices: ShapedArray,
  offsetDims: readonly number[],
  collapsed: readonly number[],
  startIndexMap: readonly number[],
  operandBatchingDims: readonly number[],
  indicesBatchingDims: readonly number[],
  /** Window size of window axis k (from slice_sizes or the updates' shape). */
  windowSize: (windowDims: number[]) => number[],
  outShape: readonly number[] | null,
): Geometry {
  const r = operand.ndim;
  if (indices.ndim < 1 || !isInteger(indices.dtype))
    throw new TypeError(
      `${prim}: indices must be an integer array of rank >= 1 (index vector last), got ${describe(indices)}`,
    );
  const n = indices.shape[indices.ndim - 1];
  const batchShape = indices.shape.slice(0, -1);
  if (startIndexMap.length !== n)
    throw new TypeError(
      `${prim}: the index vector of ${describe(indices)} has ${n} entries but the index map ${tuple(startIndexMap)} has ${startIndexMap.length}`,
    );
  checkDimList(prim, "the index map", startIndexMap, r, false);
  checkDimList(prim, "the collapsed/inserted dims", collapsed, r, true);
  checkDimList(prim, "operand_batching_dims", operandBatchingDims, r, true);
  checkDimList(prim, "the indices batching dims", indicesBatchingDims, Math.max(indices.ndim - 1, 0), false);
  if (operandBatchingDims.length !== indicesBatchingDims.length)
    throw new TypeError(`${prim}: operand and indices batching dims differ in number`);
  operandBatchingDims.forEach((d, j) => {
    if (collapsed.includes(d) || startIndexMap.includes(d))
      throw new TypeError(`${prim}: operand batching dim ${d} is also collapsed or indexed`);
    if (operand.shape[d] !== indices.shape[indicesBatchingDims[j]])
      throw new TypeError(
        `${prim}: operand batching dim ${d} of ${describe(operand)} and indices batching dim ${indicesBatchingDims[j]} of ${describe(indices)} differ in size`,
      );
  });
  const windowDims = range(r).filter((d) => !collapsed.includes(d) && !operandBatchingDims.includes(d));
  if (offsetDims.length !== windowDims.length)
    throw new TypeError(
      `${prim}: ${offsetDims.length} window dims ${tuple(offsetDims)} for ${windowDims.length} operand window axes of ${describe(operand)}`,
    );
  const sizes = windowSize(windowDims);
  const window = range(r).map((d) => {
    const k = windowDims.indexOf(d);
    return k < 0 ? 1 : sizes[k];
  });
  const rank = batchShape.length + offsetDims.length;
  checkDimList(prim, "the window dims", offsetDims, rank, true);
  const batchPos = range(rank).filter((p) => !offsetDims.includes(p));
  const expected = range(rank).map((p) => {
    const k = offsetDims.indexOf(p);
    return k >= 0 ? window[windowDims[k]] : batchShape[batchPos.indexOf(p)];
  });
  if (outShape && (outShape.length !== rank || outShape.some((s, p) => s !== expected[p])))
    throw new TypeError(
      `${prim}: updates of shape ${tuple(outShape)} do not match the expected shape ${tuple(expected)}`,
    );
  window.forEach((w, d) => {
    if (w > operand.shape[d])
      throw new TypeError(`${prim}: window size ${w} exceeds axis ${d} of operand ${describe(operand)}`);
  });
  return {
    operand: operand.shape,
    batchShape,
    n,
    outShape: expected,
    offsetDims,
    windowDims,
    batchPos,
    window,
    startIndexMap,
    operandBatchingDims,
    indicesBatchingDims,
  };
}

function gatherGeometry(operand: ShapedArray, indices: ShapedArray, p: GatherParams): Geometry {
  const dn = p.dimension_numbers;
  if (p.slice_sizes.length !== operand.ndim)
    throw new TypeError(
      `gather: slice_sizes ${tuple(p.slice_sizes)} need one entry per axis of ${describe(operand)}`,
    );
  for (const d of [...dn.collapsed_slice_dims, ...dn.operand_batching_dims])
    if (p.slice_sizes[d] > 1)
      throw new TypeError(
        `gather: collapsed or batching axis ${d} must have slice size <= 1, got ${p.slice_sizes[d]}`,
      );
  return geometry(
    "gather",
    operand,
    indices,
    dn.offset_dims,
    dn.collapsed_slice_dims,
    dn.start_index_map,
    dn.operand_batching_dims,
    dn.start_indices_batching_dims,
    (wd) => wd.map((d) => p.slice_sizes[d]),
    null,
  );
}

function scatterGeometry(
  prim: string,
  operand: ShapedArray,
  indices: ShapedArray,
  updates: ShapedArray,
  p: ScatterParams,
): Geometry {
  const dn = p.dimension_numbers;
  return geometry(
    prim,
    operand,
    indices,
    dn.update_window_dims,
    dn.inserted_window_dims,
    dn.scatter_dims_to_operand_dims,
    dn.operand_batching_dims,
    dn.scatter_indices_batching_dims,
    (wd) => wd.map((_, k) => updates.shape[dn.update_window_dims[k]] ?? 0),
    updates.shape,
  );
}

/**
 * Start of the window on the host: index vector entries mapped by startIndexMap, batch coordinates on
 * batching axes; returns null when the window is out of bounds and the mode fills or drops.
 */
function windowStart(
  g: Geometry,
  batch: readonly number[],
  indices: ArrayLike<number>,
  base: number,
  clip: boolean,
): number[] | null {
  const start = new Array<number>(g.operand.length).fill(0);
  for (let k = 0; k < g.n; k++) {
    const d = g.startIndexMap[k];
    const hi = g.operand[d] - g.window[d];
    let s = indices[base + k];
    if (clip) s = Math.min(Math.max(s, 0), hi);
    else if (s < 0 || s > hi) return null;
    start[d] = s;
  }
  g.operandBatchingDims.forEach((d, j) => (start[d] = batch[g.indicesBatchingDims[j]]));
  return start;
}

/** WGSL statements defining s0.. (i32 window starts) and `oob` from batch coordinates b0.. and index base `ib`. */
function wgslWindowStart(g: Geometry, clip: boolean): string {
  // `_ = in1[0]` keeps the indices bound when no entry is read (layout "auto" drops unused bindings).
  const lines = ["_ = in1[0];", "var oob = false;"];
  g.operand.forEach((_, d) => lines.push(`var s${d} = 0;`));
  for (let k = 0; k < g.n; k++) {
    const d = g.startIndexMap[k];
    const hi = g.operand[d] - g.window[d];
    lines.push(`s${d} = i32(in1[ib + ${k}u]);`);
    lines.push(clip ? `s${d} = clamp(s${d}, 0, ${hi});` : `if (s${d} < 0 || s${d} > ${hi}) { oob = true; }`);
  }
  g.operandBatchingDims.forEach((d, j) => lines.push(`s${d} = b${g.indicesBatchingDims[j]};`));
  return lines.join("\n  ");
}

const gather: PrimitiveRules<Primitive.Gather> = {
  abstractEval: ([x, idx], params) => {
    const g = gatherGeometry(x, idx, params);
    return [new ShapedArray(g.outShape, x.dtype, x.weakType)];
  },
  cpu: ([x, idx], [xAval, iAval], [out], params) => {
    const g = gatherGeometry(xAval, iAval, params);
    const clip = params.mode !== GatherScatterMode.FILL_OR_DROP;
    const fill = params.fill_value ?? defaultFillValue(out.dtype);
    const xStrides = stridesOf(xAval.shape);
    const bStrides = stridesOf(g.batchShape);
    const y = hostArray(out.dtype, out.size);
    for (let o = 0; o < y.length; o++) {
      const c = unravel(o, out.shape);
      const batch = g.batchPos.map((p) => c[p]);
      const start = windowStart(g, batch, idx, ravel(batch, bStrides) * g.n, clip);
      if (!start) {
        y[o] = fill;
        continue;
      }
      g.windowDims.forEach((d, k) => (start[d] += c[g.offsetDims[k]]));
      y[o] = x[ravel(start, xStrides)];
    }
    return [y];
  },
  wgsl: ([x, idx], [out], params) => {
    const g = gatherGeometry(x, idx, params);
    const clip = params.mode !== GatherScatterMode.FILL_OR_DROP;
    const fill = params.fill_value ?? defaultFillValue(out.dtype);
    const xStrides = stridesOf(x.shape);
    const bStrides = stridesOf(g.batchShape);
    const lines = [wgslUnravel(out.shape, "o")];
    g.batchPos.forEach((p, k) => lines.push(`let b${k} = o${p};`));
    const ib = g.batchPos.map((_, k) => `u32(b${k}) * ${bStrides[k] * g.n}u`).join(" + ") || "0u";
    lines.push(`let ib = ${ib};`, wgslWindowStart(g, clip));
    const terms = g.operand.map((_, d) => {
      const k = g.windowDims.indexOf(d);
      return `(s${d}${k >= 0 ? ` + o${g.offsetDims[k]}` : ""}) * ${xStrides[d]}`;
    });
    lines.push(
      `if (oob) { out[i] = ${wgslConst(fill, out.dtype)}; } else { out[i] = in0[u32(0 + ${terms.join(" + ")})]; }`,
    );
    return { body: lines.join("\n  ") };
  },
};

interface Combiner {
  host: (acc: number, u: number) => number;
  wgsl: (acc: string, u: string) => string;
  acceptsBool: boolean;
}

const COMBINERS: Record<ScatterPrimitive, Combiner> = {
  [Primitive.Scatter]: { host: (_a, u) => u, wgsl: (_a, u) => u, acceptsBool: true },
  [Primitive.ScatterAdd]: { host: (a, u) => a + u, wgsl: (a, u) => `${a} + ${u}`, acceptsBool: false },
  [Primitive.ScatterMul]: { host: (a, u) => a * u, wgsl: (a, u) => `${a} * ${u}`, acceptsBool: false },
  [Primitive.ScatterMin]: {
    host: (a, u) => (Number.isNaN(a) || Number.isNaN(u) ? NaN : Math.min(a, u)),
    wgsl: (a, u) => `min(${a}, ${u})`,
    acceptsBool: true,
  },
  [Primitive.ScatterMax]: {
    host: (a, u) => (Number.isNaN(a) || Number.isNaN(u) ? NaN : Math.max(a, u)),
    wgsl: (a, u) => `max(${a}, ${u})`,
    acceptsBool: true,
  },
};

function scatterRules<P extends ScatterPrimitive>(prim: P): PrimitiveRules<P> {
  const comb = COMBINERS[prim];
  return {
    abstractEval: ([x, idx, u], params) => {
      if (!u) throw new TypeError(`${prim}: expected operand, indices and updates`);
      if (u.dtype !== x.dtype)
        throw new TypeError(`${prim}: updates ${describe(u)} must have the operand's dtype (${describe(x)})`);
      if (x.dtype === "bool" && !comb.acceptsBool) throw new TypeError(`${prim} does not accept dtype bool`);
      scatterGeometry(prim, x, idx, u, params as ScatterParams);
      return [x];
    },
    cpu: ([x, idx, u], [xAval, iAval, uAval], [out], params) => {
      const p = params as ScatterParams;
      const g = scatterGeometry(prim, xAval, iAval, uAval, p);
      const clip = p.mode === GatherScatterMode.CLIP;
      const xStrides = stridesOf(xAval.shape);
      const uStrides = stridesOf(uAval.shape);
      const windowShape = g.windowDims.map((d) => g.window[d]);
      const windowCount = windowShape.reduce((a, b) => a * b, 1);
      const batchCount = g.batchShape.reduce((a, b) => a * b, 1);
      const y = hostArray(out.dtype, out.size);
      y.set(x);
      // Scatter indices in order, then the window elements: the order the WGSL kernel applies them in.
      for (let b = 0; b < batchCount; b++) {
        const batch = unravel(b, g.batchShape);
        const start = windowStart(g, batch, idx, b * g.n, clip);
        if (!start) continue;
        let uBase = 0;
        g.batchPos.forEach((pos, k) => (uBase += batch[k] * uStrides[pos]));
        for (let w = 0; w < windowCount; w++) {
          const wc = unravel(w, windowShape);
          const target = [...start];
          let ui = uBase;
          g.windowDims.forEach((d, k) => {
            target[d] += wc[k];
            ui += wc[k] * uStrides[g.offsetDims[k]];
          });
          const t = ravel(target, xStrides);
          y[t] = comb.host(y[t], u[ui]);
        }
      }
      return [y];
    },
    wgsl: ([x, idx, u], [out], params) => {
      const p = params as ScatterParams;
      const g = scatterGeometry(prim, x, idx, u, p);
      const clip = p.mode === GatherScatterMode.CLIP;
      const uStrides = stridesOf(u.shape);
      const bStrides = stridesOf(g.batchShape);
      const batchCount = g.batchShape.reduce((a, b) => a * b, 1);
      const t = wgslStorageType(out.dtype);
      const match: string[] = [];
      const uTerms = g.batchPos.map((pos, k) => `b${k} * ${uStrides[pos]}`);
      g.operand.forEach((_, d) => {
        const k = g.windowDims.indexOf(d);
        if (k < 0) match.push(`c${d} == s${d}`);
        else {
          match.push(`c${d} >= s${d} && c${d} < s${d} + ${g.window[d]}`);
          uTerms.push(`(c${d} - s${d}) * ${uStrides[g.offsetDims[k]]}`);
        }
      });
      const batchLines = g.batchShape.map((n, k) => `let b${k} = i32((gi / ${bStrides[k]}u) % ${n}u);`);
      return {
        body: `${wgslUnravel(out.shape, "c")}
  var acc: ${t} = in0[i];
  for (var gi = 0u; gi < ${batchCount}u; gi = gi + 1u) {
  ${batchLines.join("\n  ")}
  let ib = gi * ${g.n}u;
  ${wgslWindowStart(g, clip)}
  if (!oob && ${match.join(" && ") || "true"}) {
    let uv = in2[u32(0 + ${uTerms.join(" + ") || "0"})];
    acc = ${comb.wgsl("acc", "uv")};
  }
  }
  out[i] = acc;`,
      };
    },
  };
}

export const gatherScatterPrimitiveRules: RuleGroup<Primitive.Gather | ScatterPrimitive> = {
  [Primitive.Gather]: gather,
  [Primitive.Scatter]: scatterRules(Primitive.Scatter),
  [Primitive.ScatterAdd]: scatterRules(Primitive.ScatterAdd),
  [Primitive.ScatterMul]: scatterRules(Primitive.ScatterMul),
  [Primitive.ScatterMin]: scatterRules(Primitive.ScatterMin),
  [Primitive.ScatterMax]: scatterRules(Primitive.ScatterMax),
};
