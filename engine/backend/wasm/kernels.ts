/**
 * The CPU kernels as one WebAssembly module over the shared heap: elementwise maps (SIMD128, 4 lanes,
 * a scalar-splat tail so odd sizes take the same code path), comparisons and select (scalar wasm
 * loops), row reductions and the packed, register-blocked matmul (matmul-kernel.ts). Pointers are byte offsets into the
 * heap; counts are elements. Every kernel works on a sub-range, so the pool can split it.
 */
import { Primitive } from "../../core/primitive.js";
import { ModuleBuilder, type FunctionBuilder } from "./emitter/module.js";
import { ValType } from "./emitter/opcodes.js";
import { addGemmKernels } from "./matmul-kernel.js";
import * as m from "./simd-math.js";
import type { V } from "./simd-math.js";

const { I32, V128 } = { I32: ValType.I32, V128: ValType.V128 };

export const UNARY_F32 = [
  "neg",
  "abs",
  "sqrt",
  "rsqrt",
  "floor",
  "ceil",
  "exp",
  "log",
  "sin",
  "cos",
  "tanh",
  "logistic",
] as const;
export type UnaryF32 = (typeof UNARY_F32)[number];

/** The primitive each float32 unary map computes (eager kernels and compiled programs alike). */
export const UNARY_F32_OF: Partial<Record<Primitive, UnaryF32>> = {
  [Primitive.Neg]: "neg",
  [Primitive.Abs]: "abs",
  [Primitive.Sqrt]: "sqrt",
  [Primitive.Rsqrt]: "rsqrt",
  [Primitive.Floor]: "floor",
  [Primitive.Ceil]: "ceil",
  [Primitive.Exp]: "exp",
  [Primitive.Log]: "log",
  [Primitive.Sin]: "sin",
  [Primitive.Cos]: "cos",
  [Primitive.Tanh]: "tanh",
  [Primitive.Logistic]: "logistic",
};

/** The vector code of each float32 unary map (shared with the fused kernels of compiled programs). */
export const unaryF32: Record<UnaryF32, (f: FunctionBuilder, x: V) => V> = {
  neg: (_f, x) => (g) => {
    x(g);
    g.simd("f32x4_neg");
  },
  abs: (_f, x) => m.abs(x),
  sqrt: (_f, x) => (g) => {
    x(g);
    g.simd("f32x4_sqrt");
  },
  rsqrt: (_f, x) =>
    m.div(m.fc(1), (g) => {
      x(g);
      g.simd("f32x4_sqrt");
    }),
  floor: (_f, x) => (g) => {
    x(g);
    g.simd("f32x4_floor");
  },
  ceil: (_f, x) => (g) => {
    x(g);
    g.simd("f32x4_ceil");
  },
  exp: m.exp,
  log: m.log,
  sin: (f, x) => m.sincos(f, x, false),
  cos: (f, x) => m.sincos(f, x, true),
  tanh: m.tanh,
  logistic: m.logistic,
};

export const UNARY_I32 = ["neg", "abs"] as const;

export const BINARY_OPS = ["add", "sub", "mul", "div", "max", "min"] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];
/** 4-byte element types of the SIMD maps; u32 differs from i32 only in max/min. */
export type Lane = "f32" | "i32" | "u32";
type SimdName = Parameters<FunctionBuilder["simd"]>[0];
const BINARY_SIMD: Record<Lane, Partial<Record<BinaryOp, SimdName>>> = {
  f32: {
    add: "f32x4_add",
    sub: "f32x4_sub",
    mul: "f32x4_mul",
    div: "f32x4_div",
    max: "f32x4_max",
    min: "f32x4_min",
  },
  i32: { add: "i32x4_add", sub: "i32x4_sub", mul: "i32x4_mul", max: "i32x4_max_s", min: "i32x4_min_s" },
  u32: { add: "i32x4_add", sub: "i32x4_sub", mul: "i32x4_mul", max: "i32x4_max_u", min: "i32x4_min_u" },
};
export function hasBinary(lane: Lane, op: BinaryOp): boolean {
  return BINARY_SIMD[lane][op] !== undefined;
}

/** Operand shapes of a binary map: both full, or one a broadcast scalar. */
export type Mode = "vv" | "vs" | "sv";

export const COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
type OpName = Parameters<FunctionBuilder["op"]>[0];
const COMPARE_SCALAR: Record<Lane, Record<CompareOp, OpName>> = {
  f32: { eq: "f32_eq", ne: "f32_ne", lt: "f32_lt", le: "f32_le", gt: "f32_gt", ge: "f32_ge" },
  i32: { eq: "i32_eq", ne: "i32_ne", lt: "i32_lt_s", le: "i32_le_s", gt: "i32_gt_s", ge: "i32_ge_s" },
  u32: { eq: "i32_eq", ne: "i32_ne", lt: "i32_lt_u", le: "i32_le_u", gt: "i32_gt_u", ge: "i32_ge_u" },
};

