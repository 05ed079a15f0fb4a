/**
 * Static and dynamic slicing: slice, rev, squeeze, concatenate, pad, dynamic_slice and
 * dynamic_update_slice (lax's semantics; dynamic start indices are clamped into range as XLA does).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray, isInteger, type TypedArray } from "../dtype.js";
import { formatShape, stridesOf } from "../shape.js";
import { gatherStrided } from "../backend/cpu/loops.js";
import { describe } from "./checks.js";
import { ravel, unravel, wgslAffine, wgslUnravel } from "./index-math.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

const tuple = formatShape;

/** Per-axis source strides and offset of slice (with strides) or rev, as an affine map. */
function affineCopy(x: TypedArray, out: ShapedArray, strides: readonly number[], offset: number): TypedArray {
  const y = hostArray(out.dtype, out.size);
  if (out.size > 0) gatherStrided(x, out.shape, strides, y, offset);
  return y;
}

function affineWgsl(out: ShapedArray, strides: readonly number[], offset: number): { body: string } {
  const terms = out.shape.map((_, d) => `o${d}`);
  return {
    body: `${wgslUnravel(out.shape, "o")}\n  out[i] = in0[u32(${wgslAffine(terms, strides, offset)})];`,
  };
}

function sliceGeometry(
  inShape: readonly number[],
  p: { start_indices: readonly number[]; strides: readonly number[] | null },
) {
  const inStrides = stridesOf(inShape);
  const steps = p.strides ?? inShape.map(() => 1);
  return {
    strides: inStrides.map((s, d) => s * steps[d]),
    offset: ravel(p.start_indices, inStrides),
  };
}

const slice: PrimitiveRules<Primitive.Slice> = {
  abstractEval: ([x], { start_indices: start, limit_indices: limit, strides }) => {
    const bad = (why: string) =>
      new TypeError(
        `slice: ${why}: operand ${describe(x)}, start_indices=${tuple(start)}, limit_indices=${tuple(limit)}` +
          `, strides=${strides ? tuple(strides) : "None"}`,
      );
    if (start.length !== x.ndim || limit.length !== x.ndim || (strides && strides.length !== x.ndim))
      throw bad("start_indices, limit_indices and strides must have one entry per operand axis");
    const shape = x.shape.map((n, d) => {
      const s = strides ? strides[d] : 1;
      if (!Number.isInteger(s) || s < 1) throw bad(`stride ${s} on axis ${d} must be a positive integer`);
      if (start[d] < 0 || limit[d] > n || start[d] > limit[d])
        throw bad(`axis ${d} of size ${n} needs 0 <= start <= limit <= ${n}`);
      return Math.ceil((limit[d] - start[d]) / s);
    });
    return [new ShapedArray(shape, x.dtype, x.weakType)];
  },
  cpu: ([x], [inAval], [out], params) => {
    const g = sliceGeometry(inAval.shape, params);
    return [affineCopy(x, out, g.strides, g.offset)];
  },
  wgsl: ([x], [out], params) => {
    const g = sliceGeometry(x.shape, params);
    return affineWgsl(out, g.strides, g.offset);
  },
};

function revGeometry(shape: readonly number[], dims: readonly number[]) {
  const inStrides = stridesOf(shape);
  let offset = 0;
  const strides = inStrides.map((s, d) => {
    if (!dims.includes(d)) return s;
    offset += (shape[d] - 1) * s;
    return -s;
  });
  return { strides, offset };
}

function checkDims(prim: Primitive, x: ShapedArray, dims: readonly number[]): void {
  for (const d of dims)
    if (!Number.isInteger(d) || d < 0 || d >= x.ndim)
      throw new RangeError(`${prim}: dimension ${d} is out of bounds for operand ${describe(x)}`);
  if (new Set(dims).size !== dims.length) throw new RangeError(`${prim}: repeated dimensions ${tuple(dims)}`);
}

