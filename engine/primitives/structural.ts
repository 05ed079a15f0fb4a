/** Primitives that move data without arithmetic: broadcast_in_dim, reshape, transpose. */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray } from "../dtype.js";
import { formatShape, stridesOf } from "../shape.js";
import { gatherStrided } from "../backend/cpu/loops.js";
import { stridedSource } from "../backend/webgpu/wgsl.js";
import { describe, isPermutation } from "./checks.js";
import type { PrimitiveRules, RuleGroup } from "./rules.js";

/** Per-output-axis input strides of broadcast_in_dim (0 where the operand is broadcast). */
function broadcastStrides(inShape: readonly number[], outRank: number, dims: readonly number[]): number[] {
  const inStrides = stridesOf(inShape);
  const strides = new Array<number>(outRank).fill(0);
  dims.forEach((d, k) => {
    if (inShape[k] !== 1) strides[d] = inStrides[k];
  });
  return strides;
}

const broadcastInDim: PrimitiveRules<Primitive.BroadcastInDim> = {
  abstractEval: ([x], { shape, broadcast_dimensions: dims }) => {
    const bad = () =>
      new TypeError(
        `broadcast_in_dim: cannot broadcast operand ${describe(x)} to shape ${formatShape(shape)} ` +
          `with broadcast_dimensions=${formatShape(dims)}`,
      );
    if (dims.length !== x.ndim) throw bad();
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i];
      if (d < 0 || d >= shape.length || (i > 0 && d <= dims[i - 1])) throw bad();
      if (x.shape[i] !== 1 && x.shape[i] !== shape[d]) throw bad();
    }
    return [new ShapedArray(shape, x.dtype, x.weakType)];
  },
  cpu: ([x], [inAval], [out], { broadcast_dimensions: dims }) => {
    const y = hostArray(out.dtype, out.size);
    gatherStrided(x, out.shape, broadcastStrides(inAval.shape, out.ndim, dims), y);
    return [y];
  },
  wgsl: ([x], [out], { broadcast_dimensions: dims }) => ({
    body: `${stridedSource(out.shape, broadcastStrides(x.shape, out.ndim, dims))}\n  out[i] = in0[src];`,
  }),
};

const reshape: PrimitiveRules<Primitive.Reshape> = {
  abstractEval: ([x], { new_sizes }) => {
    const size = new_sizes.reduce((a, b) => a * b, 1);
    if (size !== x.size || new_sizes.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TypeError(
        `reshape: cannot reshape ${describe(x)} (size ${x.size}) into shape ${formatShape(new_sizes)}`,
      );
    }
    return [new ShapedArray(new_sizes, x.dtype, x.weakType)];
  },
  cpu: ([x]) => [x.slice()],
  wgsl: () => ({ body: "out[i] = in0[i];" }),
};

const transpose: PrimitiveRules<Primitive.Transpose> = {
  abstractEval: ([x], { permutation }) => {
    if (!isPermutation(permutation, x.ndim)) {
      throw new TypeError(
        `transpose: permutation ${formatShape(permutation)} is not a permutation of the axes of ${describe(x)}`,
      );
    }
    return [
      new ShapedArray(
        permutation.map((p) => x.shape[p]),
        x.dtype,
        x.weakType,
      ),
    ];
  },
  cpu: ([x], [inAval], [out], { permutation }) => {
    const inStrides = stridesOf(inAval.shape);
    const y = hostArray(out.dtype, out.size);
    gatherStrided(
      x,
      out.shape,
      permutation.map((p) => inStrides[p]),
      y,
    );
    return [y];
  },
  wgsl: ([x], [out], { permutation }) => {
    const inStrides = stridesOf(x.shape);
    return {
      body: `${stridedSource(
        out.shape,
        permutation.map((p) => inStrides[p]),
      )}\n  out[i] = in0[src];`,
    };
  },
};

export const structuralPrimitiveRules: RuleGroup<
  Primitive.BroadcastInDim | Primitive.Reshape | Primitive.Transpose
> = {
  [Primitive.BroadcastInDim]: broadcastInDim,
  [Primitive.Reshape]: reshape,
  [Primitive.Transpose]: transpose,
};
