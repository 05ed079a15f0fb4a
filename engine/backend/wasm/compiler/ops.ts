/**
 * Vector code (four lanes of SIMD128) for the elementwise equations a fused wasm kernel inlines.
 * In registers a float32 is an f32x4 lane, an int32/uint32 an i32x4 lane and a bool a lane mask
 * (all ones or zero), so comparisons, logic and select need no conversion; memory holds bools as
 * bytes 0/1 (the loads and stores convert). Float transcendentals reuse the device's kernels
 * (kernels.ts / simd-math.ts), so fused and eager results agree.
 */
import type { JaxprEqn } from "../../../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../../../core/primitive.js";
import type { DType } from "../../../dtype.js";
import type { FunctionBuilder } from "../emitter/module.js";
import { TRIG_LIMIT, UNARY_F32_OF, unaryF32 } from "../kernels.js";
import * as m from "../simd-math.js";
import type { V } from "../simd-math.js";

type SimdName = Parameters<FunctionBuilder["simd"]>[0];

const simd1 =
  (op: SimdName) =>
  (x: V): V =>
  (g) => {
    x(g);
    g.simd(op);
  };
const simd2 =
  (op: SimdName) =>
  (a: V, b: V): V =>
  (g) => {
    a(g);
    b(g);
    g.simd(op);
  };

/** A constant of `dtype` in its register form, splatted. */
export function constant(value: number | boolean, dtype: DType): V {
  if (dtype === "float32") return m.fc(Number(value));
  if (dtype === "bool") return m.ic(value ? -1 : 0);
  return m.ic(Number(value) | 0);
}

const F32_BINARY: Partial<Record<Primitive, SimdName>> = {
  [Primitive.Add]: "f32x4_add",
  [Primitive.Sub]: "f32x4_sub",
  [Primitive.Mul]: "f32x4_mul",
  [Primitive.Div]: "f32x4_div",
  [Primitive.Max]: "f32x4_max",
  [Primitive.Min]: "f32x4_min",
};
const INT_BINARY: Partial<Record<Primitive, [SimdName, SimdName]>> = {
  // [int32, uint32]
  [Primitive.Add]: ["i32x4_add", "i32x4_add"],
  [Primitive.Sub]: ["i32x4_sub", "i32x4_sub"],
  [Primitive.Mul]: ["i32x4_mul", "i32x4_mul"],
  [Primitive.Max]: ["i32x4_max_s", "i32x4_max_u"],
  [Primitive.Min]: ["i32x4_min_s", "i32x4_min_u"],
};
const LOGIC: Partial<Record<Primitive, SimdName>> = {
  [Primitive.And]: "v128_and",
  [Primitive.Or]: "v128_or",
  [Primitive.Xor]: "v128_xor",
};
/** [float32, int32, unsigned (uint32 and bool masks: 0 < all-ones)] */
const COMPARE: Partial<Record<Primitive, [SimdName, SimdName, SimdName]>> = {
  [Primitive.Eq]: ["f32x4_eq", "i32x4_eq", "i32x4_eq"],
  [Primitive.Ne]: ["f32x4_ne", "i32x4_ne", "i32x4_ne"],
  [Primitive.Lt]: ["f32x4_lt", "i32x4_lt_s", "i32x4_lt_u"],
  [Primitive.Le]: ["f32x4_le", "i32x4_le_s", "i32x4_le_u"],
  [Primitive.Gt]: ["f32x4_gt", "i32x4_gt_s", "i32x4_gt_u"],
  [Primitive.Ge]: ["f32x4_ge", "i32x4_ge_s", "i32x4_ge_u"],
};

const isInt = (d: DType) => d === "int32" || d === "uint32";
const REGISTER_DTYPES = new Set<DType>(["float32", "int32", "uint32", "bool"]);

/** Whether `emitOp` handles this equation (else the planner leaves it to its own kernel). */
export function canEmit(eqn: JaxprEqn): boolean {
  if (eqn.outBinders.length !== 1) return false;
  const out = eqn.outBinders[0].aval.dtype;
  const ins = eqn.inputs.map((a) => a.aval.dtype);
  if (![out, ...ins].every((d) => REGISTER_DTYPES.has(d))) return false;
  const p = eqn.primitive;
  const x = ins[0];
  if (p === Primitive.ConvertElementType) return true;
  if (p === Primitive.SelectN) return ins.length === 3 && x === "bool" && ins[1] === ins[2];
  if (ins.length === 2 && x !== ins[1]) return false;
  if (UNARY_F32_OF[p] && x === "float32") return true;
  if ((p === Primitive.Neg || p === Primitive.Abs || p === Primitive.Sign) && isInt(x)) return true;
  if (p === Primitive.Sign || p === Primitive.Log1p || p === Primitive.Expm1 || p === Primitive.IsFinite)
    return x === "float32";
  if (F32_BINARY[p] && x === "float32") return true;
  if (INT_BINARY[p] && isInt(x)) return true;
  if (COMPARE[p]) return true;
  if (LOGIC[p] || p === Primitive.Not) return x === "bool" || isInt(x);
  if (p === Primitive.IntegerPow) return x === "float32" || isInt(x);
  return false;
}

/** Whether the equation's float code is only accurate in a range the kernel must report (sin, cos). */
export function trigArgument(eqn: JaxprEqn): boolean {
  return eqn.primitive === Primitive.Sin || eqn.primitive === Primitive.Cos;
}

