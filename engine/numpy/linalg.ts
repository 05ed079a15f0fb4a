/**
 * Products of the numpy namespace: dot, vdot, inner, outer, tensordot, matmul. Each promotes its
 * operands to one dtype and lowers to one dot_general (result dims: batch, lhs free, rhs free), as
 * JAX's jnp functions do, with `preferred_element_type` the result dtype.
 */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { broadcastShapes, formatShape, normalizeAxis } from "../shape.js";
import type { ArrayLike } from "./array-like.js";
import { multiply } from "./elementwise.js";
import { broadcastTo, promoteDTypes } from "./promote.js";
import { reshape } from "./shape-ops.js";

const describe = (x: Tracer) => `${x.dtype}${formatShape(x.shape)}`;

/** dot_general after checking the contracted sizes, with an error naming the function and both shapes. */
export function contract(
  what: string,
  a: Tracer,
  b: Tracer,
  lc: readonly number[],
  rc: readonly number[],
  lb: readonly number[] = [],
  rb: readonly number[] = [],
): Tracer {
  lc.forEach((d, j) => {
    if (a.shape[d] !== b.shape[rc[j]])
      throw new TypeError(
        `${what}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} are not aligned: ` +
          `dimension ${d} of the first (size ${a.shape[d]}) != dimension ${rc[j]} of the second (size ${b.shape[rc[j]]})`,
      );
  });
  return bind1(Primitive.DotGeneral, [a, b], {
    dimension_numbers: [
      [[...lc], [...rc]],
      [[...lb], [...rb]],
    ],
    precision: null,
    preferred_element_type: a.dtype,
  });
}

/**
 * numpy's dot: a scalar operand multiplies; otherwise the last axis of `a` contracts with the
 * second-to-last of `b` (its only axis if 1-D). Result shape a.shape[:-1] + b.shape[:-2] + b.shape[-1:].
 */
export function dot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteDTypes(x, y);
  if (a.ndim === 0 || b.ndim === 0) return contract("jnp.dot", a, b, [], []);
  return contract("jnp.dot", a, b, [a.ndim - 1], [b.ndim === 1 ? 0 : b.ndim - 2]);
}

/** Dot product of the flattened operands. */
export function vdot(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteDTypes(x, y);
  if (a.size !== b.size)
    throw new TypeError(
      `jnp.vdot: operands of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} have different sizes (${a.size} and ${b.size})`,
    );
  return contract("jnp.vdot", reshape(a, [-1]), reshape(b, [-1]), [0], [0]);
}

/** Contracts the last axis of both operands (a scalar operand multiplies). */
export function inner(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteDTypes(x, y);
  if (a.ndim === 0 || b.ndim === 0) return multiply(a, b);
  return contract("jnp.inner", a, b, [a.ndim - 1], [b.ndim - 1]);
}

/** out[i, j] = ravel(a)[i] * ravel(b)[j]. */
export function outer(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteDTypes(x, y);
  return multiply(reshape(a, [-1, 1]), reshape(b, [1, -1]));
}

/**
 * tensordot: `axes` N contracts the last N axes of `a` with the first N of `b`; a pair of lists (or
 * of ints) names the axes to contract pairwise.
 */
export function tensordot(
  x: ArrayLike,
  y: ArrayLike,
  axes: number | readonly [readonly number[] | number, readonly number[] | number] = 2,
): Tracer {
  const [a, b] = promoteDTypes(x, y);
  let lc: number[];
  let rc: number[];
  if (typeof axes === "number") {
    if (!Number.isInteger(axes) || axes < 0 || axes > a.ndim || axes > b.ndim)
      throw new RangeError(
        `jnp.tensordot: axes=${axes} is out of range for shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
      );
    lc = a.shape.map((_, i) => i).slice(a.ndim - axes);
    rc = b.shape.map((_, i) => i).slice(0, axes);
  } else {
    const list = (v: readonly number[] | number) => (typeof v === "number" ? [v] : [...v]);
    const [la, lb] = [list(axes[0]), list(axes[1])];
    if (la.length !== lb.length)
      throw new TypeError(
        `jnp.tensordot: axes lists of different lengths (${la.join(", ")}) and (${lb.join(", ")})`,
      );
    lc = la.map((d) => normalizeAxis("jnp.tensordot", d, a.ndim));
    rc = lb.map((d) => normalizeAxis("jnp.tensordot", d, b.ndim));
  }
  return contract("jnp.tensordot", a, b, lc, rc);
}

/**
 * numpy's matmul: a 1-D operand acts as a row (lhs) or column (rhs) vector and that axis is dropped
 * from the result; leading (batch) dims broadcast and become dot_general batch dims.
 */
export function matmul(x: ArrayLike, y: ArrayLike): Tracer {
  let [a, b] = promoteDTypes(x, y);
  if (a.ndim === 0 || b.ndim === 0)
    throw new TypeError(
      `jnp.matmul: operands must be at least 1-D, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  if (a.ndim === 1 || b.ndim === 1) {
    // A vector operand has no batch dims: the other's leading dims are free dims of dot_general,
    // which puts them first (lhs free before rhs free) exactly where numpy wants them.
    return contract("jnp.matmul", a, b, [a.ndim - 1], [b.ndim === 1 ? 0 : b.ndim - 2]);
  }
  const batch = broadcastShapes(
    `jnp.matmul (batch dims of ${describe(a)} and ${describe(b)})`,
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const nb = batch.length;
  if (a.ndim - 2 !== nb || a.shape.slice(0, -2).some((d, i) => d !== batch[i]))
    a = broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
  if (b.ndim - 2 !== nb || b.shape.slice(0, -2).some((d, i) => d !== batch[i]))
    b = broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
  const bd = batch.map((_, i) => i);
  return contract("jnp.matmul", a, b, [nb + 1], [nb], bd, bd);
}
