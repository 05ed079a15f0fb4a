/**
 * numpy-style indexing for TypeScript, which has no `x[...]` sugar: `x.slice(0, "1:3", null, "...")`
 * (or `jnp.index(x, ...)`) and JAX's functional updates `x.at(...).set(v)`.
 *
 * An index is an integer (negative counts from the end), a slice ("start:stop:step" with any part
 * optional, or {start, stop, step}), `null` (newaxis), "..." (ellipsis), an integer array (an engine
 * array or JS numbers) for advanced indexing, or a boolean mask whose values the host knows.
 *
 * As in JAX, integer and slice indexing lowers to rev/slice/squeeze (or dynamic_slice for traced
 * integers); advanced indexing lowers to gather, and updates to scatter (via the same "indexer", a
 * port of JAX's `index_to_gather`).
 */
import { ConcreteArray } from "../core/concrete-array.js";
import { GatherScatterMode, type GatherScatterModeLike } from "../core/dimension-numbers.js";
import { Primitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { isInteger } from "../dtype.js";
import { broadcastShapes, formatShape, stridesOf } from "../shape.js";
import * as lax from "../lax/slicing.js";
import { array, asArray, type ArrayLike, type NestedNumbers } from "./array-like.js";
import { convert } from "./convert.js";
import { full } from "./creation.js";
import { broadcastTo } from "./shape-ops.js";

export interface SliceSpec {
  start?: number | null;
  stop?: number | null;
  step?: number | null;
}

/** One index: integer, slice, `null` (newaxis), "...", an integer array or a boolean mask. */
export type Index = number | string | SliceSpec | null | Tracer | readonly NestedNumbers[];

// ---- classification --------------------------------------------------------------------------

interface HostArray {
  values: Int32Array;
  shape: readonly number[];
}

type Entry =
  | { kind: "int"; value: number; axis: number }
  | { kind: "dyn"; value: Tracer; axis: number }
  | { kind: "slice"; start: number; step: number; count: number; axis: number }
  | { kind: "none" }
  | { kind: "array"; value: Tracer | HostArray; axis: number };

type Raw =
  | { kind: "int"; value: number }
  | { kind: "dyn"; value: Tracer }
  | { kind: "slice"; spec: SliceSpec }
  | { kind: "none" }
  | { kind: "ellipsis" }
  | { kind: "array"; value: Tracer | HostArray }
  | { kind: "mask"; values: Uint8Array; shape: readonly number[] };

function parseSliceString(what: string, s: string, pos: number): SliceSpec {
  const parts = s.split(":");
  if (parts.length < 2 || parts.length > 3)
    throw new TypeError(
      `${what}: index ${pos} is the string '${s}': strings must be slices ("start:stop:step", any part optional) or "..."`,
    );
  const num = (p: string | undefined): number | null => {
    if (p === undefined || p.trim() === "") return null;
    const v = Number(p);
    if (!Number.isInteger(v))
      throw new TypeError(`${what}: slice '${s}' at index ${pos} has a non-integer part '${p}'`);
    return v;
  };
  return { start: num(parts[0]), stop: num(parts[1]), step: num(parts[2]) };
}

function hostOf(x: ConcreteArray): Uint8Array | Int32Array | Float32Array | Uint32Array | undefined {
  const h = x.peekHost();
  return h as Uint8Array | Int32Array | Float32Array | Uint32Array | undefined;
}

function classify(what: string, idx: Index, pos: number): Raw {
  if (idx === null) return { kind: "none" };
  if (typeof idx === "number") {
    if (!Number.isInteger(idx)) throw new TypeError(`${what}: index ${pos} must be an integer, got ${idx}`);
    return { kind: "int", value: idx };
  }
  if (typeof idx === "string") {
    if (idx === "...") return { kind: "ellipsis" };
    return { kind: "slice", spec: parseSliceString(what, idx, pos) };
  }
  if (idx instanceof Tracer) {
    if (idx.dtype === "bool") {
      const host = idx instanceof ConcreteArray ? hostOf(idx) : undefined;
      if (!host)
        throw new TypeError(
          `${what}: the boolean index at position ${pos} (${idx.aval.toString()}) must have values known on the host: ` +
            `its true count decides the result's shape (JAX's NonConcreteBooleanIndexError). Inside a transform use ` +
            `jnp.where instead; for an array on WebGPU, read it first with \`await mask.data()\``,
        );
      return { kind: "mask", values: Uint8Array.from(host), shape: idx.shape };
    }
    if (!isInteger(idx.dtype))
      throw new TypeError(
        `${what}: indexer must have integer or boolean type, got ${idx.dtype} at position ${pos}`,
      );
    return idx.ndim === 0 ? { kind: "dyn", value: idx } : { kind: "array", value: idx };
  }
  if (Array.isArray(idx) || ArrayBuffer.isView(idx)) {
    const c = array(idx as readonly NestedNumbers[]) as ConcreteArray;
    const host = hostOf(c)!;
    if (c.dtype === "bool") return { kind: "mask", values: Uint8Array.from(host), shape: c.shape };
    if (Array.from(host).some((v) => !Number.isInteger(v)))
      throw new TypeError(`${what}: the index array at position ${pos} must hold integers`);
    return { kind: "array", value: { values: Int32Array.from(host), shape: c.shape } };
  }
  if (typeof idx === "object") return { kind: "slice", spec: idx as SliceSpec };
  throw new TypeError(`${what}: unsupported index ${String(idx)} at position ${pos}`);
}

/** Python's `slice.indices(n)`, then the element count. */
function canonicalSlice(what: string, spec: SliceSpec, n: number, axis: number) {
  const step = spec.step ?? 1;
  if (!Number.isInteger(step) || step === 0)
    throw new RangeError(`${what}: slice step on axis ${axis} cannot be ${step}`);
  for (const v of [spec.start, spec.stop])
    if (v !== null && v !== undefined && !Number.isInteger(v))
      throw new TypeError(`${what}: slice bounds on axis ${axis} must be integers, got ${v}`);
  const fix = (v: number | null | undefined, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt;
    const w = v < 0 ? v + n : v;
    return Math.min(Math.max(w, lo), hi);
  };
  let start: number, stop: number, count: number;
  if (step > 0) {
    start = fix(spec.start, 0, 0, n);
    stop = fix(spec.stop, n, 0, n);
    count = Math.max(0, Math.ceil((stop - start) / step));
  } else {
    start = fix(spec.start, n - 1, -1, n - 1);
    stop = fix(spec.stop, -1, -1, n - 1);
    count = Math.max(0, Math.ceil((start - stop) / -step));
  }
  return { start, step, count };
}

interface Parsed {
  entries: Entry[];
  /** Advanced indices not adjacent: numpy puts their result axes first. */
  advancedContiguous: boolean;
  hasArrays: boolean;
}

/** Expands the ellipsis and boolean masks, assigns axes, checks integers against the axis sizes. */
function parse(what: string, shape: readonly number[], indices: readonly Index[]): Parsed {
  const raws = indices.map((idx, pos) => classify(what, idx, pos));
  const ellipses = raws.filter((r) => r.kind === "ellipsis").length;
  if (ellipses > 1) throw new RangeError(`${what}: an index can only have a single ellipsis ('...')`);
  const consumed = raws.reduce(
    (n, r) => n + (r.kind === "none" || r.kind === "ellipsis" ? 0 : r.kind === "mask" ? r.shape.length : 1),
    0,
  );
  if (consumed > shape.length)
    throw new RangeError(
      `${what}: too many indices: a ${shape.length}-dimensional array of shape ${formatShape(shape)} indexed with ${consumed}`,
    );
  // Expand masks into one integer array per mask axis (numpy's nonzero); keep the ellipsis a single
  // position for the adjacency rule (as numpy and JAX do).
  const expanded: (Raw | { kind: "ellipsis" })[] = [];
  let axis = 0;
  for (const r of raws) {
    if (r.kind === "ellipsis") {
      expanded.push(r);
      axis += shape.length - consumed;
    } else if (r.kind === "mask") {
      const expect = shape.slice(axis, axis + r.shape.length);
      if (r.shape.some((s, k) => s !== expect[k]))
        throw new RangeError(
          `${what}: boolean index of shape ${formatShape(r.shape)} does not match the indexed axes ${formatShape(expect)} starting at axis ${axis}`,
        );
      const strides = stridesOf(r.shape);
      const coords: number[][] = r.shape.map(() => []);
      r.values.forEach((v, flat) => {
        if (!v) return;
        r.shape.forEach((s, k) => coords[k].push(Math.floor(flat / strides[k]) % s));
      });
      for (const c of coords)
        expanded.push({ kind: "array", value: { values: Int32Array.from(c), shape: [c.length] } });
      axis += r.shape.length;
    } else {
      expanded.push(r);
      if (r.kind !== "none") axis++;
    }
  }
  const isAdvPos = expanded.map((r) => r.kind === "array" || r.kind === "int" || r.kind === "dyn");
  const advPositions = isAdvPos.flatMap((b, k) => (b ? [k] : []));
  const advancedContiguous = advPositions.every((p, k) => k === 0 || p === advPositions[k - 1] + 1);
  const hasArrays = expanded.some((r) => r.kind === "array");

  const entries: Entry[] = [];
  axis = 0;
  const pushFull = () => entries.push({ kind: "slice", start: 0, step: 1, count: shape[axis], axis: axis++ });
  for (const r of expanded) {
    switch (r.kind) {
      case "ellipsis":
        for (let k = 0; k < shape.length - consumed; k++) pushFull();
        break;
      case "none":
        entries.push({ kind: "none" });
        break;
      case "int": {
        const n = shape[axis];
        if (r.value < -n || r.value >= n)
          throw new RangeError(`${what}: index ${r.value} is out of bounds for axis ${axis} with size ${n}`);
        entries.push({ kind: "int", value: r.value < 0 ? r.value + n : r.value, axis: axis++ });
        break;
      }
      case "dyn":
        if (shape[axis] === 0)
          throw new RangeError(`${what}: index is out of bounds for axis ${axis} with size 0`);
        entries.push({ kind: "dyn", value: r.value, axis: axis++ });
        break;
      case "slice":
        entries.push({ kind: "slice", ...canonicalSlice(what, r.spec, shape[axis], axis), axis: axis++ });
        break;
      case "array":
        entries.push({ kind: "array", value: r.value, axis: axis++ });
        break;
      case "mask":
        break; // expanded above
    }
  }
  while (axis < shape.length) pushFull();
  return { entries, advancedContiguous, hasArrays };
}

// ---- basic indexing: rev / slice / dynamic_slice / squeeze ------------------------------------

function basicGet(x: Tracer, entries: Entry[]): Tracer {
  const shape = x.shape;
  const slices = entries.filter((e): e is Extract<Entry, { kind: "slice" }> => e.kind === "slice");
  const ints = entries.filter(
    (e): e is Extract<Entry, { kind: "int" | "dyn" }> => e.kind === "int" || e.kind === "dyn",
  );
  const dyns = ints.filter((e) => e.kind === "dyn");
  const revDims = slices.filter((s) => s.step < 0 && s.count > 0).map((s) => s.axis);
  const strided = slices.some((s) => Math.abs(s.step) !== 1 && s.count > 1);
  let y = x;
  // A negative step: reverse the axis, then slice it forwards from n - 1 - start.
  const forward = (s: Extract<Entry, { kind: "slice" }>) => {
    if (s.count === 0) return { start: 0, limit: 0, stride: 1 };
    const n = shape[s.axis];
    const start = s.step > 0 ? s.start : n - 1 - s.start;
    const stride = Math.abs(s.step);
    return { start, limit: start + (s.count - 1) * stride + 1, stride: s.count > 1 ? stride : 1 };
  };
  const staticSlice = (includeInts: boolean) => {
    if (revDims.length) y = lax.rev(y, revDims);
    const start = shape.map(() => 0);
    const limit = [...shape];
    const strides = shape.map(() => 1);
    for (const s of slices) {
      const f = forward(s);
      start[s.axis] = f.start;
      limit[s.axis] = f.limit;
      strides[s.axis] = f.stride;
    }
    if (includeInts)
      for (const e of ints)
        if (e.kind === "int") {
          start[e.axis] = e.value;
          limit[e.axis] = e.value + 1;
        }
    if (start.some((s, d) => s !== 0 || limit[d] !== shape[d] || strides[d] !== 1))
      y = lax.slice(y, start, limit, strides.every((s) => s === 1) ? null : strides);
  };
  if (dyns.length === 0) staticSlice(true);
  else {
    // Traced integers: one dynamic_slice (after a static rev/slice if steps other than 1 need one).
    const needStatic = revDims.length > 0 || strided;
    if (needStatic) staticSlice(false);
    const starts = y.shape.map((): Tracer | number => 0);
    const sizes = [...y.shape];
    for (const e of ints) {
      starts[e.axis] = e.value;
      sizes[e.axis] = 1;
    }
    if (!needStatic)
      for (const s of slices) {
        starts[s.axis] = s.count > 0 ? s.start : 0;
        sizes[s.axis] = s.count;
      }
    y = lax.dynamicSlice(y, starts, sizes);
  }
  if (ints.length)
    y = lax.squeeze(
      y,
      ints.map((e) => e.axis),
    );
  return expandNewaxes(y, entries);
}

/** Result positions of the `null` (newaxis) entries, for basic indexing. */
function expandNewaxes(y: Tracer, entries: Entry[]): Tracer {
  const dims: number[] = [];
  let out = 0;
  for (const e of entries) {
    if (e.kind === "none") dims.push(out++);
    else if (e.kind === "slice") out++;
  }
  return dims.length ? lax.expandDims(y, dims) : y;
}

// ---- advanced indexing and updates: JAX's index_to_gather --------------------------------------

interface Indexer {
  /** Shape of x[idx] (with newaxes). */
  sliceShape: number[];
  gatherSliceShape: number[];
  /** Index vector last; null when nothing is indexed (only full slices and newaxes). */
  gatherIndices: Tracer | null;
  offsetDims: number[];
  collapsedSliceDims: number[];
  startIndexMap: number[];
  newaxisDims: number[];
  /** No advanced indices: indices cannot repeat and are sorted. */
  unique: boolean;
}

type Piece = { value: Tracer | HostArray; start: number };

function toIndexTracer(v: Tracer | HostArray, size: number): Tracer {
  if (!(v instanceof Tracer)) {
    const values = v.values.map((i) => (i < 0 ? i + size : i));
    if (v.shape.length === 0) return asArray(values[0], "int32");
    return array(values).reshape(v.shape);
  }
  const idx = v.dtype === "int32" ? v : convert(v, "int32");
  return lax.normalizeIndex(idx, size);
}

/** Assembles the pieces into one indices array of shape [...gatherShape, pieces.length]. */
function assembleIndices(pieces: Piece[], gatherShape: number[]): Tracer | null {
  if (pieces.length === 0) return null;
  const k = pieces.length;
  if (pieces.every((p) => !(p.value instanceof Tracer))) {
    // All known on the host: build one constant.
    const size = gatherShape.reduce((a, b) => a * b, 1);
    const out = new Int32Array(size * k);
    const gStrides = stridesOf(gatherShape);
    pieces.forEach((p, j) => {
      const h = p.value as HostArray;
      const pStrides = stridesOf(h.shape);
      for (let f = 0; f < size; f++) {
        let src = 0;
        h.shape.forEach((s, q) => {
          const c = Math.floor(f / gStrides[p.start + q]) % gatherShape[p.start + q];
          src += (s === 1 ? 0 : c) * pStrides[q];
        });
        out[f * k + j] = h.values[src];
      }
    });
    return array(out).reshape([...gatherShape, k]);
  }
  const arrays = pieces.map((p) => ({
    t: p.value instanceof Tracer ? p.value : toIndexTracer(p.value, 0),
    start: p.start,
  }));
  if (k === 1) return lax.expandDims(arrays[0].t, [arrays[0].t.ndim]);
  const shape = [...gatherShape, 1];
  return lax.concatenate(
    arrays.map(({ t, start }) =>
      bind1(Primitive.BroadcastInDim, [t], {
        shape,
        broadcast_dimensions: Array.from({ length: t.ndim }, (_, q) => start + q),
      }),
    ),
    gatherShape.length,
  );
}

function indexToGather(what: string, shape: readonly number[], parsed: Parsed): Indexer {
  const { entries, advancedContiguous, hasArrays } = parsed;
  const isAdvanced = (e: Entry) => hasArrays && (e.kind === "array" || e.kind === "int" || e.kind === "dyn");
  const advanced = entries.filter(isAdvanced) as Extract<Entry, { axis: number }>[];
  const firstAdvanced = entries.findIndex(isAdvanced);
  const pieces: Piece[] = [];
  const gatherShape: number[] = [];
  const sliceShape: number[] = [];
  const gatherSliceShape: number[] = [];
  const offsetDims: number[] = [];
  const collapsed: number[] = [];
  const startIndexMap: number[] = [];
  const newaxisDims: number[] = [];
  let yAxis = 0;
  let collapsedY = 0;

  entries.forEach((e, pos) => {
    if (
      advanced.length &&
      ((advancedContiguous && pos === firstAdvanced) || (!advancedContiguous && pos === 0))
    ) {
      const valueShape = (v: Entry) =>
        v.kind === "array" ? (v.value instanceof Tracer ? v.value.shape : v.value.shape) : [];
      const b = broadcastShapes(what, ...advanced.map(valueShape));
      const start = gatherShape.length;
      for (const a of advanced) {
        const value =
          a.kind === "int"
            ? { values: Int32Array.of(a.value), shape: [] }
            : a.kind === "dyn" || a.kind === "array"
              ? a.value
              : null;
        const normalized = value instanceof Tracer ? toIndexTracer(value, shape[a.axis]) : value!;
        const hostNormalized =
          normalized instanceof Tracer
            ? normalized
            : {
                values: normalized.values.map((i) => (i < 0 ? i + shape[a.axis] : i)),
                shape: normalized.shape,
              };
        pieces.push({ value: hostNormalized, start: start + b.length - valueShape(a).length });
        startIndexMap.push(a.axis);
        collapsed.push(a.axis);
      }
      gatherShape.push(...b);
      sliceShape.push(...b);
      yAxis += b.length;
      collapsedY += b.length;
    }
    if (isAdvanced(e)) {
      gatherSliceShape.push(1);
      return;
    }
    switch (e.kind) {
      case "int":
      case "dyn": {
        const n = shape[e.axis];
        pieces.push({
          value: e.kind === "int" ? { values: Int32Array.of(e.value), shape: [] } : toIndexTracer(e.value, n),
          start: gatherShape.length,
        });
        collapsed.push(e.axis);
        gatherSliceShape.push(1);
        startIndexMap.push(e.axis);
        break;
      }
      case "none":
        sliceShape.push(1);
        newaxisDims.push(yAxis++);
        break;
      case "slice": {
        const n = shape[e.axis];
        sliceShape.push(e.count);
        if (e.step === 1 || e.count <= 1) {
          const start = e.count === 0 ? 0 : e.start;
          if (e.count !== n) {
            pieces.push({ value: { values: Int32Array.of(start), shape: [] }, start: gatherShape.length });
            startIndexMap.push(e.axis);
          }
          gatherSliceShape.push(e.count);
          offsetDims.push(collapsedY);
        } else {
          // A strided slice: its positions as an index array (JAX uses iota; we know them on the host).
          const values = Int32Array.from({ length: e.count }, (_, k) => e.start + k * e.step);
          pieces.push({ value: { values, shape: [e.count] }, start: gatherShape.length });
          gatherSliceShape.push(1);
          startIndexMap.push(e.axis);
          gatherShape.push(e.count);
          collapsed.push(e.axis);
        }
        collapsedY++;
        yAxis++;
        break;
      }
      case "array":
        break;
    }
  });
  return {
    sliceShape,
    gatherSliceShape,
    gatherIndices: assembleIndices(pieces, gatherShape),
    offsetDims,
    collapsedSliceDims: [...collapsed].sort((a, b) => a - b),
    startIndexMap,
    newaxisDims,
    unique: advanced.length === 0,
  };
}

export interface GetOptions {
  /** Out-of-bounds behaviour of array indices: default promise_in_bounds (clamps), as JAX. */
  mode?: GatherScatterModeLike | null;
  fillValue?: number | null;
}

function getItem(what: string, x: Tracer, indices: readonly Index[], options: GetOptions = {}): Tracer {
  const parsed = parse(what, x.shape, indices);
  if (!parsed.hasArrays && options.mode === undefined) return basicGet(x, parsed.entries);
  const ix = indexToGather(what, x.shape, parsed);
  if (ix.sliceShape.some((s) => s === 0)) return full(ix.sliceShape, 0, { dtype: x.dtype });
  let y = x;
  if (ix.gatherIndices) {
    y = lax.gather(
      x,
      ix.gatherIndices,
      {
        offsetDims: ix.offsetDims,
        collapsedSliceDims: ix.collapsedSliceDims,
        startIndexMap: ix.startIndexMap,
      },
      ix.gatherSliceShape,
      {
        mode: options.mode ?? null,
        fillValue: options.fillValue ?? null,
        indicesAreSorted: ix.unique,
        uniqueIndices: ix.unique,
      },
    );
  }
  return ix.newaxisDims.length ? lax.expandDims(y, ix.newaxisDims) : y;
}

/** `x` indexed numpy-style (the function form of `x.slice(...)`). */
export function index(x: ArrayLike, ...indices: Index[]): Tracer {
  return getItem("jnp.index", asArray(x), indices);
}

/** The method `x.slice(...indices)`. */
export function sliceMethod(x: Tracer, indices: readonly Index[]): Tracer {
  return getItem("x.slice", x, indices);
}

export interface UpdateOptions {
  /** Out-of-bounds updates: default "drop" (FILL_OR_DROP), as JAX. */
  mode?: GatherScatterModeLike | null;
  indicesAreSorted?: boolean;
  uniqueIndices?: boolean;
}

type ScatterFn = typeof lax.scatter;

/**
 * JAX's `x.at[idx]`: functional updates returning new arrays; `x` itself never changes. Repeated
 * indices accumulate for `add` and `multiply` (scatter semantics).
 */
export class IndexUpdateRef {
  constructor(
    readonly array: Tracer,
    readonly indices: readonly Index[],
  ) {}

  /** `x[idx]`, with an optional out-of-bounds mode ("fill" with `fillValue`, "clip", ...). */
  get(options: GetOptions = {}): Tracer {
    return getItem("x.at(...).get", this.array, this.indices, options);
  }
  /** x[idx] = v */
  set(values: ArrayLike, options: UpdateOptions = {}): Tracer {
    return this.scatter("set", lax.scatter, values, options);
  }
  /** x[idx] += v */
  add(values: ArrayLike, options: UpdateOptions = {}): Tracer {
    return this.scatter("add", lax.scatterAdd, values, options);
  }
  /** x[idx] *= v */
  multiply(values: ArrayLike, options: UpdateOptions = {}): Tracer {
    return this.scatter("multiply", lax.scatterMul, values, options);
  }
  /** x[idx] = minimum(x[idx], v) */
  min(values: ArrayLike, options: UpdateOptions = {}): Tracer {
    return this.scatter("min", lax.scatterMin, values, options);
  }
  /** x[idx] = maximum(x[idx], v) */
  max(values: ArrayLike, options: UpdateOptions = {}): Tracer {
    return this.scatter("max", lax.scatterMax, values, options);
  }

  private scatter(name: string, op: ScatterFn, values: ArrayLike, options: UpdateOptions): Tracer {
    const what = `x.at(...).${name}`;
    const x = this.array;
    const ix = indexToGather(what, x.shape, parse(what, x.shape, this.indices));
    if (ix.sliceShape.some((s) => s === 0)) return x;
    // The updates take x's dtype (JAX converts them), then broadcast to the shape of x[idx].
    let y = asArray(values, x.dtype);
    const target = broadcastShapes(what, y.shape, ix.sliceShape);
    if (target.length !== ix.sliceShape.length || target.some((s, d) => s !== ix.sliceShape[d]))
      throw new TypeError(
        `${what}: cannot broadcast updates of shape ${formatShape(y.shape)} to the indexed shape ${formatShape(ix.sliceShape)}`,
      );
    y = y.ndim === 0 && ix.sliceShape.length === 0 ? y : broadcastTo(y, ix.sliceShape);
    y = lax.squeeze(y, ix.newaxisDims);
    const indices = ix.gatherIndices ?? array(new Int32Array(0));
    return op(
      x,
      indices,
      y,
      {
        updateWindowDims: ix.offsetDims,
        insertedWindowDims: ix.collapsedSliceDims,
        scatterDimsToOperandDims: ix.startIndexMap,
      },
      {
        mode: options.mode ?? GatherScatterMode.FILL_OR_DROP,
        indicesAreSorted: options.indicesAreSorted ?? ix.unique,
        uniqueIndices: options.uniqueIndices ?? ix.unique,
      },
    );
  }
}

/** `jnp`-level form of `x.at(...indices)`. */
export function at(x: ArrayLike, ...indices: Index[]): IndexUpdateRef {
  return new IndexUpdateRef(asArray(x), indices);
}
