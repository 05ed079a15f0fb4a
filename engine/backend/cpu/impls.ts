/**
 * CPU reference implementations, one per primitive: plain loops over typed arrays, correctness first.
 * float32 results are rounded on store (Float32Array), so each primitive is computed in float32.
 */
import type { ShapedArray } from "../../core/aval.js";
import {
  Primitive,
  type ParamsOf,
  type UnaryPrimitive,
  type BinaryPrimitive,
  type ReducePrimitive,
} from "../../core/primitive.js";
import { hostArray, type DType, type TypedArray } from "../../dtype.js";
import { stridesOf } from "../../shape.js";

export type CpuImpl<P extends Primitive> = (
  inputs: TypedArray[],
  inAvals: ShapedArray[],
  outAvals: ShapedArray[],
  params: ParamsOf<P>,
) => TypedArray[];
export type CpuImplTable = { [P in Primitive]: CpuImpl<P> };

type Fn1 = (x: number) => number;
type Fn2 = (x: number, y: number) => number;

// log1p/expm1 through Math's own accurate versions.
const UNARY: Record<UnaryPrimitive, Fn1> = {
  [Primitive.Neg]: (x) => -x,
  [Primitive.Sin]: Math.sin,
  [Primitive.Cos]: Math.cos,
  [Primitive.Tan]: Math.tan,
  [Primitive.Exp]: Math.exp,
  [Primitive.Log]: Math.log,
  [Primitive.Tanh]: Math.tanh,
  [Primitive.Logistic]: (x) => 1 / (1 + Math.exp(-x)),
  [Primitive.Sqrt]: Math.sqrt,
  [Primitive.Rsqrt]: (x) => 1 / Math.sqrt(x),
  [Primitive.Abs]: Math.abs,
  [Primitive.Sign]: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  [Primitive.Floor]: Math.floor,
  [Primitive.Ceil]: Math.ceil,
  [Primitive.Log1p]: Math.log1p,
  [Primitive.Expm1]: Math.expm1,
};

// Integer arithmetic wraps like int32/uint32; integer division truncates toward zero (lax.div).
function binaryFn(prim: BinaryPrimitive, dtype: DType): Fn2 {
  const int = dtype === "int32" || dtype === "uint32";
  switch (prim) {
    case Primitive.Add:
      return (x, y) => x + y;
    case Primitive.Sub:
      return (x, y) => x - y;
    case Primitive.Mul:
      return int ? (x, y) => Math.imul(x, y) : (x, y) => x * y;
    case Primitive.Div:
      return int ? (x, y) => (y === 0 ? 0 : Math.trunc(x / y)) : (x, y) => x / y;
    case Primitive.Max:
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y));
    case Primitive.Min:
      return (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y));
    case Primitive.Pow:
      return Math.pow;
  }
}

const COMPARE: Record<
  Primitive.Eq | Primitive.Ne | Primitive.Lt | Primitive.Le | Primitive.Gt | Primitive.Ge,
  Fn2
> = {
  [Primitive.Eq]: (x, y) => +(x === y),
  [Primitive.Ne]: (x, y) => +(x !== y),
  [Primitive.Lt]: (x, y) => +(x < y),
  [Primitive.Le]: (x, y) => +(x <= y),
  [Primitive.Gt]: (x, y) => +(x > y),
  [Primitive.Ge]: (x, y) => +(x >= y),
};

function map1(fn: Fn1): CpuImpl<UnaryPrimitive> {
  return ([x], _in, [out]) => {
    const y = hostArray(out.dtype, out.size);
    for (let i = 0; i < y.length; i++) y[i] = fn(x[i]);
    return [y];
  };
}

/** Elementwise over two operands of one shape, either of which may be rank 0. */
function map2(x: TypedArray, y: TypedArray, out: ShapedArray, fn: Fn2): TypedArray {
  const z = hostArray(out.dtype, out.size);
  const sx = x.length === 1 ? 0 : 1;
  const sy = y.length === 1 ? 0 : 1;
  for (let i = 0; i < z.length; i++) z[i] = fn(x[i * sx], y[i * sy]);
  return z;
}

const binary =
  (prim: BinaryPrimitive): CpuImpl<BinaryPrimitive> =>
  ([x, y], _in, [out]) => [map2(x, y, out, binaryFn(prim, out.dtype))];

const compare =
  (prim: keyof typeof COMPARE): CpuImpl<keyof typeof COMPARE> =>
  ([x, y], _in, [out]) => [map2(x, y, out, COMPARE[prim])];

