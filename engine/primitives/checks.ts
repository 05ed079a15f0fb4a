/** Shared pieces of shape/dtype rules: descriptions and checks whose errors name what is wrong. */
import { ShapedArray } from "../core/aval.js";
import type { Primitive } from "../core/primitive.js";
import { formatShape, shapeEqual } from "../shape.js";

/** `float32(2, 3)`: an operand as error messages show it. */
export const describe = (a: ShapedArray): string => `${a.dtype}${formatShape(a.shape)}`;

export function checkArity(prim: Primitive, avals: ShapedArray[], n: number): void {
  if (avals.length !== n) throw new TypeError(`${prim}: expected ${n} operands, got ${avals.length}`);
}

export function checkAxes(prim: Primitive, x: ShapedArray, axes: readonly number[]): void {
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= x.ndim) {
      throw new RangeError(`${prim}: axis ${a} is out of bounds for operand ${describe(x)}`);
    }
  }
  if (new Set(axes).size !== axes.length) throw new RangeError(`${prim}: repeated axes ${formatShape(axes)}`);
}

export function isPermutation(perm: readonly number[], n: number): boolean {
  return (
    perm.length === n && new Set(perm).size === n && perm.every((p) => Number.isInteger(p) && p >= 0 && p < n)
  );
}

/** Elementwise operands agree in dtype and in shape, except that a rank-0 operand broadcasts (as in lax). */
export function elementwiseResult(prim: Primitive, x: ShapedArray, y: ShapedArray): ShapedArray {
  if (x.dtype !== y.dtype) {
    throw new TypeError(`${prim} requires operands of one dtype, got ${describe(x)} and ${describe(y)}`);
  }
  if (!shapeEqual(x.shape, y.shape) && x.ndim !== 0 && y.ndim !== 0) {
    throw new TypeError(`${prim}: incompatible shapes ${describe(x)} and ${describe(y)}`);
  }
  const shape = x.ndim !== 0 ? x.shape : y.shape;
  return new ShapedArray(shape, x.dtype, x.weakType && y.weakType);
}