const rev: PrimitiveRules<Primitive.Rev> = {
  abstractEval: ([x], { dimensions }) => {
    checkDims(Primitive.Rev, x, dimensions);
    return [x];
  },
  cpu: ([x], [inAval], [out], { dimensions }) => {
    const g = revGeometry(inAval.shape, dimensions);
    return [affineCopy(x, out, g.strides, g.offset)];
  },
  wgsl: ([x], [out], { dimensions }) => {
    const g = revGeometry(x.shape, dimensions);
    return affineWgsl(out, g.strides, g.offset);
  },
};

const squeeze: PrimitiveRules<Primitive.Squeeze> = {
  abstractEval: ([x], { dimensions }) => {
    checkDims(Primitive.Squeeze, x, dimensions);
    for (const d of dimensions)
      if (x.shape[d] !== 1)
        throw new TypeError(
          `squeeze: dimension ${d} of operand ${describe(x)} has size ${x.shape[d]}, not 1`,
        );
    return [
      new ShapedArray(
        x.shape.filter((_, d) => !dimensions.includes(d)),
        x.dtype,
        x.weakType,
      ),
    ];
  },
  cpu: ([x]) => [x.slice()],
  wgsl: () => ({ body: "out[i] = in0[i];" }),
};

const concatenate: PrimitiveRules<Primitive.Concatenate> = {
  abstractEval: (avals, { dimension }) => {
    if (avals.length === 0) throw new TypeError("concatenate needs at least one operand");
    const first = avals[0];
    if (!Number.isInteger(dimension) || dimension < 0 || dimension >= first.ndim)
      throw new RangeError(
        `concatenate: dimension ${dimension} is out of bounds for operand ${describe(first)}`,
      );
    for (const a of avals) {
      if (a.dtype !== first.dtype)
        throw new TypeError(
          `concatenate: operands must have one dtype, got ${avals.map(describe).join(", ")}`,
        );
      if (a.ndim !== first.ndim || a.shape.some((n, d) => d !== dimension && n !== first.shape[d]))
        throw new TypeError(
          `concatenate: operands must have equal shapes except on dimension ${dimension}, got ${avals.map(describe).join(", ")}`,
        );
    }
    const shape = [...first.shape];
    shape[dimension] = avals.reduce((s, a) => s + a.shape[dimension], 0);
    return [
      new ShapedArray(
        shape,
        first.dtype,
        avals.every((a) => a.weakType),
      ),
    ];
  },
  cpu: (xs, inAvals, [out], { dimension }) => {
    const y = hostArray(out.dtype, out.size);
    const inner = out.shape.slice(dimension + 1).reduce((a, b) => a * b, 1);
    const outer = out.shape.slice(0, dimension).reduce((a, b) => a * b, 1);
    const outBlock = out.shape[dimension] * inner;
    let off = 0;
    xs.forEach((x, k) => {
      const block = inAvals[k].shape[dimension] * inner;
      for (let o = 0; o < outer; o++) y.set(x.subarray(o * block, (o + 1) * block), o * outBlock + off);
      off += block;
    });
    return [y];
  },
  wgsl: (inAvals, [out], { dimension }) => {
    const inner = out.shape.slice(dimension + 1).reduce((a, b) => a * b, 1);
    const n = out.shape[dimension];
    const lines = [
      `let c = (i / ${inner}u) % ${n}u;`,
      `let outer = i / ${n * inner}u;`,
      `let r = i % ${inner}u;`,
    ];
    let off = 0;
    inAvals.forEach((a, k) => {
      const m = a.shape[dimension];
      const read = `out[i] = in${k}[outer * ${m * inner}u + (c - ${off}u) * ${inner}u + r];`;
      if (k === 0) lines.push(`if (c < ${off + m}u) { ${read} }`);
      else if (k === inAvals.length - 1) lines.push(`else { ${read} }`);
      else lines.push(`else if (c < ${off + m}u) { ${read} }`);
      off += m;
    });
    return { body: lines.join("\n  ") };
  },
};

