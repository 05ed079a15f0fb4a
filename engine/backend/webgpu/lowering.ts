/**
 * WGSL lowering of each primitive, for eager (op-by-op) execution: every kernel computes one output
 * element per invocation at flat index `i`, reading inputs `in0..inN` and writing `out`. Shapes are
 * baked into the source as constants; the device caches pipelines by source text.
 */
import type { ShapedArray } from "../../core/aval.js";
import {
  Primitive,
  type ParamsOf,
  type UnaryPrimitive,
  type BinaryPrimitive,
  type ReducePrimitive,
} from "../../core/primitive.js";
import type { DType } from "../../dtype.js";
import { stridesOf } from "../../shape.js";

export type WgslLowering<P extends Primitive> = (
  inAvals: ShapedArray[],
  out: ShapedArray,
  params: ParamsOf<P>,
) => string;
export type WgslLoweringTable = { [P in Primitive]: WgslLowering<P> };

/** Storage type of a dtype in WGSL buffers (bool is stored as u32 0/1: WGSL bool is not host-shareable). */
export function wgslStorageType(dtype: DType): string {
  switch (dtype) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "uint32":
    case "bool":
      return "u32";
    case "float16":
      return "f16";
  }
}

/** Index expression for reading operand `k` at the output's flat index (rank-0 operands broadcast). */
const at = (k: number, a: ShapedArray) => (a.ndim === 0 ? `in${k}[0]` : `in${k}[i]`);

const UNARY: Record<UnaryPrimitive, (x: string, t: string) => string> = {
  [Primitive.Neg]: (x, t) => (t === "u32" ? `(0u - ${x})` : `-${x}`),
  [Primitive.Sin]: (x) => `sin(${x})`,
  [Primitive.Cos]: (x) => `cos(${x})`,
  [Primitive.Tan]: (x) => `tan(${x})`,
  [Primitive.Exp]: (x) => `exp(${x})`,
  [Primitive.Log]: (x) => `log(${x})`,
  [Primitive.Tanh]: (x) => `tanh(${x})`,
  [Primitive.Logistic]: (x) => `(1.0 / (1.0 + exp(-${x})))`,
  [Primitive.Sqrt]: (x) => `sqrt(${x})`,
  [Primitive.Rsqrt]: (x) => `inverseSqrt(${x})`,
  [Primitive.Abs]: (x, t) => (t === "u32" ? x : `abs(${x})`),
  [Primitive.Sign]: (x, t) => (t === "u32" ? `select(0u, 1u, ${x} > 0u)` : `sign(${x})`),
  [Primitive.Floor]: (x) => `floor(${x})`,
  [Primitive.Ceil]: (x) => `ceil(${x})`,
  // Accurate near 0 (Goldberg's trick): log(u) * x / (u - 1) with u = 1 + x.
  [Primitive.Log1p]: (x) => `log1p_(${x})`,
  [Primitive.Expm1]: (x) => `expm1_(${x})`,
};

/** Helper functions some expressions need; prepended to every shader that mentions them. */
export const WGSL_HELPERS: Record<string, string> = {
  log1p_: `fn log1p_(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0) { return x; } return log(u) * x / (u - 1.0); }`,
  expm1_: `fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  return exp(x) - 1.0;
}`,
  // WGSL's pow is undefined for a negative base; lax.pow gives the real result for integral exponents.
  pow_: `fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (b != floor(b)) { return bitcast<f32>(0x7fc00000u); }
  let m = pow(-a, b);
  if (fract(b * 0.5) == 0.0) { return m; }
  return -m;
}`,
  idiv_: `fn idiv_(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } return a / b; }`,
  udiv_: `fn udiv_(a: u32, b: u32) -> u32 { if (b == 0u) { return 0u; } return a / b; }`,
};

function binaryExpr(prim: BinaryPrimitive, x: string, y: string, t: string): string {
  switch (prim) {
    case Primitive.Add:
      return `(${x} + ${y})`;
    case Primitive.Sub:
      return `(${x} - ${y})`;
    case Primitive.Mul:
      return `(${x} * ${y})`;
    case Primitive.Div:
      return t === "i32" ? `idiv_(${x}, ${y})` : t === "u32" ? `udiv_(${x}, ${y})` : `(${x} / ${y})`;
    case Primitive.Max:
      return `max(${x}, ${y})`;
    case Primitive.Min:
      return `min(${x}, ${y})`;
    case Primitive.Pow:
      return `pow_(${x}, ${y})`;
  }
}

const COMPARE_OP = {
  [Primitive.Eq]: "==",
  [Primitive.Ne]: "!=",
  [Primitive.Lt]: "<",
  [Primitive.Le]: "<=",
  [Primitive.Gt]: ">",
  [Primitive.Ge]: ">=",
} as const;

const unary =
  (prim: UnaryPrimitive): WgslLowering<UnaryPrimitive> =>
  ([x], out) =>
    `out[i] = ${UNARY[prim](at(0, x), wgslStorageType(out.dtype))};`;

const binary =
  (prim: BinaryPrimitive): WgslLowering<BinaryPrimitive> =>
  ([x, y], out) =>
    `out[i] = ${binaryExpr(prim, at(0, x), at(1, y), wgslStorageType(out.dtype))};`;