export const REDUCE_OPS = ["sum", "max", "min"] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** |x| beyond which the sin/cos kernels flag lanes for the device to recompute with Math.sin/cos. */
export const TRIG_LIMIT = 8192;

/**
 * out[i] = body(in0[i], in1[i], ...) over i in [0, n); inputs marked "s" are one element broadcast.
 * Params: input pointers, out pointer, n.
 */
function mapKernel(
  mod: ModuleBuilder,
  name: string,
  kinds: ("v" | "s")[],
  body: (f: FunctionBuilder, xs: V[]) => V,
  /** Lanes to report: the kernel then returns 1 if any lane of any input was flagged, else 0. */
  flag?: (xs: V[]) => V,
) {
  const f = mod.func(name, [...kinds.map(() => I32), I32, I32], flag ? [I32] : []);
  const flagged = f.local(I32);
  const out = kinds.length;
  const n = kinds.length + 1;
  const i = f.local(I32);
  const end4 = f.local(I32);
  const end = f.local(I32);
  f.get(n).i32(-4).op("i32_and").i32(2).op("i32_shl").set(end4);
  f.get(n).i32(2).op("i32_shl").set(end);
  const splats = kinds.map((k, j) => {
    if (k !== "s") return -1;
    const l = f.local(V128);
    f.get(j).mem("i32_load").simd("i32x4_splat").set(l);
    return l;
  });
  const at =
    (j: number): V =>
    (g) =>
      g.get(j).get(i).op("i32_add");
  // Main loop, four lanes at a time.
  f.block().loop();
  f.get(i).get(end4).op("i32_ge_u").brIf(1);
  {
    const ins = kinds.map((k, j): V =>
      k === "s"
        ? m.get(splats[j])
        : (g) => {
            at(j)(g);
            g.vmem("v128_load");
          },
    );
    const r = body(f, ins);
    at(out)(f);
    r(f);
    f.vmem("v128_store");
    if (flag) {
      f.get(flagged);
      flag(ins)(f);
      f.simd("v128_any_true").op("i32_or").set(flagged);
    }
  }
  f.get(i).i32(16).op("i32_add").set(i).br(0).end().end();
  // Tail: one element at a time through the same vector code (lane 0 kept).
  f.block().loop();
  f.get(i).get(end).op("i32_ge_u").brIf(1);
  {
    const ins = kinds.map((k, j): V =>
      k === "s"
        ? m.get(splats[j])
        : (g) => {
            at(j)(g);
            g.mem("i32_load").simd("i32x4_splat");
          },
    );
    const r = body(f, ins);
    at(out)(f);
    r(f);
    f.lane("i32x4_extract_lane", 0).mem("i32_store");
    if (flag) {
      f.get(flagged);
      flag(ins)(f);
      f.simd("v128_any_true").op("i32_or").set(flagged);
    }
  }
  f.get(i).i32(4).op("i32_add").set(i).br(0).end().end();
  if (flag) f.get(flagged);
}

/** out[j] (a byte 0/1) = a[j * sa] op b[j * sb]; params a, sa (bytes), b, sb, out, n. */
function compareKernel(mod: ModuleBuilder, name: string, lane: Lane, op: CompareOp) {
  const f = mod.func(name, [I32, I32, I32, I32, I32, I32]);
  const [a, sa, b, sb, out, n] = [0, 1, 2, 3, 4, 5];
  const load = lane === "f32" ? "f32_load" : "i32_load";
  const j = f.local(I32);
  f.block().loop();
  f.get(j).get(n).op("i32_ge_u").brIf(1);
  f.get(out).get(j).op("i32_add");
  f.get(a).mem(load).get(b).mem(load).op(COMPARE_SCALAR[lane][op]);
  f.mem("i32_store8");
  f.get(a).get(sa).op("i32_add").set(a);
  f.get(b).get(sb).op("i32_add").set(b);
  f.get(j).i32(1).op("i32_add").set(j).br(0).end().end();
}

/** out[j] = pred[j * sp] ? c1[j] : c0[j] for 4-byte elements and a bool (byte) predicate. */
function selectKernel(mod: ModuleBuilder) {
  const f = mod.func("select32", [I32, I32, I32, I32, I32, I32]);
  const [pred, sp, c0, c1, out, n] = [0, 1, 2, 3, 4, 5];
  const j = f.local(I32);
  const off = f.local(I32);
  f.block().loop();
  f.get(j).get(n).op("i32_ge_u").brIf(1);
  f.get(j).i32(2).op("i32_shl").set(off);
  f.get(out).get(off).op("i32_add");
  f.get(c1).get(off).op("i32_add").mem("i32_load");
  f.get(c0).get(off).op("i32_add").mem("i32_load");
  f.get(pred).mem("i32_load8_u");
  f.op("select").mem("i32_store");
  f.get(pred).get(sp).op("i32_add").set(pred);
  f.get(j).i32(1).op("i32_add").set(j).br(0).end().end();
}