/** Output size of one padded axis: lo + hi + n + (n - 1) * interior. */
const paddedSize = (n: number, [lo, hi, interior]: readonly [number, number, number]): number =>
  lo + hi + (n === 0 ? 0 : n + (n - 1) * interior);

const pad: PrimitiveRules<Primitive.Pad> = {
  abstractEval: ([x, v], { padding_config: config }) => {
    if (!v || v.ndim !== 0 || v.dtype !== x.dtype)
      throw new TypeError(
        `pad: the padding value must be a scalar of the operand's dtype, got ${v ? describe(v) : "nothing"} for ${describe(x)}`,
      );
    if (config.length !== x.ndim)
      throw new TypeError(`pad: padding_config has ${config.length} entries for operand ${describe(x)}`);
    const shape = x.shape.map((n, d) => {
      const c = config[d];
      if (c.length !== 3 || !c.every(Number.isInteger) || c[2] < 0)
        throw new TypeError(
          `pad: padding_config entry ${d} must be (low, high, interior >= 0), got (${c.join(", ")})`,
        );
      const m = paddedSize(n, c);
      if (m < 0)
        throw new TypeError(
          `pad: padding (${c.join(", ")}) of axis ${d} (size ${n}) gives a negative size ${m}`,
        );
      return m;
    });
    return [new ShapedArray(shape, x.dtype, x.weakType)];
  },
  cpu: ([x, v], [inAval], [out], { padding_config: config }) => {
    const y = hostArray(out.dtype, out.size).fill(v[0]);
    const inStrides = stridesOf(inAval.shape);
    const outStrides = stridesOf(out.shape);
    for (let s = 0; s < x.length; s++) {
      const idx = unravel(s, inAval.shape);
      let dst = 0;
      let inside = true;
      for (let d = 0; d < idx.length; d++) {
        const o = config[d][0] + idx[d] * (config[d][2] + 1);
        if (o < 0 || o >= out.shape[d]) inside = false;
        dst += o * outStrides[d];
      }
      if (inside) y[dst] = x[ravel(idx, inStrides)];
    }
    return [y];
  },
  // Per output element: t = o - lo must be a multiple of (interior + 1) and map inside the operand.
  wgsl: ([x], [out], { padding_config: config }) => {
    const inStrides = stridesOf(x.shape);
    const lines = [wgslUnravel(out.shape, "o"), "var inside = true;", "var src = 0;"];
    x.shape.forEach((n, d) => {
      const [lo, , interior] = config[d];
      lines.push(
        `{ let t = o${d} - (${lo}); let q = t / ${interior + 1}; ` +
          `if (t < 0 || t % ${interior + 1} != 0 || q >= ${n}) { inside = false; } src = src + q * ${inStrides[d]}; }`,
      );
    });
    lines.push("if (inside) { out[i] = in0[u32(src)]; } else { out[i] = in1[0]; }");
    return { body: lines.join("\n  ") };
  },
};

function checkStartIndices(prim: Primitive, x: ShapedArray, starts: ShapedArray[]): void {
  if (starts.length !== x.ndim)
    throw new TypeError(`${prim}: ${starts.length} start indices for operand ${describe(x)} (one per axis)`);
  for (const s of starts)
    if (s.ndim !== 0 || !isInteger(s.dtype))
      throw new TypeError(
        `${prim}: start indices must be integer scalars, got ${starts.map(describe).join(", ")}`,
      );
}

/** XLA clamps each dynamic start into [0, n - size] so that the window stays in bounds. */
const clampStart = (s: number, n: number, size: number): number => Math.min(Math.max(s, 0), n - size);

const wgslClampedStarts = (shape: readonly number[], sizes: readonly number[], first: number): string =>
  shape.map((n, d) => `let s${d} = clamp(i32(in${first + d}[0]), 0, ${n - sizes[d]});`).join("\n  ");