/** The lanes of a sin/cos argument beyond the accurate range (a mask). */
export function trigFlag(x: V): V {
  return m.gt(m.abs(x), m.fc(TRIG_LIMIT));
}

function integerPow(f: FunctionBuilder, x: V, y: number, float: boolean): V {
  const mul = float ? m.mul : simd2("i32x4_mul");
  const one = float ? m.fc(1) : m.ic(1);
  let n = Math.abs(y);
  let acc: V | undefined;
  let base = m.bind(f, x);
  while (n > 0) {
    if (n & 1) acc = acc ? m.bind(f, mul(acc, base)) : base;
    n >>= 1;
    if (n) base = m.bind(f, mul(base, base));
  }
  const r = acc ?? one;
  return y < 0 && float ? m.div(m.fc(1), r) : r;
}

/** Code pushing the equation's result (register form) from its operands' (register form). */
export function emitOp(f: FunctionBuilder, eqn: JaxprEqn, args: V[]): V {
  const p = eqn.primitive;
  const out = eqn.outBinders[0].aval.dtype;
  const xt = eqn.inputs[0].aval.dtype;
  const [x, y] = args;
  if (p === Primitive.ConvertElementType) return convert(x, xt, out);
  if (p === Primitive.SelectN) return m.select(args[0], args[2], args[1]);
  if (xt === "float32") {
    const un = UNARY_F32_OF[p];
    if (un) return unaryF32[un](f, x);
    const bin = F32_BINARY[p];
    if (bin) return simd2(bin)(x, y);
    switch (p) {
      case Primitive.Sign: {
        const b = m.bind(f, x);
        return m.select(m.gt(b, m.fc(0)), m.fc(1), m.select(m.lt(b, m.fc(0)), m.fc(-1), b));
      }
      case Primitive.Log1p: {
        // log1p x = log(u) x / (u - 1) with u = 1 + x (Goldberg): exact where u rounds to 1.
        const xb = m.bind(f, x);
        const u = m.bind(f, m.add(m.fc(1), xb));
        const r = m.div(m.mul(m.log(f, u), xb), m.sub(u, m.fc(1)));
        return m.select(m.eq(u, m.fc(1)), xb, m.select(m.eq(u, m.fc(Infinity)), u, r));
      }
      case Primitive.Expm1: {
        // expm1 x = (u - 1) x / log u with u = e^x (Kahan); u = 1 gives x, u - 1 = -1 gives -1.
        const xb = m.bind(f, x);
        const u = m.bind(f, m.exp(f, xb));
        const um1 = m.bind(f, m.sub(u, m.fc(1)));
        const r = m.div(m.mul(um1, xb), m.log(f, u));
        let res = m.select(m.eq(u, m.fc(1)), xb, r);
        res = m.select(m.eq(um1, m.fc(-1)), m.fc(-1), res);
        return m.select(m.eq(u, m.fc(Infinity)), u, res);
      }
      case Primitive.IsFinite:
        return m.lt(m.abs(x), m.fc(Infinity));
      case Primitive.IntegerPow:
        return integerPow(f, x, (eqn.params as ParamsOf<Primitive.IntegerPow>).y, true);
    }
  }
  const cmp = COMPARE[p];
  if (cmp) return simd2(cmp[xt === "float32" ? 0 : xt === "int32" ? 1 : 2])(x, y);
  const logic = LOGIC[p];
  if (logic) return simd2(logic)(x, y);
  if (p === Primitive.Not) return simd1("v128_not")(x);
  const ib = INT_BINARY[p];
  if (ib) return simd2(ib[xt === "int32" ? 0 : 1])(x, y);
  switch (p) {
    case Primitive.Neg:
      return simd1("i32x4_neg")(x);
    case Primitive.Abs:
      return xt === "uint32" ? x : simd1("i32x4_abs")(x);
    case Primitive.Sign: {
      const b = m.bind(f, x);
      if (xt === "uint32") return m.and(simd2("i32x4_ne")(b, m.ic(0)), m.ic(1));
      // -1, 0 or 1: (x > 0) as 0/-1 negated, plus (x < 0) as 0/-1.
      return simd2("i32x4_sub")(simd2("i32x4_lt_s")(b, m.ic(0)), simd2("i32x4_gt_s")(b, m.ic(0)));
    }
    case Primitive.IntegerPow:
      return integerPow(f, x, (eqn.params as ParamsOf<Primitive.IntegerPow>).y, false);
  }
  throw new Error(`wasm compiler: no vector code for ${p} on ${xt}`);
}

/** convert_element_type between register forms (float to int truncates, saturating; NaN gives 0). */
function convert(x: V, from: DType, to: DType): V {
  if (from === to) return x;
  if (to === "bool") {
    if (from === "float32") return m.ne(x, m.fc(0));
    return simd2("i32x4_ne")(x, m.ic(0));
  }
  if (from === "bool") return m.and(x, to === "float32" ? m.fc(1) : m.ic(1));
  if (to === "float32") return simd1(from === "int32" ? "f32x4_convert_i32x4_s" : "f32x4_convert_i32x4_u")(x);
  if (from === "float32")
    return simd1(to === "int32" ? "i32x4_trunc_sat_f32x4_s" : "i32x4_trunc_sat_f32x4_u")(x);
  return x; // int32 <-> uint32: the same bits
}
