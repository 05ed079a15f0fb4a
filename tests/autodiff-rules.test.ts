/**
 * The JVP and transpose rules of every primitive, checked generically: for each differentiable
 * primitive a small case with smooth inputs away from kinks, where
 *   - jvp agrees with central finite differences (float32: step 1e-2, tolerance 1e-2 relative), and
 *   - vjp agrees with jvp by the dot-product identity <u, J v> = <J^T u, v>.
 * The case table is keyed by the primitive registry: a primitive without a case fails the test;
 * non-differentiable primitives are listed with a check of their zero (float0-like) derivative.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  Primitive,
  customVjp,
  defaultDevice,
  grad,
  jit,
  jnp,
  jvp,
  lax,
  vjp,
  vmap,
  type Array as Arr,
} from "../engine/index.js";
import { bind, bind1 } from "../engine/core/trace.js";
import type { ParamsOf } from "../engine/core/primitive.js";
import type { DType } from "../engine/dtype.js";

/** A deterministic generator (LCG) so every run sees the same inputs. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

let rand = rng(1);
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
function nest(values: number[], shape: number[]): number | unknown[] {
  if (shape.length === 0) return values[0];
  const inner = sizeOf(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) =>
    nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)),
  );
}
/** Uniform values in [lo, hi). */
function uniform(shape: number[], lo = -1, hi = 1): Arr {
  const v = Array.from({ length: sizeOf(shape) }, () => lo + (hi - lo) * rand());
  return jnp.array(nest(v, shape) as number[]);
}
/** Values in [lo, hi) with random signs (away from 0). */
function signed(shape: number[], lo = 0.5, hi = 1.5): Arr {
  const v = Array.from({ length: sizeOf(shape) }, () => (rand() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rand()));
  return jnp.array(nest(v, shape) as number[]);
}
/** Distinct, well separated values (a shuffled ladder), for max/min/sort: no ties near the inputs. */
function ladder(shape: number[]): Arr {
  const n = sizeOf(shape);
  const v = Array.from({ length: n }, (_, i) => i * 0.5 - n / 4);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return jnp.array(nest(v, shape) as number[]);
}
const ints = (values: unknown, dtype: DType = "int32") => jnp.array(values as number[], { dtype });

type Fn = (...xs: Arr[]) => Arr | Arr[];
interface Case {
  f: Fn;
  args: () => Arr[];
  /** Why vjp is not checked (a limitation stated in the report). */
  noVjp?: string;
}
interface Skip {
  /** Why the primitive has no derivative, and a check of that (zero tangents, or an error). */
  zero: string;
  check: () => Promise<void>;
}

const un =
  <P extends Primitive>(prim: P, params = {} as ParamsOf<P>): Fn =>
  (x) =>
    bind1(prim, [x], params);
const bin =
  (prim: Primitive): Fn =>
  (x, y) =>
    bind1(prim, [x, y], {} as ParamsOf<Primitive.Add>);

async function assertZeroTangent(f: Fn, args: Arr[]): Promise<void> {
  const [, t] = jvp(
    (...xs: Arr[]) => f(...xs),
    args,
    args.map((a) => jnp.onesLike(a)),
  );
  for (const leaf of [t].flat()) {
    const values = [...(await leaf.data())];
    assert.ok(
      values.every((v) => v === 0),
      `expected a zero tangent, got ${values}`,
    );
  }
}
const zeroFloat = (f: Fn, args: () => Arr[], why: string): Skip => ({
  zero: why,
  check: () => assertZeroTangent(f, args()),
});

const keys = () => [ints([[1, 2]], "uint32")];
const scatterDn = {
  updateWindowDims: [],
  insertedWindowDims: [0],
  scatterDimsToOperandDims: [0],
};
const gatherDn = { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] };
const collective =
  (g: (r: Arr) => Arr): Fn =>
  (x) =>
    vmap(g, { axisName: "i" })(x);