const dynamicSlice: PrimitiveRules<Primitive.DynamicSlice> = {
  abstractEval: ([x, ...starts], { slice_sizes: sizes }) => {
    checkStartIndices(Primitive.DynamicSlice, x, starts);
    if (sizes.length !== x.ndim || sizes.some((s, d) => !Number.isInteger(s) || s < 0 || s > x.shape[d]))
      throw new TypeError(`dynamic_slice: slice_sizes ${tuple(sizes)} do not fit in operand ${describe(x)}`);
    return [new ShapedArray(sizes, x.dtype, x.weakType)];
  },
  cpu: ([x, ...starts], [inAval], [out], { slice_sizes: sizes }) => {
    const inStrides = stridesOf(inAval.shape);
    const offset = ravel(
      inAval.shape.map((n, d) => clampStart(starts[d][0], n, sizes[d])),
      inStrides,
    );
    return [affineCopy(x, out, inStrides, offset)];
  },
  wgsl: ([x], [out], { slice_sizes: sizes }) => {
    const inStrides = stridesOf(x.shape);
    const terms = x.shape.map((_, d) => `(s${d} + o${d})`);
    return {
      body: `${wgslUnravel(out.shape, "o")}\n  ${wgslClampedStarts(x.shape, sizes, 1)}
  out[i] = in0[u32(${wgslAffine(terms, inStrides)})];`,
    };
  },
};

const dynamicUpdateSlice: PrimitiveRules<Primitive.DynamicUpdateSlice> = {
  abstractEval: ([x, u, ...starts]) => {
    checkStartIndices(Primitive.DynamicUpdateSlice, x, starts);
    if (u.dtype !== x.dtype || u.ndim !== x.ndim || u.shape.some((n, d) => n > x.shape[d]))
      throw new TypeError(
        `dynamic_update_slice: update ${describe(u)} does not fit in operand ${describe(x)}`,
      );
    return [x];
  },
  cpu: ([x, u, ...starts], [inAval, uAval], [out]) => {
    const y = hostArray(out.dtype, out.size);
    y.set(x);
    const s = inAval.shape.map((n, d) => clampStart(starts[d][0], n, uAval.shape[d]));
    const outStrides = stridesOf(inAval.shape);
    for (let k = 0; k < u.length; k++) {
      const idx = unravel(k, uAval.shape);
      y[
        ravel(
          idx.map((c, d) => c + s[d]),
          outStrides,
        )
      ] = u[k];
    }
    return [y];
  },
  wgsl: ([x, u], [out]) => {
    const uStrides = stridesOf(u.shape);
    const lines = [wgslUnravel(out.shape, "o"), wgslClampedStarts(x.shape, u.shape, 2), "var inside = true;"];
    x.shape.forEach((_, d) =>
      lines.push(`if (o${d} < s${d} || o${d} >= s${d} + ${u.shape[d]}) { inside = false; }`),
    );
    const terms = x.shape.map((_, d) => `(o${d} - s${d})`);
    lines.push(
      `if (inside) { out[i] = in1[u32(${wgslAffine(terms, uStrides)})]; } else { out[i] = in0[i]; }`,
    );
    return { body: lines.join("\n  ") };
  },
};

export const slicingPrimitiveRules: RuleGroup<
  | Primitive.Slice
  | Primitive.Rev
  | Primitive.Squeeze
  | Primitive.Concatenate
  | Primitive.Pad
  | Primitive.DynamicSlice
  | Primitive.DynamicUpdateSlice
> = {
  [Primitive.Slice]: slice,
  [Primitive.Rev]: rev,
  [Primitive.Squeeze]: squeeze,
  [Primitive.Concatenate]: concatenate,
  [Primitive.Pad]: pad,
  [Primitive.DynamicSlice]: dynamicSlice,
  [Primitive.DynamicUpdateSlice]: dynamicUpdateSlice,
};
