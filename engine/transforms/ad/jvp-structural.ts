/**
 * JVP rules of the structural, reduction, indexing, sort, collective and random primitives. Linear
 * primitives apply themselves to the tangent; choosers (max reductions, cummax, pmax) pass on the
 * tangent of the chosen element, split evenly between ties (JAX's `_reduce_chooser_jvp_rule`).
 */
import { Primitive, type ScatterPrimitive } from "../../core/primitive.js";
import { bind, bind1, type Tracer } from "../../core/trace.js";
import { allGather, psum } from "../../lax/collectives.js";
import { broadcastedIota } from "../../lax/random-sort.js";
import { linear, zeroTangent } from "./jvp-elementwise.js";
import { gatherLike, scatterLike, scatterWindows, takeAlongAxis } from "./indexing.js";
import {
  add,
  addTangents,
  broadcastInDim,
  convert,
  div,
  eq,
  instantiate,
  mul,
  reduceSum,
  reshape,
  scalar,
  transpose,
  type JvpRule,
} from "./ops.js";
import { associativeScan } from "../../lax/associative-scan.js";
import { Zero, type Tangent } from "./zero.js";

type Rules<K extends Primitive> = { [P in K]: JvpRule<P> };

/** `out` (reduced over `axes`) broadcast back to the operand's shape. */
function unreduce(out: Tracer, shape: readonly number[], axes: readonly number[]): Tracer {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  return broadcastInDim(out, shape, kept);
}

/**
 * For each entry of `x`, the product of the other entries of its reduction group over `axes`: the
 * exclusive products before it times those after it (no division, so zeros are fine).
 */
function productOfOthers(x: Tracer, axes: readonly number[]): Tracer {
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const perm = [...axes, ...kept];
  const n = axes.reduce((p, d) => p * x.shape[d], 1);
  const flat = reshape(transpose(x, perm), [n, ...kept.map((d) => x.shape[d])]);
  const one = scalar(1, x.dtype);
  const shift = (y: Tracer, low: number) =>
    bind1(Primitive.Pad, [y, one], {
      padding_config: y.shape.map((_, d) => (d === 0 ? ([low, -low, 0] as const) : ([0, 0, 0] as const))),
    });
  const before = shift(bind1(Primitive.Cumprod, [flat], { axis: 0, reverse: false }), 1);
  const after = shift(bind1(Primitive.Cumprod, [flat], { axis: 0, reverse: true }), -1);
  const others = reshape(
    mul(before, after),
    perm.map((d) => x.shape[d]),
  );
  const inverse = perm.map((_, d) => perm.indexOf(d));
  return transpose(others, inverse);
}