/** out[r] = reduce(x[r, 0..n)) for r in [0, rows); params x, out, rows, n. */
function reduceKernel(mod: ModuleBuilder, name: string, lane: Lane, op: ReduceOp) {
  const f = mod.func(name, [I32, I32, I32, I32]);
  const [x, out, rows, n] = [0, 1, 2, 3];
  const isF = lane === "f32";
  const T = isF ? ValType.F32 : ValType.I32;
  const vop: SimdName =
    op === "sum" ? (isF ? "f32x4_add" : "i32x4_add") : (BINARY_SIMD[lane][op] as SimdName);
  const init =
    op === "sum" ? 0 : isF ? (op === "max" ? -Infinity : Infinity) : op === "max" ? -0x80000000 : 0x7fffffff;
  const r = f.local(I32);
  const p = f.local(I32);
  const end16 = f.local(I32);
  const end4 = f.local(I32);
  const end = f.local(I32);
  const accs = [0, 1, 2, 3].map(() => f.local(V128));
  const s = f.local(T);
  const t = f.local(T);
  const splatInit = (g: FunctionBuilder) =>
    isF ? g.v128([init, init, init, init]) : g.v128([init, init, init, init], true);
  const vcombine = (a: number, b: V) => {
    f.get(a);
    b(f);
    f.simd(vop);
    f.set(a);
  };
  // Scalar combine of s with the value on the stack (stored into t first).
  const scombine = () => {
    f.set(t);
    if (isF) {
      f.get(s)
        .get(t)
        .op(op === "sum" ? "f32_add" : op === "max" ? "f32_max" : "f32_min")
        .set(s);
    } else if (op === "sum") {
      f.get(s).get(t).op("i32_add").set(s);
    } else {
      const cmp: OpName =
        lane === "i32" ? (op === "max" ? "i32_gt_s" : "i32_lt_s") : op === "max" ? "i32_gt_u" : "i32_lt_u";
      f.get(s).get(t).get(s).get(t).op(cmp).op("select").set(s);
    }
  };
  f.block().loop();
  f.get(r).get(rows).op("i32_ge_u").brIf(1);
  // p = x + r * n * 4; ends relative to p.
  f.get(x).get(r).get(n).op("i32_mul").i32(2).op("i32_shl").op("i32_add").set(p);
  f.get(p).get(n).i32(-16).op("i32_and").i32(2).op("i32_shl").op("i32_add").set(end16);
  f.get(p).get(n).i32(-4).op("i32_and").i32(2).op("i32_shl").op("i32_add").set(end4);
  f.get(p).get(n).i32(2).op("i32_shl").op("i32_add").set(end);
  for (const a of accs) {
    splatInit(f);
    f.set(a);
  }
  // Four independent accumulators over 16 elements, then one over 4.
  f.block().loop();
  f.get(p).get(end16).op("i32_ge_u").brIf(1);
  accs.forEach((a, k) => vcombine(a, (g) => g.get(p).vmem("v128_load", 16 * k)));
  f.get(p).i32(64).op("i32_add").set(p).br(0).end().end();
  vcombine(accs[0], m.get(accs[1]));
  vcombine(accs[2], m.get(accs[3]));
  vcombine(accs[0], m.get(accs[2]));
  f.block().loop();
  f.get(p).get(end4).op("i32_ge_u").brIf(1);
  vcombine(accs[0], (g) => g.get(p).vmem("v128_load"));
  f.get(p).i32(16).op("i32_add").set(p).br(0).end().end();
  // Lanes, then the tail.
  f.get(accs[0])
    .lane(isF ? "f32x4_extract_lane" : "i32x4_extract_lane", 0)
    .set(s);
  for (const l of [1, 2, 3]) {
    f.get(accs[0]).lane(isF ? "f32x4_extract_lane" : "i32x4_extract_lane", l);
    scombine();
  }
  f.block().loop();
  f.get(p).get(end).op("i32_ge_u").brIf(1);
  f.get(p).mem(isF ? "f32_load" : "i32_load");
  scombine();
  f.get(p).i32(4).op("i32_add").set(p).br(0).end().end();
  f.get(out)
    .get(r)
    .i32(2)
    .op("i32_shl")
    .op("i32_add")
    .get(s)
    .mem(isF ? "f32_store" : "i32_store");
  f.get(r).i32(1).op("i32_add").set(r).br(0).end().end();
}

