/** Plain-JS references for the reduction and linear-algebra tests: flat data plus a shape, nested on demand. */
export type Nested = number | Nested[];

/** Nests row-major flat data into lists of the given shape. */
export function nest(flat: readonly number[], shape: readonly number[]): Nested {
  if (shape.length === 0) return flat[0];
  const step = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) =>
    nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)),
  );
}

/** Multi-index of flat position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

export function ravelIndex(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d] + idx[d];
  return i;
}

/** Reduces flat data of `shape` over `axes` with a fold from `init` (a loop over every element). */
export function reduceRef(
  data: readonly number[],
  shape: readonly number[],
  axes: readonly number[],
  fold: (acc: number, x: number) => number,
  init: number,
  keepdims = false,
): Nested {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const out = new Array<number>(outShape.reduce((a, b) => a * b, 1)).fill(init);
  data.forEach((x, i) => {
    const idx = unravel(i, shape).filter((_, d) => !axes.includes(d));
    const j = ravelIndex(idx, outShape);
    out[j] = fold(out[j], x);
  });
  return nest(out, keepdims ? shape.map((s, d) => (axes.includes(d) ? 1 : s)) : outShape);
}
