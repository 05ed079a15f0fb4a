/**
 * sort[dimension, is_stable, num_keys]: sorts several same-shaped operands together along one
 * dimension, ordered lexicographically by the first `num_keys` of them (JAX's lax.sort).
 *
 * Float keys are compared as JAX's comparator does after `_canonicalize_float_for_sort`: -0.0 and
 * 0.0 are equal, every NaN is equal to every other NaN and sorts after +inf. Ties keep their
 * original order on both executors (a stable sort is a valid unstable one too).
 */
import { ShapedArray } from "../core/aval.js";
import { Primitive } from "../core/primitive.js";
import { hostArray, type TypedArray } from "../dtype.js";
import { shapeEqual, stridesOf } from "../shape.js";
import { wgslStorageType } from "../backend/webgpu/wgsl.js";
import { describe } from "./checks.js";
import type { PrimitiveRules } from "./rules.js";

/** Three-way comparison of two keys with NaNs last and -0.0 == 0.0. */
function compareKeys(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Geometry of the lines along `dimension`: `count` lines of `n` elements `stride` apart. */
function lines(shape: readonly number[], dimension: number) {
  const n = shape[dimension];
  const stride = stridesOf(shape)[dimension];
  const size = shape.reduce((a, b) => a * b, 1);
  return { n, stride, size };
}

function sortHost(inputs: TypedArray[], outAvals: ShapedArray[], dimension: number, numKeys: number) {
  const { n, stride, size } = lines(outAvals[0].shape, dimension);
  const outs = outAvals.map((a) => hostArray(a.dtype, a.size));
  const perm = new Array<number>(n);
  const keys = inputs.slice(0, numKeys);
  for (let start = 0; start < size; start++) {
    // `start` walks the first element of every line: skip those inside a line.
    if (Math.floor(start / stride) % n !== 0) continue;
    for (let k = 0; k < n; k++) perm[k] = start + k * stride;
    perm.sort((p, q) => {
      for (const key of keys) {
        const c = compareKeys(key[p], key[q]);
        if (c !== 0) return c;
      }
      return p - q;
    });
    for (let k = 0; k < n; k++) {
      const dst = start + k * stride;
      for (let m = 0; m < outs.length; m++) outs[m][dst] = inputs[m][perm[k]];
    }
  }
  return outs;
}

/** WGSL `a < b` on keys of storage type t, with NaNs after everything (checked on the bits). */
function wgslLess(a: string, b: string, t: string): string {
  if (t !== "f32") return `(${a} < ${b})`;
  const nan = (x: string) => `((bitcast<u32>(${x}) & 0x7fffffffu) > 0x7f800000u)`;
  return `(!${nan(a)} && (${nan(b)} || ${a} < ${b}))`;
}

export const sortRules: PrimitiveRules<Primitive.Sort> = {
  abstractEval: (avals, { dimension, num_keys }) => {
    if (avals.length === 0) throw new TypeError("sort needs at least one operand");
    const first = avals[0];
    for (const a of avals) {
      if (!shapeEqual(a.shape, first.shape)) {
        throw new TypeError(`sort: operands must have one shape, got ${avals.map(describe).join(", ")}`);
      }
    }
    if (!Number.isInteger(dimension) || dimension < 0 || dimension >= first.ndim) {
      throw new RangeError(`sort: dimension ${dimension} is out of bounds for operand ${describe(first)}`);
    }
    if (!Number.isInteger(num_keys) || num_keys < 1 || num_keys > avals.length) {
      throw new RangeError(`sort: num_keys=${num_keys} must be between 1 and the ${avals.length} operands`);
    }
    return avals.map((a) => new ShapedArray(a.shape, a.dtype, a.weakType));
  },
  cpu: (inputs, _in, outAvals, { dimension, num_keys }) => sortHost(inputs, outAvals, dimension, num_keys),
  // One invocation per element: its rank in its line is the number of elements that sort before it
  // (ties broken by position, hence stable); it then writes itself (and its payloads) there.
  wgsl: (inAvals, outAvals, { dimension, num_keys }) => {
    const { n, stride } = lines(inAvals[0].shape, dimension);
    const keyTests = inAvals.slice(0, num_keys).map((a, m) => {
      const t = wgslStorageType(a.dtype);
      const other = `in${m}[j]`;
      const mine = `in${m}[i]`;
      return `if (!decided) {
        if (${wgslLess(other, mine, t)}) { before = true; decided = true; }
        else if (${wgslLess(mine, other, t)}) { decided = true; }
      }`;
    });
    const name = (m: number) => (outAvals.length === 1 ? "out" : `out${m}`);
    const writes = outAvals.map((_, m) => `${name(m)}[dst] = in${m}[i];`).join("\n  ");
    return {
      body: `let pos = (i / ${stride}u) % ${n}u;
  let base = i - pos * ${stride}u;
  var rank = 0u;
  for (var k = 0u; k < ${n}u; k = k + 1u) {
    let j = base + k * ${stride}u;
    var before = false;
    var decided = false;
    ${keyTests.join("\n    ")}
    if (!decided) { before = k < pos; }
    if (before) { rank = rank + 1u; }
  }
  let dst = base + rank * ${stride}u;
  ${writes}`,
    };
  },
};