/**
 * out[r] = sum_k mat[r * rs + k] * vec[k] for rows r in [r0, r1) (float32, contiguous rows): the
 * matrix-vector products of dot_general, without packing. Params mat, rs (elements), vec, out, r0, r1, k.
 */
function dotRowsKernel(mod: ModuleBuilder) {
  const f = mod.func("dot_rows", [I32, I32, I32, I32, I32, I32, I32]);
  const [mat, rs, vec, out, r0, r1, k] = [0, 1, 2, 3, 4, 5, 6];
  const r = f.local(I32);
  const p = f.local(I32);
  const q = f.local(I32);
  const end4 = f.local(I32);
  const end = f.local(I32);
  const acc = f.local(V128);
  const s = f.local(ValType.F32);
  f.get(r0).set(r);
  f.block().loop();
  f.get(r).get(r1).op("i32_ge_u").brIf(1);
  f.get(mat).get(r).get(rs).op("i32_mul").i32(2).op("i32_shl").op("i32_add").set(p);
  f.get(vec).set(q);
  f.get(p).get(k).i32(-4).op("i32_and").i32(2).op("i32_shl").op("i32_add").set(end4);
  f.get(p).get(k).i32(2).op("i32_shl").op("i32_add").set(end);
  f.v128([0, 0, 0, 0]).set(acc);
  f.block().loop();
  f.get(p).get(end4).op("i32_ge_u").brIf(1);
  f.get(acc).get(p).vmem("v128_load").get(q).vmem("v128_load").simd("f32x4_mul").simd("f32x4_add").set(acc);
  f.get(p).i32(16).op("i32_add").set(p);
  f.get(q).i32(16).op("i32_add").set(q).br(0).end().end();
  f.get(acc).lane("f32x4_extract_lane", 0);
  for (const l of [1, 2, 3]) f.get(acc).lane("f32x4_extract_lane", l).op("f32_add");
  f.set(s);
  f.block().loop();
  f.get(p).get(end).op("i32_ge_u").brIf(1);
  f.get(s).get(p).mem("f32_load").get(q).mem("f32_load").op("f32_mul").op("f32_add").set(s);
  f.get(p).i32(4).op("i32_add").set(p);
  f.get(q).i32(4).op("i32_add").set(q).br(0).end().end();
  f.get(out).get(r).i32(2).op("i32_shl").op("i32_add").get(s).mem("f32_store");
  f.get(r).i32(1).op("i32_add").set(r).br(0).end().end();
}

export function binaryName(lane: Lane, op: BinaryOp, mode: Mode): string {
  return `bin_${op}_${lane === "f32" ? "f32" : op === "max" || op === "min" ? lane : "i32"}_${mode}`;
}

/** The whole kernel module, importing `env.memory` (shared, up to `maxPages`). */
export function buildKernelModule(maxPages: number): Uint8Array {
  const mod = new ModuleBuilder({
    module: "env",
    name: "memory",
    initialPages: 1,
    maximumPages: maxPages,
    shared: true,
  });
  for (const op of UNARY_F32) {
    // sin and cos report arguments beyond the range reduction's accurate range (the device redoes them).
    const big = op === "sin" || op === "cos" ? ([x]: V[]) => m.gt(m.abs(x), m.fc(TRIG_LIMIT)) : undefined;
    mapKernel(mod, `un_${op}_f32`, ["v"], (f, [x]) => unaryF32[op](f, x), big);
  }
  mapKernel(mod, "un_neg_i32", ["v"], (_f, [x]) => (g) => {
    x(g);
    g.simd("i32x4_neg");
  });
  mapKernel(mod, "un_abs_i32", ["v"], (_f, [x]) => (g) => {
    x(g);
    g.simd("i32x4_abs");
  });
  const done = new Set<string>();
  for (const lane of ["f32", "i32", "u32"] as const) {
    for (const op of BINARY_OPS) {
      const simd = BINARY_SIMD[lane][op];
      if (!simd) continue;
      for (const mode of ["vv", "vs", "sv"] as const) {
        const name = binaryName(lane, op, mode);
        if (done.has(name)) continue;
        done.add(name);
        const kinds: ("v" | "s")[] = mode === "vv" ? ["v", "v"] : mode === "vs" ? ["v", "s"] : ["s", "v"];
        mapKernel(mod, name, kinds, (_f, [x, y]) => (g) => {
          x(g);
          y(g);
          g.simd(simd);
        });
      }
    }
    for (const op of COMPARE_OPS) compareKernel(mod, `cmp_${op}_${lane}`, lane, op);
    for (const op of REDUCE_OPS) {
      if (lane === "u32" && op === "sum") continue; // the same bits as i32
      reduceKernel(mod, `red_${op}_${lane}`, lane, op);
    }
  }
  selectKernel(mod);
  addGemmKernels(mod);
  dotRowsKernel(mod);
  return mod.encode();
}
