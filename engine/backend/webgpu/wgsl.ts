/** WGSL building blocks shared by the lowerings. */
import type { ShapedArray } from "../../core/aval.js";
import type { DType } from "../../dtype.js";
import { stridesOf } from "../../shape.js";

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

/** Reads operand `k` at the flat index `i` (rank-0 operands broadcast). */
export const at = (k: number, a: ShapedArray, index = "i"): string =>
  a.ndim === 0 ? `in${k}[0]` : `in${k}[${index}]`;

/**
 * WGSL statements setting `src`, the flat input index, from flat output index `i`: along output
 * axis d the input index advances by `inStrides[d]` (0 for a broadcast axis).
 */
export function stridedSource(
  outShape: readonly number[],
  inStrides: readonly number[],
  index = "i",
): string {
  const outStrides = stridesOf(outShape);
  const lines = [`var rem = ${index};`, "var src = 0u;"];
  outShape.forEach((_, d) => {
    lines.push(
      `{ let c = rem / ${outStrides[d]}u; rem = rem % ${outStrides[d]}u; src = src + c * ${inStrides[d]}u; }`,
    );
  });
  return lines.join("\n  ");
}

/**
 * An f32 from its bits at run time: WGSL rejects a constant expression whose value is inf or NaN, so
 * the bits are or-ed with `(i & 0u)` (the invocation index makes it a runtime expression).
 */
export const wgslF32Bits = (bits: string): string => `bitcast<f32>(${bits} | (i & 0u))`;
export const WGSL_NAN = wgslF32Bits("0x7fc00000u");

/** NaN test that survives WGSL compilers which assume finite math: exponent all ones, mantissa non-zero. */
export const wgslIsNan = (e: string): string => `((bitcast<u32>(${e}) & 0x7fffffffu) > 0x7f800000u)`;

/** max/min with NaN propagation on floats (XLA's semantics; WGSL's max/min may drop a NaN). */
export function wgslMinMax(fn: "max" | "min", a: string, x: string, t: string): string {
  if (t !== "f32") return `${fn}(${a}, ${x})`;
  return `select(${fn}(${a}, ${x}), ${WGSL_NAN}, ${wgslIsNan(a)} || ${wgslIsNan(x)})`;
}

/** The lowest value of a storage type (identity of max). */
export const LOWEST: Record<string, string> = {
  f32: wgslF32Bits("0xff800000u"),
  i32: "i32(-2147483648)",
  u32: "0u",
};
/** The highest value of a storage type (identity of min). */
export const HIGHEST: Record<string, string> = {
  f32: wgslF32Bits("0x7f800000u"),
  i32: "i32(2147483647)",
  u32: "0xffffffffu",
};

/** Functions kernels may call; the executor prepends those a kernel's body mentions (`name(`). */
export const WGSL_HELPERS: Record<string, string> = {
  // Accurate near 0 (Goldberg's trick): log(u) * x / (u - 1) with u = 1 + x.
  log1p_: `fn log1p_(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0) { return x; } return log(u) * x / (u - 1.0); }`,
  expm1_: `fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  return exp(x) - 1.0;
}`,
  // WGSL's pow is undefined for a negative base; lax.pow gives the real result for integral exponents.
  pow_: `fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  // NaN from runtime bits: Tint rejects a constant expression whose value is NaN.
  var nanBits = 0x7fc00000u;
  if (b != floor(b)) { return bitcast<f32>(nanBits); }
  let m = pow(-a, b);
  if (fract(b * 0.5) == 0.0) { return m; }
  return -m;
}`,
  idiv_: `fn idiv_(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } return a / b; }`,
  udiv_: `fn udiv_(a: u32, b: u32) -> u32 { if (b == 0u) { return 0u; } return a / b; }`,
};