const cases: Record<Primitive, Case | Skip> = {
  [Primitive.Neg]: { f: un(Primitive.Neg), args: () => [uniform([3])] },
  [Primitive.Sin]: { f: un(Primitive.Sin), args: () => [uniform([3])] },
  [Primitive.Cos]: { f: un(Primitive.Cos), args: () => [uniform([3])] },
  [Primitive.Tan]: { f: un(Primitive.Tan), args: () => [uniform([3])] },
  [Primitive.Exp]: { f: un(Primitive.Exp), args: () => [uniform([3])] },
  [Primitive.Log]: { f: un(Primitive.Log), args: () => [uniform([3], 0.5, 2)] },
  [Primitive.Tanh]: { f: un(Primitive.Tanh), args: () => [uniform([3])] },
  [Primitive.Logistic]: { f: un(Primitive.Logistic), args: () => [uniform([3], -3, 3)] },
  [Primitive.Sqrt]: { f: un(Primitive.Sqrt), args: () => [uniform([3], 0.5, 2)] },
  [Primitive.Rsqrt]: { f: un(Primitive.Rsqrt), args: () => [uniform([3], 0.5, 2)] },
  [Primitive.Abs]: { f: un(Primitive.Abs), args: () => [signed([4])] },
  [Primitive.Log1p]: { f: un(Primitive.Log1p), args: () => [uniform([3], 0, 1)] },
  [Primitive.Expm1]: { f: un(Primitive.Expm1), args: () => [uniform([3])] },
  [Primitive.Exp2]: { f: un(Primitive.Exp2), args: () => [uniform([3])] },
  [Primitive.Cbrt]: { f: un(Primitive.Cbrt), args: () => [signed([3])] },
  [Primitive.Asin]: { f: un(Primitive.Asin), args: () => [uniform([3], -0.5, 0.5)] },
  [Primitive.Acos]: { f: un(Primitive.Acos), args: () => [uniform([3], -0.5, 0.5)] },
  [Primitive.Atan]: { f: un(Primitive.Atan), args: () => [uniform([3], -2, 2)] },
  [Primitive.Sinh]: { f: un(Primitive.Sinh), args: () => [uniform([3])] },
  [Primitive.Cosh]: { f: un(Primitive.Cosh), args: () => [signed([3])] },
  [Primitive.Asinh]: { f: un(Primitive.Asinh), args: () => [uniform([3], -2, 2)] },
  [Primitive.Acosh]: { f: un(Primitive.Acosh), args: () => [uniform([3], 1.5, 3)] },
  [Primitive.Atanh]: { f: un(Primitive.Atanh), args: () => [uniform([3], -0.5, 0.5)] },
  [Primitive.Erf]: { f: un(Primitive.Erf), args: () => [uniform([3])] },
  [Primitive.ErfInv]: { f: un(Primitive.ErfInv), args: () => [uniform([3], -0.5, 0.5)] },
  [Primitive.IntegerPow]: {
    f: (x) => [bind1(Primitive.IntegerPow, [x], { y: 3 }), bind1(Primitive.IntegerPow, [x], { y: -2 })],
    args: () => [signed([3])],
  },
  [Primitive.Add]: { f: bin(Primitive.Add), args: () => [uniform([3]), uniform([3])] },
  [Primitive.Sub]: { f: bin(Primitive.Sub), args: () => [uniform([3]), uniform([3])] },
  // A rank-0 operand is broadcast by the primitive: its cotangent is summed back.
  [Primitive.Mul]: {
    f: (x, y, s) => [bind1(Primitive.Mul, [x, y], {}), bind1(Primitive.Mul, [s, x], {})],
    args: () => [uniform([3]), uniform([3]), uniform([])],
  },
  [Primitive.Div]: { f: bin(Primitive.Div), args: () => [uniform([3]), signed([3])] },
  [Primitive.Max]: { f: bin(Primitive.Max), args: () => [ladder([4]), ladder([4])] },
  [Primitive.Min]: { f: bin(Primitive.Min), args: () => [ladder([4]), ladder([4])] },
  [Primitive.Pow]: { f: bin(Primitive.Pow), args: () => [uniform([3], 0.5, 2), uniform([3], -1, 2)] },
  [Primitive.Atan2]: { f: bin(Primitive.Atan2), args: () => [signed([3]), signed([3])] },
  // x / y in (1.1, 1.6): away from rem's jumps at integer quotients.
  [Primitive.Rem]: { f: bin(Primitive.Rem), args: () => [uniform([3], 1.1, 1.4), uniform([3], 0.9, 1)] },
  [Primitive.SelectN]: {
    f: (x, y) => bind1(Primitive.SelectN, [jnp.array([true, false, true]), x, y], {}),
    args: () => [uniform([3]), uniform([3])],
  },
  [Primitive.ConvertElementType]: {
    f: un(Primitive.ConvertElementType, { new_dtype: "float32", weak_type: false }),
    args: () => [uniform([3])],
  },
  [Primitive.BroadcastInDim]: {
    f: (x, y) => [
      bind1(Primitive.BroadcastInDim, [x], { shape: [2, 3], broadcast_dimensions: [1] }),
      bind1(Primitive.BroadcastInDim, [y], { shape: [2, 3], broadcast_dimensions: [0, 1] }),
    ],
    args: () => [uniform([3]), uniform([1, 3])],
  },
  [Primitive.Reshape]: {
    f: un(Primitive.Reshape, { new_sizes: [3, 2], dimensions: null }),
    args: () => [uniform([2, 3])],
  },
  [Primitive.Transpose]: {
    f: un(Primitive.Transpose, { permutation: [1, 2, 0] }),
    args: () => [uniform([2, 3, 2])],
  },
  [Primitive.Squeeze]: { f: un(Primitive.Squeeze, { dimensions: [0] }), args: () => [uniform([1, 3])] },
  [Primitive.Rev]: { f: un(Primitive.Rev, { dimensions: [1] }), args: () => [uniform([2, 3])] },
  [Primitive.Slice]: {
    f: (x) => [
      bind1(Primitive.Slice, [x], { start_indices: [0, 1], limit_indices: [2, 3], strides: null }),
      bind1(Primitive.Slice, [x], { start_indices: [0, 0], limit_indices: [2, 3], strides: [1, 2] }),
    ],
    args: () => [uniform([2, 3])],
  },
  [Primitive.Pad]: {
    f: (x, v) => [
      bind1(Primitive.Pad, [x, v], { padding_config: [[1, 2, 1]] }),
      bind1(Primitive.Pad, [x, v], { padding_config: [[-1, 1, 0]] }),
    ],
    args: () => [uniform([3]), uniform([])],
  },
  [Primitive.Concatenate]: {
    f: (x, y) => bind1(Primitive.Concatenate, [x, y, x], { dimension: 0 }),
    args: () => [uniform([2]), uniform([3])],
  },
  [Primitive.ReduceSum]: { f: un(Primitive.ReduceSum, { axes: [1] }), args: () => [uniform([2, 3])] },
  [Primitive.ReduceMax]: { f: un(Primitive.ReduceMax, { axes: [1] }), args: () => [ladder([2, 3])] },
  [Primitive.ReduceMin]: { f: un(Primitive.ReduceMin, { axes: [0, 1] }), args: () => [ladder([2, 3])] },
  [Primitive.ReduceProd]: { f: un(Primitive.ReduceProd, { axes: [1] }), args: () => [signed([2, 3])] },
  [Primitive.Cumsum]: {
    f: (x) => [
      bind1(Primitive.Cumsum, [x], { axis: 1, reverse: false }),
      bind1(Primitive.Cumsum, [x], { axis: 0, reverse: true }),
    ],
    args: () => [uniform([2, 3])],
  },
  [Primitive.Cumprod]: {
    f: un(Primitive.Cumprod, { axis: 1, reverse: false }),
    args: () => [signed([2, 3])],
  },
  [Primitive.Cummax]: {
    f: (x) => [
      bind1(Primitive.Cummax, [x], { axis: 1, reverse: false }),
      bind1(Primitive.Cummax, [x], { axis: 0, reverse: true }),
    ],
    args: () => [ladder([3, 4])],
  },
  [Primitive.Cummin]: { f: un(Primitive.Cummin, { axis: 1, reverse: false }), args: () => [ladder([3, 4])] },
  [Primitive.DotGeneral]: {
    f: (x, y, a, b) => [
      bind1(Primitive.DotGeneral, [x, y], {
        dimension_numbers: [
          [[1], [0]],
          [[], []],
        ],
        precision: null,
        preferred_element_type: null,
      }),
      // batch dimension 0 on both; contract lhs 1 with rhs 2
      bind1(Primitive.DotGeneral, [a, b], {
        dimension_numbers: [
          [[1], [2]],
          [[0], [0]],
        ],
        precision: null,
        preferred_element_type: null,
      }),
    ],
    args: () => [uniform([2, 3]), uniform([3, 4]), uniform([2, 3, 2]), uniform([2, 2, 3])],
  },
  [Primitive.DynamicSlice]: {
    f: (x) => bind1(Primitive.DynamicSlice, [x, ints(1)], { slice_sizes: [3] }),
    args: () => [uniform([5])],
  },
  [Primitive.DynamicUpdateSlice]: {
    f: (x, u) => bind1(Primitive.DynamicUpdateSlice, [x, u, ints(2)], {}),
    args: () => [uniform([5]), uniform([2])],
  },
  // Repeated indices: the transpose (scatter-add) must accumulate.
  [Primitive.Gather]: {
    f: (x) => lax.gather(x, ints([[0], [3], [3]]), gatherDn, [1, 3]),
    args: () => [uniform([5, 3])],
  },
  [Primitive.ScatterAdd]: {
    f: (x, u) => lax.scatterAdd(x, ints([[1], [3], [1]]), u, scatterDn),
    args: () => [uniform([5]), uniform([3])],
  },
  [Primitive.Scatter]: {
    f: (x, u) => lax.scatter(x, ints([[1], [3]]), u, scatterDn),
    args: () => [uniform([5]), uniform([2])],
  },
  [Primitive.ScatterMul]: {
    f: (x, u) => lax.scatterMul(x, ints([[1], [3], [1]]), u, scatterDn),
    args: () => [signed([5]), signed([3])],
  },
  [Primitive.ScatterMin]: {
    f: (x, u) => lax.scatterMin(x, ints([[1], [3], [1]]), u, scatterDn),
    args: () => {
      const [x, u] = [ladder([5]), ladder([3])];
      return [x, u];
    },
  },
  [Primitive.ScatterMax]: {
    f: (x, u) => lax.scatterMax(x, ints([[1], [3], [1]]), u, scatterDn),
    args: () => [ladder([5]), ladder([3])],
  },
  [Primitive.Sort]: {
    f: (x, y) => bind(Primitive.Sort, [x, y], { dimension: 1, is_stable: true, num_keys: 1 }),
    args: () => [ladder([2, 4]), uniform([2, 4])],
  },
  [Primitive.Psum]: { f: collective((r) => jnp.mul(r, lax.psum(r, "i"))), args: () => [uniform([3, 2])] },
  [Primitive.Pmax]: { f: collective((r) => jnp.mul(r, lax.pmax(r, "i"))), args: () => [ladder([3, 2])] },
  [Primitive.Pmin]: { f: collective((r) => jnp.mul(r, lax.pmin(r, "i"))), args: () => [ladder([3, 2])] },
  [Primitive.AllGather]: {
    f: collective((r) => jnp.sum(jnp.mul(lax.allGather(r, "i"), r), 0)),
    args: () => [uniform([3, 2])],
  },

  // Piecewise constant, boolean or integer results: zero tangents (JAX: zeros, or float0).
  [Primitive.Sign]: zeroFloat(un(Primitive.Sign), () => [signed([3])], "piecewise constant"),
  [Primitive.Floor]: zeroFloat(un(Primitive.Floor), () => [uniform([3], 0.1, 0.9)], "piecewise constant"),
  [Primitive.Ceil]: zeroFloat(un(Primitive.Ceil), () => [uniform([3], 0.1, 0.9)], "piecewise constant"),
  [Primitive.Round]: zeroFloat(
    un(Primitive.Round, { rounding_method: 0 }),
    () => [uniform([3], 0.1, 0.4)],
    "piecewise constant",
  ),
  [Primitive.IsFinite]: zeroFloat(un(Primitive.IsFinite), () => [uniform([3])], "boolean result"),
  [Primitive.Eq]: zeroFloat(bin(Primitive.Eq), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.Ne]: zeroFloat(bin(Primitive.Ne), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.Lt]: zeroFloat(bin(Primitive.Lt), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.Le]: zeroFloat(bin(Primitive.Le), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.Gt]: zeroFloat(bin(Primitive.Gt), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.Ge]: zeroFloat(bin(Primitive.Ge), () => [uniform([3]), uniform([3])], "boolean result"),
  [Primitive.And]: zeroFloat(bin(Primitive.And), () => [ints([1, 2]), ints([3, 1])], "integer values"),
  [Primitive.Or]: zeroFloat(bin(Primitive.Or), () => [ints([1, 2]), ints([3, 1])], "integer values"),
  [Primitive.Xor]: zeroFloat(bin(Primitive.Xor), () => [ints([1, 2]), ints([3, 1])], "integer values"),
  [Primitive.Not]: zeroFloat(un(Primitive.Not), () => [ints([1, 2])], "integer values"),
  [Primitive.ReduceAnd]: zeroFloat(
    un(Primitive.ReduceAnd, { axes: [0] }),
    () => [jnp.array([true, false])],
    "boolean values",
  ),
  [Primitive.ReduceOr]: zeroFloat(
    un(Primitive.ReduceOr, { axes: [0] }),
    () => [jnp.array([true, false])],
    "boolean values",
  ),
  [Primitive.Argmax]: zeroFloat(
    un(Primitive.Argmax, { axes: [0], index_dtype: "int32" }),
    () => [ladder([4])],
    "integer result",
  ),
  [Primitive.Argmin]: zeroFloat(
    un(Primitive.Argmin, { axes: [0], index_dtype: "int32" }),
    () => [ladder([4])],
    "integer result",
  ),
  [Primitive.Iota]: {
    zero: "no operands",
    check: async () => {
      // Only x's tangent flows through x + iota.
      const f = (x: Arr) => jnp.add(x, jnp.astype(lax.iota("int32", 3), "float32"));
      const [, t] = jvp(f, [jnp.zeros([3])], [jnp.array([1, 2, 3])]);
      assert.deepEqual(await t.tolist(), [1, 2, 3]);
    },
  },
  [Primitive.Threefry2x32]: zeroFloat(
    (k) => lax.threefry2x32(k, k, k, k)[0],
    () => [ints([1, 2], "uint32")],
    "integer values",
  ),
  [Primitive.RandomBits]: zeroFloat(
    un(Primitive.RandomBits, { bit_width: 32, shape: [2] }),
    keys,
    "integer values",
  ),
  [Primitive.RandomSplit]: zeroFloat(un(Primitive.RandomSplit, { shape: [2] }), keys, "integer values"),
  [Primitive.RandomFoldIn]: zeroFloat(
    (k) => bind1(Primitive.RandomFoldIn, [k, ints(3, "uint32")], {}),
    keys,
    "integer values",
  ),
  [Primitive.StopGradient]: {
    zero: "its derivative is zero by definition",
    check: async () => {
      await assertZeroTangent(un(Primitive.StopGradient), [uniform([3])]);
      const g = grad((x: Arr) => jnp.sum(jnp.mul(x, lax.stopGradient(x))))(jnp.array([1, 2]));
      assert.deepEqual(await g.tolist(), [1, 2]);
    },
  },
  [Primitive.AxisIndex]: {
    zero: "integer result",
    check: async () => {
      // Only x's tangent flows through x + axis_index; the value counts the examples.
      const f = (x: Arr) =>
        vmap((r: Arr) => jnp.add(r, jnp.astype(lax.axisIndex("i"), "float32")), { axisName: "i" })(x);
      const [y, t] = jvp(f, [jnp.zeros([3])], [jnp.array([1, 2, 3])]);
      assert.deepEqual(
        [await y.tolist(), await t.tolist()],
        [
          [0, 1, 2],
          [1, 2, 3],
        ],
      );
    },
  },
  [Primitive.CustomLin]: {
    zero: "only appears in linearized custom_vjp functions; forward mode through it is an error, as in JAX",
    check: async () => {
      const f = customVjp((x: Arr) => jnp.sin(x));
      f.defvjp(
        (x) => [jnp.sin(x), jnp.cos(x)],
        (c: Arr, ct: Arr) => [jnp.mul(c, ct)],
      );
      assert.throws(
        () => jvp(f, [jnp.array(1)], [jnp.array(1)]),
        /can't apply forward-mode autodiff \(jvp\) to a custom_vjp function/,
      );
      assert.equal(await grad(f)(jnp.array(0)).item(), 1);
    },
  },
  // [jit] cases
  [Primitive.Pjit]: {
    f: (x) =>
      jit((y: Arr) =>
        jnp
          .sin(y)
          .mul(y)
          .add(jnp.exp(y.mul(0.5))),
      )(x),
    args: () => [uniform([3])],
  },
  // [end jit]
  // [control-flow] cases
  // Both branches of a cond are taken (a true and a false predicate), a branch whose output does not
  // depend on the operands (its tangent is materialised), and a three-way switch.
  [Primitive.Cond]: {
    f: (x, y) => [
      ...lax.cond(
        true,
        (a: Arr, b: Arr) => [jnp.sin(a).mul(b), a],
        (a: Arr, b: Arr) => [b, jnp.onesLike(a)],
        x,
        y,
      ),
      ...lax.cond(
        jnp.less(jnp.sum(x), -100),
        (a: Arr, b: Arr) => [jnp.sin(a).mul(b), a],
        (a: Arr, b: Arr) => [b.mul(b), jnp.onesLike(a)],
        x,
        y,
      ),
      lax.switch(1, [(a: Arr) => a, (a: Arr) => jnp.exp(a).mul(y), (a: Arr) => jnp.cos(a)], x),
    ],
    args: () => [uniform([3]), uniform([3])],
  },
  // Forward mode only, as in JAX (grad raises JAX's error: tests/autodiff-control-flow.test.ts).
  [Primitive.While]: {
    f: (x, w) =>
      lax
        .whileLoop(
          ([i]: Arr[]) => jnp.less(i, 3),
          ([i, y, z]: Arr[]) => [i.add(1), jnp.sin(y).mul(w), z.add(y)],
          [jnp.array(0, { dtype: "int32" }), x, jnp.zerosLike(x)],
        )
        .slice(1),
    args: () => [uniform([3]), uniform([3])],
    noVjp: "reverse mode through a while loop is JAX's error",
  },
  // Consts (w), carry, xs and ys, forwards and in reverse, and a fori_loop with static bounds.
  [Primitive.Scan]: {
    f: (xs, w, c0) => {
      const body = (c: Arr, x: Arr) => [jnp.tanh(c.mul(w).add(x)), jnp.sin(c).mul(x)] as const;
      const [c, ys] = lax.scan(body, c0, xs);
      const [cr, ysr] = lax.scan(body, c0, xs, { reverse: true });
      const f = lax.forLoop(0, 2, (_i, v: Arr) => jnp.sin(v).mul(w), c0);
      return [c, ys, cr, ysr, f];
    },
    args: () => [uniform([3, 2]), uniform([2]), uniform([2])],
  },
  // [end control-flow]
};

