/** Loop skeletons shared by the CPU reference implementations. */
import type { ShapedArray } from "../../core/aval.js";
import { hostArray, type TypedArray } from "../../dtype.js";

export type Fn1 = (x: number) => number;
export type Fn2 = (x: number, y: number) => number;

export function map1(x: TypedArray, out: ShapedArray, fn: Fn1): TypedArray {
  const y = hostArray(out.dtype, out.size);
  for (let i = 0; i < y.length; i++) y[i] = fn(x[i]);
  return y;
}

/** Elementwise over two operands of one shape, either of which may be rank 0. */
export function map2(x: TypedArray, y: TypedArray, out: ShapedArray, fn: Fn2): TypedArray {
  const z = hostArray(out.dtype, out.size);
  const sx = x.length === 1 ? 0 : 1;
  const sy = y.length === 1 ? 0 : 1;
  for (let i = 0; i < z.length; i++) z[i] = fn(x[i * sx], y[i * sy]);
  return z;
}

/** out[i] = x[src(i)], where src advances by `inStrides[d]` along output axis d. */
export function gatherStrided(
  x: TypedArray,
  outShape: readonly number[],
  inStrides: readonly number[],
  out: TypedArray,
  offset = 0,
): void {
  const rank = outShape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < out.length; i++) {
    out[i] = x[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += inStrides[d];
      if (idx[d] < outShape[d]) break;
      src -= inStrides[d] * idx[d];
      idx[d] = 0;
    }
  }
}