function reduceChooser(prim: Primitive.ReduceMax | Primitive.ReduceMin): JvpRule<typeof prim> {
  return ([x], [t], params) => {
    const out = bind1(prim, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    const where = convert(eq(x, unreduce(out, x.shape, params.axes)), x.dtype);
    const counts = reduceSum(where, params.axes);
    return [[out], [div(reduceSum(mul(t, where), params.axes), counts)]];
  };
}

/**
 * cummax/cummin: out[i] = x[j*] for the j* <= i where the running extreme was reached; the tangent
 * is t[j*] (averaged over ties), found with an (i, j) mask along the scanned axis.
 */
function cumChooser(prim: Primitive.Cummax | Primitive.Cummin): JvpRule<typeof prim> {
  return ([x], [t], params) => {
    const out = bind1(prim, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    const a = params.axis;
    const n = x.shape[a];
    const ext = [...x.shape.slice(0, a + 1), n, ...x.shape.slice(a + 1)];
    const asJ = x.shape.map((_, d) => (d < a ? d : d + 1));
    const asI = x.shape.map((_, d) => (d <= a ? d : d + 1));
    const i = broadcastedIota("int32", ext, a);
    const j = broadcastedIota("int32", ext, a + 1);
    const before = bind1(params.reverse ? Primitive.Ge : Primitive.Le, [j, i], {});
    const hit = bind1(
      Primitive.And,
      [eq(broadcastInDim(x, ext, asJ), broadcastInDim(out, ext, asI)), before],
      {},
    );
    const where = convert(hit, x.dtype);
    const tj = broadcastInDim(t, ext, asJ);
    return [[out], [div(reduceSum(mul(where, tj), [a + 1]), reduceSum(where, [a + 1]))]];
  };
}

function collectiveChooser(prim: Primitive.Pmax | Primitive.Pmin): JvpRule<typeof prim> {
  return ([x], [t], params) => {
    const out = bind1(prim, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    const where = convert(eq(x, out), x.dtype);
    return [[out], [div(psum(mul(t, where), params.axes), psum(where, params.axes))]];
  };
}

function scatterRule<P extends ScatterPrimitive>(prim: P): JvpRule<P> {
  return ([x, idx, u], [tx, , tu], params) => {
    const out = bind1(prim, [x, idx, u], params);
    if (tx instanceof Zero && tu instanceof Zero) return [[out], [Zero.of(out.aval)]];
    switch (prim) {
      case Primitive.ScatterAdd:
        return [[out], [bind1(prim, [instantiate(tx), idx, instantiate(tu)], params)]];
      case Primitive.Scatter:
        // The tangent is scattered the way the values were (the same update wins each position).
        return [[out], [scatterLike(instantiate(tx), idx, instantiate(tu), params)]];
      case Primitive.ScatterMul: {
        // out = x prod(u): d out = dx prod(u) + out sum(du / u) over the updates at each position.
        const parts: Tangent[] = [
          tx instanceof Zero ? tx : bind1(Primitive.ScatterMul, [tx, idx, u], params),
          tu instanceof Zero
            ? tu
            : mul(out, bind1(Primitive.ScatterAdd, [instantiate(Zero.of(x.aval)), idx, div(tu, u)], params)),
        ];
        return [[out], [addTangents(parts, out.aval)]];
      }
      default: {
        // scatter-max/min: the tangents of whatever equals the result (operand or updates), averaged.
        const fromX = convert(eq(x, out), x.dtype);
        const fromU = convert(eq(u, scatterWindows(out, idx, u.aval, params)), x.dtype);
        const addParams = { ...params };
        const scatterSum = (v: Tracer) =>
          bind1(Primitive.ScatterAdd, [instantiate(Zero.of(x.aval)), idx, v], addParams);
        const count = add(fromX, scatterSum(fromU));
        const num = add(mul(instantiate(tx), fromX), scatterSum(mul(instantiate(tu), fromU)));
        return [[out], [div(num, count)]];
      }
    }
  };
}

export const structuralJvpRules: Rules<
  | Primitive.BroadcastInDim
  | Primitive.Reshape
  | Primitive.Transpose
  | Primitive.Squeeze
  | Primitive.Rev
  | Primitive.Slice
  | Primitive.ReduceSum
  | Primitive.Cumsum
  | Primitive.Concatenate
  | Primitive.Pad
  | Primitive.DynamicSlice
  | Primitive.DynamicUpdateSlice
  | Primitive.Gather
  | Primitive.Scatter
  | Primitive.ScatterAdd
  | Primitive.ScatterMul
  | Primitive.ScatterMin
  | Primitive.ScatterMax
  | Primitive.ReduceMax
  | Primitive.ReduceMin
  | Primitive.ReduceProd
  | Primitive.ReduceAnd
  | Primitive.ReduceOr
  | Primitive.Argmax
  | Primitive.Argmin
  | Primitive.Cumprod
  | Primitive.Cummax
  | Primitive.Cummin
  | Primitive.DotGeneral
  | Primitive.Iota
  | Primitive.Sort
  | Primitive.Threefry2x32
  | Primitive.RandomBits
  | Primitive.RandomSplit
  | Primitive.RandomFoldIn
  | Primitive.Psum
  | Primitive.Pmax
  | Primitive.Pmin
  | Primitive.AllGather
> = {
  [Primitive.BroadcastInDim]: linear(Primitive.BroadcastInDim),
  [Primitive.Reshape]: linear(Primitive.Reshape),
  [Primitive.Transpose]: linear(Primitive.Transpose),
  [Primitive.Squeeze]: linear(Primitive.Squeeze),
  [Primitive.Rev]: linear(Primitive.Rev),
  [Primitive.Slice]: linear(Primitive.Slice),
  [Primitive.ReduceSum]: linear(Primitive.ReduceSum),
  [Primitive.Cumsum]: linear(Primitive.Cumsum),

  [Primitive.Concatenate]: (xs, ts, params) => {
    const out = bind1(Primitive.Concatenate, xs, params);
    if (ts.every((t) => t instanceof Zero)) return [[out], [Zero.of(out.aval)]];
    return [[out], [bind1(Primitive.Concatenate, ts.map(instantiate), params)]];
  },
  [Primitive.Pad]: ([x, v], [tx, tv], params) => {
    const out = bind1(Primitive.Pad, [x, v], params);
    if (tx instanceof Zero && tv instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [bind1(Primitive.Pad, [instantiate(tx), instantiate(tv)], params)]];
  },
  // Linear in the operand; the start indices are integers.
  [Primitive.DynamicSlice]: ([x, ...starts], [t], params) => {
    const out = bind1(Primitive.DynamicSlice, [x, ...starts], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [bind1(Primitive.DynamicSlice, [t, ...starts], params)]];
  },
  [Primitive.DynamicUpdateSlice]: ([x, upd, ...starts], [tx, tu], params) => {
    const out = bind1(Primitive.DynamicUpdateSlice, [x, upd, ...starts], params);
    if (tx instanceof Zero && tu instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [
      [out],
      [bind1(Primitive.DynamicUpdateSlice, [instantiate(tx), instantiate(tu), ...starts], params)],
    ];
  },
  [Primitive.Gather]: ([x, idx], [t], params) => {
    const out = bind1(Primitive.Gather, [x, idx], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [gatherLike(t, idx, params)]];
  },
  [Primitive.Scatter]: scatterRule(Primitive.Scatter),
  [Primitive.ScatterAdd]: scatterRule(Primitive.ScatterAdd),
  [Primitive.ScatterMul]: scatterRule(Primitive.ScatterMul),
  [Primitive.ScatterMin]: scatterRule(Primitive.ScatterMin),
  [Primitive.ScatterMax]: scatterRule(Primitive.ScatterMax),

  [Primitive.ReduceMax]: reduceChooser(Primitive.ReduceMax),
  [Primitive.ReduceMin]: reduceChooser(Primitive.ReduceMin),
  // d prod(x) = sum_i dx_i prod_{j != i} x_j, the products of the other entries taken as (products
  // before i) x (products after i): exact where entries are zero, like JAX's rule.
  [Primitive.ReduceProd]: ([x], [t], params) => {
    const out = bind1(Primitive.ReduceProd, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [reduceSum(mul(t, productOfOthers(x, params.axes)), params.axes)]];
  },
  [Primitive.ReduceAnd]: zeroTangent(Primitive.ReduceAnd),
  [Primitive.ReduceOr]: zeroTangent(Primitive.ReduceOr),
  [Primitive.Argmax]: zeroTangent(Primitive.Argmax),
  [Primitive.Argmin]: zeroTangent(Primitive.Argmin),
  // The product rule carried through an associative scan of (x, dx) pairs, as JAX differentiates its
  // associative-scan cumprod: exact where entries are zero (no division), and linear in dx.
  [Primitive.Cumprod]: ([x], [t], params) => {
    const out = bind1(Primitive.Cumprod, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    const [, dout] = associativeScan(
      ([a, da]: [Tracer, Tracer], [b, db]: [Tracer, Tracer]): [Tracer, Tracer] => [
        mul(a, b),
        add(mul(da, b), mul(a, db)),
      ],
      [x, t],
      { axis: params.axis, reverse: params.reverse },
    );
    return [[out], [dout]];
  },
  [Primitive.Cummax]: cumChooser(Primitive.Cummax),
  [Primitive.Cummin]: cumChooser(Primitive.Cummin),
  // Bilinear: d(x . y) = dx . y + x . dy
  [Primitive.DotGeneral]: ([x, y], [tx, ty], params) => {
    const out = bind1(Primitive.DotGeneral, [x, y], params);
    const parts: Tangent[] = [
      tx instanceof Zero ? tx : bind1(Primitive.DotGeneral, [tx, y], params),
      ty instanceof Zero ? ty : bind1(Primitive.DotGeneral, [x, ty], params),
    ];
    return [[out], [addTangents(parts, out.aval)]];
  },

  [Primitive.Iota]: zeroTangent(Primitive.Iota),
  // Sort with an iota riding along gives the permutation; tangents are taken along it (JAX's rule).
  [Primitive.Sort]: (xs, ts, params) => {
    const d = params.dimension;
    const iota = broadcastedIota("int32", xs[0].shape, d);
    const outs = bind(Primitive.Sort, [...xs, iota], params);
    const perm = outs.pop()!;
    return [outs, ts.map((t, k) => (t instanceof Zero ? Zero.of(outs[k].aval) : takeAlongAxis(t, perm, d)))];
  },
  [Primitive.Threefry2x32]: zeroTangent(Primitive.Threefry2x32),
  [Primitive.RandomBits]: zeroTangent(Primitive.RandomBits),
  [Primitive.RandomSplit]: zeroTangent(Primitive.RandomSplit),
  [Primitive.RandomFoldIn]: zeroTangent(Primitive.RandomFoldIn),

  [Primitive.Psum]: ([x], [t], params) => {
    const out = bind1(Primitive.Psum, [x], params);
    return [[out], [t instanceof Zero ? Zero.of(out.aval) : psum(t, params.axes)]];
  },
  [Primitive.Pmax]: collectiveChooser(Primitive.Pmax),
  [Primitive.Pmin]: collectiveChooser(Primitive.Pmin),
  [Primitive.AllGather]: ([x], [t], params) => {
    const out = bind1(Primitive.AllGather, [x], params);
    if (t instanceof Zero) return [[out], [Zero.of(out.aval)]];
    return [[out], [allGather(t, params.axis_name, { axis: params.all_gather_dimension })]];
  },
};