async function values(x: Arr | Arr[]): Promise<number[]> {
  const out: number[] = [];
  for (const a of [x].flat()) out.push(...(await a.data()));
  return out;
}
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

async function checkCase(name: string, c: Case): Promise<void> {
  const xs = c.args();
  const vs = xs.map((x) => uniform([...x.shape]));
  const f = (...a: Arr[]) => c.f(...a);
  const [, tOut] = jvp(f, xs, vs);
  const t = await values(tOut);
  // Central differences in float32.
  const eps = 1e-2;
  const plus = await values(f(...xs.map((x, i) => jnp.add(x, jnp.mul(vs[i], eps)))));
  const minus = await values(f(...xs.map((x, i) => jnp.subtract(x, jnp.mul(vs[i], eps)))));
  const scale = Math.max(1, ...t.map(Math.abs));
  t.forEach((ti, k) => {
    const fd = (plus[k] - minus[k]) / (2 * eps);
    assert.ok(
      Math.abs(fd - ti) <= 1e-2 * scale,
      `${name}: jvp ${ti} vs finite difference ${fd} at output element ${k}\n jvp: ${t}`,
    );
  });
  if (c.noVjp) return;
  const [out, pull] = vjp(f, ...xs);
  const us = [out].flat().map((o) => uniform([...o.shape]));
  const cts = pull((Array.isArray(out) ? us : us[0]) as Arr & Arr[]);
  const lhs = dot(await values(us), t);
  const rhs = dot(await values(cts as Arr[]), await values(vs));
  assert.ok(
    Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(lhs)),
    `${name}: <u, jvp(v)> = ${lhs} but <vjp(u), v> = ${rhs}`,
  );
}

describe("autodiff rules of every primitive (CPU reference executor)", () => {
  before(() => {
    defaultDevice("cpu");
  });

  it("has a case or a zero-derivative check for every primitive in the registry", () => {
    const missing = Object.values(Primitive).filter((p) => !(p in cases));
    assert.deepEqual(missing, [], `primitives without an autodiff case: ${missing.join(", ")}`);
  });

  for (const prim of Object.values(Primitive)) {
    const c = cases[prim];
    if (!c) continue;
    if ("zero" in c) {
      it(`${prim}: zero derivative (${c.zero})`, async () => {
        rand = rng(prim.length * 7919);
        await c.check();
      });
    } else {
      it(`${prim}: jvp = finite differences, vjp = jvp transposed${c.noVjp ? " (jvp only)" : ""}`, async () => {
        rand = rng(prim.length * 7919 + prim.charCodeAt(0));
        await checkCase(prim, c);
      });
    }
  }
});
