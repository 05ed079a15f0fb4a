/**
 * lax.associativeScan (JAX's `lax.associative_scan`): the inclusive scan of an associative `fn` along
 * one axis, in O(log n) steps of whole-array slices, pads and `fn` calls (the odd/even recursion of
 * JAX's implementation) instead of n sequential steps. `elems` is a pytree of arrays sharing the
 * scanned axis' length; `fn(a, b)` combines two pytrees of the same structure, elementwise along the
 * scanned axis (it is called on slices of the arrays, so it must be vectorised like jnp functions).
 * Because it is made of primitives, it can be differentiated, vmapped and jitted.
 */
import { Primitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { asArray } from "../numpy/array-like.js";
import { flatten, treeDefEqual, treeDefToString, unflatten, type PyTree, type TreeDef } from "../tree.js";
import { concatenate, pad, rev, slice } from "./slicing.js";

export interface AssociativeScanOptions {
  /** Scan from the end of the axis towards its start (JAX's `reverse=True`). */
  reverse?: boolean;
  /** The scanned axis (negative counts from the end); 0 by default. */
  axis?: number;
}

/** `x[start:stop:stride]` along `axis` (stop may be negative, counting from the end). */
function sliceInDim(
  x: Tracer,
  start: number,
  stop: number | undefined,
  stride: number,
  axis: number,
): Tracer {
  const n = x.shape[axis];
  const end = stop === undefined ? n : stop < 0 ? n + stop : stop;
  const starts = x.shape.map((_, d) => (d === axis ? start : 0));
  const limits = x.shape.map((s, d) => (d === axis ? Math.max(start, end) : s));
  const strides = x.shape.map((_, d) => (d === axis ? stride : 1));
  return slice(x, starts, limits, strides);
}

/** a0 b0 a1 b1 ... along `axis`, where a has as many elements as b or one more. */
function interleave(a: Tracer, b: Tracer, axis: number): Tracer {
  const same = a.shape[axis] === b.shape[axis];
  const config = (low: number, high: number) =>
    a.shape.map((_, d) => (d === axis ? ([low, high, 1] as const) : ([0, 0, 0] as const)));
  const zero = a.dtype === "bool" ? false : 0;
  const pa = pad(a, zero, config(0, same ? 1 : 0));
  const pb = pad(b, zero, config(1, same ? 0 : 1));
  return bind1(a.dtype === "bool" ? Primitive.Or : Primitive.Add, [pa, pb], {});
}

export function associativeScan<T extends PyTree>(
  fn: (a: T, b: T) => T,
  elems: T,
  options: AssociativeScanOptions = {},
): T {
  const [leaves, def] = flatten(elems);
  if (leaves.length === 0) throw new TypeError("lax.associativeScan: elems has no arrays");
  const arrays = leaves.map((l) => (l instanceof Tracer ? l : asArray(l)));
  const ndim = arrays[0].ndim;
  const rawAxis = options.axis ?? 0;
  const axis = rawAxis < 0 ? rawAxis + ndim : rawAxis;
  for (const [i, x] of arrays.entries()) {
    if (axis < 0 || axis >= x.ndim)
      throw new RangeError(
        `lax.associativeScan: axis ${rawAxis} is out of range for elems leaf ${i} of shape [${x.shape.join(", ")}]`,
      );
  }
  const n = arrays[0].shape[axis];
  for (const [i, x] of arrays.entries()) {
    if (x.shape[axis] !== n)
      throw new TypeError(
        `lax.associativeScan: every elems leaf needs the same length along axis ${axis}; leaf 0 has ${n}, leaf ${i} has ${x.shape[axis]} (shape [${x.shape.join(", ")}])`,
      );
  }

  const combine = (a: Tracer[], b: Tracer[]): Tracer[] => {
    const out = fn(unflatten(def, a) as T, unflatten(def, b) as T);
    const [outLeaves, outDef] = flatten(out);
    if (!treeDefEqual(outDef, def as TreeDef))
      throw new TypeError(
        `lax.associativeScan: fn must return the structure of its inputs ${treeDefToString(def)}, got ${treeDefToString(outDef)}`,
      );
    return outLeaves.map((l, i) => {
      const x = l instanceof Tracer ? l : asArray(l);
      if (x.shape.join() !== a[i].shape.join())
        throw new TypeError(
          `lax.associativeScan: fn changed the shape of leaf ${i} from [${a[i].shape.join(", ")}] to [${x.shape.join(", ")}]; it must combine elementwise`,
        );
      return x;
    });
  };

  // JAX's recursion: combine neighbouring pairs, scan the half-length result (the odd positions),
  // then the even positions are each one more combine away from an odd result.
  const scan = (xs: Tracer[]): Tracer[] => {
    const len = xs[0].shape[axis];
    if (len < 2) return xs;
    const reduced = combine(
      xs.map((x) => sliceInDim(x, 0, -1, 2, axis)),
      xs.map((x) => sliceInDim(x, 1, undefined, 2, axis)),
    );
    const odd = scan(reduced);
    const evenTail =
      len % 2 === 0
        ? combine(
            odd.map((x) => sliceInDim(x, 0, -1, 1, axis)),
            xs.map((x) => sliceInDim(x, 2, undefined, 2, axis)),
          )
        : combine(
            odd,
            xs.map((x) => sliceInDim(x, 2, undefined, 2, axis)),
          );
    const even = xs.map((x, i) =>
      evenTail[i].shape[axis] === 0
        ? sliceInDim(x, 0, 1, 1, axis)
        : concatenate([sliceInDim(x, 0, 1, 1, axis), evenTail[i]], axis),
    );
    return even.map((e, i) => interleave(e, odd[i], axis));
  };

  const reverse = options.reverse ?? false;
  const input = reverse ? arrays.map((x) => rev(x, [axis])) : arrays;
  const scanned = scan(input);
  const result = reverse ? scanned.map((x) => rev(x, [axis])) : scanned;
  return unflatten(def, result) as T;
}