/** For each output element, the flat input index given per-output-axis input strides. */
function gatherStrided(
  x: TypedArray,
  outShape: readonly number[],
  inStrides: number[],
  out: TypedArray,
): void {
  const rank = outShape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
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

function reduce<P extends ReducePrimitive>(init: number, combine: Fn2): CpuImpl<P> {
  return ([x], [inAval], [out], params) => {
    const { axes } = params as ParamsOf<ReducePrimitive>;
    const y = hostArray(out.dtype, out.size).fill(init);
    const inShape = inAval.shape;
    const keptStrides = stridesOf(out.shape);
    // Output stride for each input axis (0 on reduced axes).
    const strideForAxis: number[] = [];
    let k = 0;
    for (let d = 0; d < inShape.length; d++) strideForAxis.push(axes.includes(d) ? 0 : keptStrides[k++]);
    const idx = new Array<number>(inShape.length).fill(0);
    let dst = 0;
    const acc = Array.from(y);
    for (let i = 0; i < x.length; i++) {
      acc[dst] = combine(acc[dst], x[i]);
      for (let d = inShape.length - 1; d >= 0; d--) {
        idx[d]++;
        dst += strideForAxis[d];
        if (idx[d] < inShape[d]) break;
        dst -= strideForAxis[d] * idx[d];
        idx[d] = 0;
      }
    }
    for (let i = 0; i < y.length; i++) y[i] = acc[i];
    return [y];
  };
}

function convert(x: TypedArray, to: DType): TypedArray {
  const y = hostArray(to, x.length);
  if (to === "bool") for (let i = 0; i < x.length; i++) y[i] = x[i] !== 0 ? 1 : 0;
  else if (to === "int32" || to === "uint32") {
    // Float to integer truncates toward zero; NaN becomes 0 (XLA's convert).
    for (let i = 0; i < x.length; i++) y[i] = Number.isNaN(x[i]) ? 0 : Math.trunc(x[i]);
  } else y.set(x);
  return y;
}

export const cpuImpls: CpuImplTable = {
  [Primitive.Neg]: map1(UNARY[Primitive.Neg]),
  [Primitive.Sin]: map1(UNARY[Primitive.Sin]),
  [Primitive.Cos]: map1(UNARY[Primitive.Cos]),
  [Primitive.Tan]: map1(UNARY[Primitive.Tan]),
  [Primitive.Exp]: map1(UNARY[Primitive.Exp]),
  [Primitive.Log]: map1(UNARY[Primitive.Log]),
  [Primitive.Tanh]: map1(UNARY[Primitive.Tanh]),
  [Primitive.Logistic]: map1(UNARY[Primitive.Logistic]),
  [Primitive.Sqrt]: map1(UNARY[Primitive.Sqrt]),
  [Primitive.Rsqrt]: map1(UNARY[Primitive.Rsqrt]),
  [Primitive.Abs]: map1(UNARY[Primitive.Abs]),
  [Primitive.Sign]: map1(UNARY[Primitive.Sign]),
  [Primitive.Floor]: map1(UNARY[Primitive.Floor]),
  [Primitive.Ceil]: map1(UNARY[Primitive.Ceil]),
  [Primitive.Log1p]: map1(UNARY[Primitive.Log1p]),
  [Primitive.Expm1]: map1(UNARY[Primitive.Expm1]),
  [Primitive.Add]: binary(Primitive.Add),
  [Primitive.Sub]: binary(Primitive.Sub),
  [Primitive.Mul]: binary(Primitive.Mul),
  [Primitive.Div]: binary(Primitive.Div),
  [Primitive.Max]: binary(Primitive.Max),
  [Primitive.Min]: binary(Primitive.Min),
  [Primitive.Pow]: binary(Primitive.Pow),
  [Primitive.Eq]: compare(Primitive.Eq),
  [Primitive.Ne]: compare(Primitive.Ne),
  [Primitive.Lt]: compare(Primitive.Lt),
  [Primitive.Le]: compare(Primitive.Le),
  [Primitive.Gt]: compare(Primitive.Gt),
  [Primitive.Ge]: compare(Primitive.Ge),

  // select_n(p, *cases): case p (false -> cases[0], true -> cases[1]).
  [Primitive.SelectN]: ([pred, ...cases], _in, [out]) => {
    const y = hostArray(out.dtype, out.size);
    const sp = pred.length === 1 ? 0 : 1;
    for (let i = 0; i < y.length; i++) y[i] = cases[pred[i * sp]][i];
    return [y];
  },

  [Primitive.ConvertElementType]: ([x], _in, [out]) => [convert(x, out.dtype)],

  [Primitive.BroadcastInDim]: ([x], [inAval], [out], { broadcast_dimensions: dims }) => {
    const inStrides = stridesOf(inAval.shape);
    const strides = new Array<number>(out.ndim).fill(0);
    dims.forEach((d, i) => {
      if (inAval.shape[i] !== 1) strides[d] = inStrides[i];
    });
    const y = hostArray(out.dtype, out.size);
    gatherStrided(x, out.shape, strides, y);
    return [y];
  },

  [Primitive.Reshape]: ([x]) => [x.slice()],

  [Primitive.Transpose]: ([x], [inAval], [out], { permutation }) => {
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

  [Primitive.ReduceSum]: reduce(0, (a, b) => a + b),
  [Primitive.ReduceMax]: reduce(-Infinity, (a, b) =>
    Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b),
  ),
};