const compare =
  (prim: keyof typeof COMPARE_OP): WgslLowering<keyof typeof COMPARE_OP> =>
  ([x, y]) =>
    `out[i] = select(0u, 1u, ${at(0, x)} ${COMPARE_OP[prim]} ${at(1, y)});`;

/** WGSL statements computing `src`, the input flat index, from output index `i` and per-axis strides. */
function stridedSource(outShape: readonly number[], inStrides: readonly number[]): string {
  const outStrides = stridesOf(outShape);
  const lines = ["var rem = i;", "var src = 0u;"];
  outShape.forEach((_, d) => {
    lines.push(
      `{ let c = rem / ${outStrides[d]}u; rem = rem % ${outStrides[d]}u; src = src + c * ${inStrides[d]}u; }`,
    );
  });
  return lines.join("\n  ");
}

function convertExpr(x: string, from: DType, to: DType): string {
  if (to === "bool") return `select(0u, 1u, ${x} != ${wgslStorageType(from)}(0))`;
  return `${wgslStorageType(to)}(${x})`;
}

function reduceLowering<P extends ReducePrimitive>(
  init: (t: string) => string,
  combine: (acc: string, x: string) => string,
): WgslLowering<P> {
  return ([x], out, params) => {
    const { axes } = params as ParamsOf<ReducePrimitive>;
    const t = wgslStorageType(out.dtype);
    const inStrides = stridesOf(x.shape);
    const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const reduced = [...axes].sort((a, b) => a - b);
    const count = reduced.reduce((n, d) => n * x.shape[d], 1);
    const base = stridedSource(
      kept.map((d) => x.shape[d]),
      kept.map((d) => inStrides[d]),
    );
    const redStrides = stridesOf(reduced.map((d) => x.shape[d]));
    const offset = reduced
      .map((d, k) => `((r / ${redStrides[k]}u) % ${x.shape[d]}u) * ${inStrides[d]}u`)
      .join(" + ");
    return `${base}
  var acc: ${t} = ${init(t)};
  for (var r = 0u; r < ${count}u; r = r + 1u) {
    acc = ${combine("acc", `in0[src + ${offset || "0u"}]`)};
  }
  out[i] = acc;`;
  };
}

const LOWEST: Record<string, string> = {
  f32: "bitcast<f32>(0xff800000u)",
  i32: "i32(-2147483648)",
  u32: "0u",
};

export const wgslLowerings: WgslLoweringTable = {
  [Primitive.Neg]: unary(Primitive.Neg),
  [Primitive.Sin]: unary(Primitive.Sin),
  [Primitive.Cos]: unary(Primitive.Cos),
  [Primitive.Tan]: unary(Primitive.Tan),
  [Primitive.Exp]: unary(Primitive.Exp),
  [Primitive.Log]: unary(Primitive.Log),
  [Primitive.Tanh]: unary(Primitive.Tanh),
  [Primitive.Logistic]: unary(Primitive.Logistic),
  [Primitive.Sqrt]: unary(Primitive.Sqrt),
  [Primitive.Rsqrt]: unary(Primitive.Rsqrt),
  [Primitive.Abs]: unary(Primitive.Abs),
  [Primitive.Sign]: unary(Primitive.Sign),
  [Primitive.Floor]: unary(Primitive.Floor),
  [Primitive.Ceil]: unary(Primitive.Ceil),
  [Primitive.Log1p]: unary(Primitive.Log1p),
  [Primitive.Expm1]: unary(Primitive.Expm1),
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

  [Primitive.SelectN]: ([pred, ...cases]) => {
    const p = `${at(0, pred)}`;
    const lines = [`var v = ${at(1, cases[0])};`];
    for (let k = 1; k < cases.length; k++)
      lines.push(`if (u32(${p}) == ${k}u) { v = ${at(k + 1, cases[k])}; }`);
    return `${lines.join("\n  ")}\n  out[i] = v;`;
  },

  [Primitive.ConvertElementType]: ([x], out) => `out[i] = ${convertExpr(at(0, x), x.dtype, out.dtype)};`,

  [Primitive.BroadcastInDim]: ([x], out, { broadcast_dimensions: dims }) => {
    const inStrides = stridesOf(x.shape);
    const strides = new Array<number>(out.ndim).fill(0);
    dims.forEach((d, k) => {
      if (x.shape[k] !== 1) strides[d] = inStrides[k];
    });
    return `${stridedSource(out.shape, strides)}\n  out[i] = in0[src];`;
  },

  [Primitive.Reshape]: () => `out[i] = in0[i];`,

  [Primitive.Transpose]: ([x], out, { permutation }) => {
    const inStrides = stridesOf(x.shape);
    return `${stridedSource(
      out.shape,
      permutation.map((p) => inStrides[p]),
    )}\n  out[i] = in0[src];`;
  },

  [Primitive.ReduceSum]: reduceLowering(
    (t) => `${t}(0)`,
    (acc, x) => `${acc} + ${x}`,
  ),
  [Primitive.ReduceMax]: reduceLowering(
    (t) => LOWEST[t],
    (acc, x) => `max(${acc}, ${x})`,
  ),
};
