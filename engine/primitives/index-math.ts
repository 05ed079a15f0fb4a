/** Index arithmetic shared by the slicing and gather/scatter rules: on the host and as WGSL source. */
import { stridesOf } from "../shape.js";

/** Multi-index of flat index `flat` in a row-major array of `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** Flat index of a multi-index in a row-major array with these strides. */
export function ravel(idx: readonly number[], strides: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < idx.length; d++) f += idx[d] * strides[d];
  return f;
}

/** WGSL statements defining `${name}0..` (i32) as the multi-index of the u32 expression `index`. */
export function wgslUnravel(shape: readonly number[], name: string, index = "i"): string {
  const strides = stridesOf(shape);
  return shape
    .map((n, d) => `let ${name}${d} = i32((${index} / ${strides[d]}u) % ${Math.max(n, 1)}u);`)
    .join("\n  ");
}

/** A WGSL i32 expression: `offset + sum_d terms[d] * strides[d]` (strides may be negative). */
export function wgslAffine(terms: readonly string[], strides: readonly number[], offset = 0): string {
  const parts = [`(${offset})`, ...terms.map((t, d) => `${t} * (${strides[d]})`)];
  return parts.join(" + ");
}

/** The int literal WGSL accepts for any i32 (the most negative one needs a cast). */
export const wgslInt = (n: number): string => (n === -2147483648 ? "i32(-2147483648)" : `${n}`);
