/**
 * WGSL kernels for the steps of a fusion plan: fused elementwise, reductions with prologue and
 * epilogue (thread per output, workgroup tree per output, or two passes over row segments), tiled
 * register-blocked matmul with an epilogue, and any other primitive through its own `wgsl` rule.
 * Shapes are baked into the source as constants: jit specialises on shapes anyway, and constant
 * divisors let the shader compiler turn index arithmetic into multiplies and shifts.
 */
import { ShapedArray } from "../../../core/aval.js";
import type { JaxprEqn, Var } from "../../../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../../../core/primitive.js";
import type { FusionPlan, Step } from "../../../compiler/fusion.js";
import { isFloating } from "../../../dtype.js";
import { kernelRulesOf } from "../../../primitives/index.js";
import { stridesOf } from "../../../shape.js";
import { HIGHEST, LOWEST, WGSL_HELPERS, wgslIsNan, wgslMinMax, wgslStorageType } from "../wgsl.js";
import { Emitter, KernelContext, affineIndex } from "./emit.js";
import { dotKernelsTextures, type TextureScratch } from "./dot-textures.js";

/** A device buffer private to one step (partial results of a two-pass reduction). */
export class Scratch {
  constructor(readonly bytes: number) {}
}
export type BufferRef = Var | Scratch | TextureScratch;

export interface DispatchSpec {
  code: string;
  /** What the kernel computes, for error messages. */
  label: string;
  bindings: BufferRef[];
  groups: [number, number, number];
}

export interface DeviceLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  /**
   * How matmul reuses operands: "workgroup" stages tiles in workgroup memory (real GPUs);
   * "registers" loads straight from storage into 4 x 4 register blocks, which is about 3x faster on
   * a CPU adapter such as lavapipe (no barriers; the CPU's caches do the tiling).
   */
  matmulTiling: "workgroup" | "registers";
  /**
   * Most workgroups a 1-D kernel launches; invocations loop over the rest (grid-stride). lavapipe
   * pays per workgroup: 1024 groups of 64 copy 4M floats 7x faster than 65536 groups.
   */
  maxGridGroups: number;
  /**
   * From how many multiply-adds a matmul on the "registers" path reads its operands through storage
   * textures (dot-textures.ts; Infinity: never). Below it, the two copies cost more than they save.
   */
  matmulTextureMinMacs: number;
  maxTextureDimension2D: number;
}

/** Thrown when a fused kernel would bind more buffers than the device allows; the planner splits it. */
export class TooManyBindings extends Error {
  constructor(readonly root: Var) {
    super("too many bindings");
  }
}

const WG = 64;

/** Workgroup counts for `groups` 1-D workgroups, spread over a 2-D grid past the per-dimension limit. */
export function grid(groups: number, limits: DeviceLimits): [number, number, number] {
  const max = limits.maxComputeWorkgroupsPerDimension;
  const x = Math.max(1, Math.min(groups, max));
  return [x, Math.max(1, Math.ceil(groups / x)), 1];
}

const HEAD_1D = (wg: number) => `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${wg}u;`;

/** A 1-D kernel over n indices: each invocation handles i, i + stride, ... (grid-stride loop). */
export function gridStride(
  n: number,
  limits: DeviceLimits,
): { head: string; tail: string; groups: [number, number, number] } {
  const groups = Math.max(
    1,
    Math.min(Math.ceil(n / WG), limits.maxGridGroups, limits.maxComputeWorkgroupsPerDimension),
  );
  return {
    head: `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i = i + ${groups * WG}u) {`,
    tail: "  }\n}",
    groups: [groups, 1, 1],
  };
}

export function checkBindings(ctx: KernelContext, outputs: number, root: Var, limits: DeviceLimits): void {
  if (ctx.leaves.length + outputs > limits.maxStorageBuffersPerShaderStage) throw new TooManyBindings(root);
}

export function elementwiseKernel(plan: FusionPlan, root: Var, limits: DeviceLimits): DispatchSpec {
  if (root.aval.size % 4 === 0 && root.aval.size >= 64) return elementwiseKernelVec4(plan, root, limits);
  const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const em = new Emitter(ctx, root);
  const value = em.value(root, "i");
  const t = wgslStorageType(root.aval.dtype);
  const loop = gridStride(root.aval.size, limits);
  const main = `${loop.head}
  ${em.lines.join("\n  ")}
  out[i] = ${value};
${loop.tail}`;
  checkBindings(ctx, 1, root, limits);
  const code = `${ctx.prelude(main)}\n${ctx.bindings([{ name: "out", dtype: t }])}\n${main}\n`;
  return {
    code,
    label: `fused elementwise kernel for ${root.aval.strShort()}`,
    bindings: [...ctx.leaves, root],
    groups: loop.groups,
  };
}

/**
 * The fused elementwise kernel over 4 consecutive indices per invocation (sizes divisible by 4):
 * operands read at the same flat index as the result come in one vec4 load per block, the result
 * goes out as one vec4 store. Software adapters (lavapipe) run this about 2-3x faster than one
 * index per invocation: gathers of scalars are what they pay for, not the arithmetic.
 */
function elementwiseKernelVec4(plan: FusionPlan, root: Var, limits: DeviceLimits): DispatchSpec {
  const lanes = ["i0", "i1", "i2", "i3"];
  const emit = (vecLeaves: ReadonlySet<Var>) => {
    const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
    ctx.vec4 = { leaves: vecLeaves, lanes, loads: new Map(), laneRead: new Set() };
    const em = new Emitter(ctx, root);
    const values = lanes.map((l) => em.value(root, l));
    return { ctx, em, values };
  };
  // First pass finds the leaves read at the lanes' own indices; the second binds them as vec4 arrays.
  const first = emit(new Set());
  const { ctx, em, values } = emit(first.ctx.vec4!.laneRead);
  const t = wgslStorageType(root.aval.dtype);
  const loop = gridStride(root.aval.size / 4, limits);
  const loads = [...ctx.vec4!.loads].map(([v, name]) => `let ${name} = ${ctx.leaf(v)}[i];`);
  const main = `${loop.head}
  let i0 = i * 4u; let i1 = i0 + 1u; let i2 = i0 + 2u; let i3 = i0 + 3u;
  ${[...loads, ...em.lines].join("\n  ")}
  out[i] = vec4<${t}>(${values.join(", ")});
${loop.tail}`;
  checkBindings(ctx, 1, root, limits);
  const code = `${ctx.prelude(main)}\n${ctx.bindings([{ name: "out", dtype: `vec4<${t}>` }])}\n${main}\n`;
  return {
    code,
    label: `fused elementwise kernel for ${root.aval.strShort()} (vec4)`,
    bindings: [...ctx.leaves, root],
    groups: loop.groups,
  };
}

/** `fn epi(i: u32, v: T) -> Tout`: the epilogue from the anchor's result to the root at index i. */
export function epilogue(ctx: KernelContext, anchorOut: Var, root: Var): string {
  const em = new Emitter(ctx, root, { v: anchorOut, name: "v" });
  const value = em.value(root, "i");
  return ctx.fn(
    `(i: u32, v: ${wgslStorageType(anchorOut.aval.dtype)}) -> ${wgslStorageType(root.aval.dtype)} {\n  ${[...em.lines, `return ${value};`].join("\n  ")}\n}`,
    "epi",
  );
}

interface Combiner {
  init: string;
  combine: (a: string, x: string) => string;
}

function combiner(prim: Primitive, t: string, dtype: string): Combiner {
  switch (prim) {
    case Primitive.ReduceSum:
      return { init: `${t}(0)`, combine: (a, x) => `${a} + ${x}` };
    case Primitive.ReduceProd:
      return { init: `${t}(1)`, combine: (a, x) => `${a} * ${x}` };
    case Primitive.ReduceMax:
      return { init: LOWEST[t], combine: (a, x) => wgslMinMax("max", a, x, t) };
    case Primitive.ReduceMin:
      return { init: HIGHEST[t], combine: (a, x) => wgslMinMax("min", a, x, t) };
    case Primitive.ReduceAnd:
      return {
        init: dtype === "bool" ? "1u" : t === "i32" ? "i32(-1)" : "0xffffffffu",
        combine: (a, x) => `${a} & ${x}`,
      };
    case Primitive.ReduceOr:
      return { init: `${t}(0)`, combine: (a, x) => `${a} | ${x}` };
    default:
      throw new Error(`${prim} has no combiner`);
  }
}

/** How a reduction is spread over invocations. */
export type ReduceStrategy =
  { kind: "thread" } | { kind: "workgroup" } | { kind: "segments"; segments: number };

export function reduceStrategy(outputs: number, count: number, arg: boolean): ReduceStrategy {
  if (count < 256 || outputs >= 8192) return { kind: "thread" };
  // Few outputs over very long rows: partial results per row segment first, then a second pass.
  if (!arg && outputs < 64 && count >= 1 << 16)
    // About 64 workgroups in all: lavapipe streamed the 16M-float sum 1.3x faster than with 256.
    return { kind: "segments", segments: Math.min(Math.ceil(64 / outputs), Math.ceil(count / 8192)) };
  return { kind: "workgroup" };
}

/** Invocations of a tree reduction's workgroup: 64 streamed 16M floats 1.3x faster than 128 on lavapipe. */
const TREE = 64;

export function reduceKernels(
  plan: FusionPlan,
  anchor: JaxprEqn,
  root: Var,
  limits: DeviceLimits,
): { dispatches: DispatchSpec[]; scratch: Scratch[] } {
  const x = anchor.inputs[0];
  const inShape = x.aval.shape;
  const axes = (anchor.params as { axes: readonly number[] }).axes;
  const out = anchor.outBinders[0];
  const O = out.aval.size;
  const kept = inShape.map((_, d) => d).filter((d) => !axes.includes(d));
  const reduced = [...axes].sort((a, b) => a - b);
  const count = reduced.reduce((n, d) => n * inShape[d], 1);
  const inStrides = stridesOf(inShape);
  const arg = anchor.primitive === Primitive.Argmax || anchor.primitive === Primitive.Argmin;
  const tIn = wgslStorageType(x.aval.dtype);
  const tOut = wgslStorageType(root.aval.dtype);
  const label = `${anchor.primitive} of ${x.aval.strShort()} over axes (${axes.join(", ")}) with fused prologue/epilogue`;

  const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const off = (r: string) =>
    affineIndex(
      reduced.map((d) => inShape[d]),
      reduced.map((d) => inStrides[d]),
      0,
      r,
    );
  // The state update per element; set below (it needs the combiner).
  let step: (s: string, xv: string, r: string) => string = () => "";
  // Rows contiguous (the reduced axes are the trailing ones) and a multiple of 4 long: the prologue
  // runs on 4 consecutive elements at a time, its operands read as vec4 (2x faster on lavapipe).
  const nd = inShape.length;
  const vec = !arg && count % 4 === 0 && count >= 4 && reduced.every((d, k) => d === nd - reduced.length + k);
  /** Units the row loops count in: elements, or blocks of 4 elements. */
  const n = vec ? count / 4 : count;
  const vecAcc =
    vec && anchor.primitive === Primitive.ReduceSum
      ? "+"
      : vec && anchor.primitive === Primitive.ReduceProd
        ? "*"
        : undefined;
  let rowStep: (r: string) => string;
  let vecStep: (acc: string, r: string) => string = () => "";
  if (!vec) {
    const em = new Emitter(ctx);
    const pv = em.value(x, "i");
    const pro = ctx.fn(`(i: u32) -> ${tIn} {\n  ${[...em.lines, `return ${pv};`].join("\n  ")}\n}`, "pro");
    rowStep = (r: string) => step("s", `${pro}(b + ${off("r")})`, r);
  } else {
    // Which leaves the prologue reads at its own (lane) indices: those are bound as vec4 arrays.
    const probe = new KernelContext((v) => plan.materialised.has(v), plan.producer);
    const lanes = ["i0", "i1", "i2", "i3"];
    probe.vec4 = { leaves: new Set(), lanes, loads: new Map(), laneRead: new Set() };
    const pe = new Emitter(probe);
    for (const l of lanes) pe.value(x, l);
    ctx.vec4 = { leaves: probe.vec4.laneRead, lanes, loads: new Map(), laneRead: new Set() };
    const em4 = new Emitter(ctx);
    const vals = lanes.map((l) => em4.value(x, l));
    const loads = [...ctx.vec4.loads].map(([v, name]) => `let ${name} = ${ctx.leaf(v)}[q];`);
    const pro4 = ctx.fn(
      `(q: u32) -> vec4<${tIn}> {\n  let i0 = q * 4u; let i1 = i0 + 1u; let i2 = i0 + 2u; let i3 = i0 + 3u;\n  ${[...loads, ...em4.lines, `return vec4<${tIn}>(${vals.join(", ")});`].join("\n  ")}\n}`,
      "pro",
    );
    vecStep = (acc: string, r: string) => `${acc} = ${acc} ${vecAcc} ${pro4}(b / 4u + ${r});`;
    rowStep = (r: string) =>
      vecAcc
        ? vecStep("s4", r)
        : `let x4 = ${pro4}(b / 4u + ${r});\n      ${["x", "y", "z", "w"].map((c) => step("s", `x4.${c}`, r)).join(" ")}`;
  }
  // Sums and products of vec4 rows accumulate in vec4s (folded after the loop).
  const accDecl = vecAcc ? `var s4 = vec4<${tIn}>(${tIn}(${vecAcc === "+" ? 0 : 1}));` : "";
  const accFold = vecAcc ? `sv = sv ${vecAcc} ((s4.x ${vecAcc} s4.y) ${vecAcc} (s4.z ${vecAcc} s4.w));` : "";
  /**
   * A workgroup's strided loop over rows [start, end): TREE invocations side by side; vec4 sums and
   * products take two blocks per iteration into two accumulators (the 16M-float sum: 1.3x faster).
   */
  const treeLoop = (start: string, end: string) =>
    vecAcc
      ? `${accDecl} var s5 = s4;
    for (var r = ${start}; r < ${end}; r = r + ${2 * TREE}u) {
      ${vecStep("s4", "r")}
      if (r + ${TREE}u < ${end}) { ${vecStep("s5", `r + ${TREE}u`)} }
    }
    s4 = s4 ${vecAcc} s5;
    ${accFold}`
      : `for (var r = ${start}; r < ${end}; r = r + ${TREE}u) {
      ${rowStep("r")}
    }`;
  const epi = epilogue(ctx, out, root);
  const base = (o: string) =>
    affineIndex(
      kept.map((d) => inShape[d]),
      kept.map((d) => inStrides[d]),
      0,
      o,
    );

  // The running state and how one more element (value xv at reduced position r) updates it.
  let decl: (s: string) => string;
  let merge: (s: string, o: string) => string;
  let result: (s: string) => string;
  let helpers = "";
  if (arg) {
    const op = anchor.primitive === Primitive.Argmax ? ">" : "<";
    const float = isFloating(x.aval.dtype);
    // Take b over a: first NaN wins, then the extreme value, then the lower index (lax.argmax's order).
    const take = float
      ? `(ak == 0xffffffffu) || (bk != 0xffffffffu && ((${wgslIsNan("bv")} && (!${wgslIsNan("av")} || bk < ak)) || (!${wgslIsNan("av")} && (bv ${op} av || (bv == av && bk < ak)))))`
      : `(ak == 0xffffffffu) || (bk != 0xffffffffu && (bv ${op} av || (bv == av && bk < ak)))`;
    helpers = `fn take_(av: ${tIn}, ak: u32, bv: ${tIn}, bk: u32) -> bool { return ${take}; }`;
    decl = (s) => `var ${s}v: ${tIn} = ${tIn}(0);\n  var ${s}k = 0xffffffffu;`;
    step = (s, xv, r) =>
      `{ let bv = ${xv}; if (take_(${s}v, ${s}k, bv, ${r})) { ${s}v = bv; ${s}k = ${r}; } }`;
    merge = (s, o) => `if (take_(${s}v, ${s}k, ${o}v, ${o}k)) { ${s}v = ${o}v; ${s}k = ${o}k; }`;
    result = (s) => `${wgslStorageType(out.aval.dtype)}(${s}k)`;
  } else {
    const c = combiner(anchor.primitive, tIn, x.aval.dtype);
    decl = (s) => `var ${s}v: ${tIn} = ${c.init};`;
    step = (s, xv) => `${s}v = ${c.combine(`${s}v`, xv)};`;
    merge = (s, o) => `${s}v = ${c.combine(`${s}v`, `${o}v`)};`;
    result = (s) => `${s}v`;
  }
  const prelude = (main: string) => `${helpers}\n${ctx.prelude(main)}`;
  const strategy = reduceStrategy(O, count, arg);

  if (strategy.kind === "thread") {
    const loop = gridStride(O, limits);
    const main = `${loop.head}
  let b = ${base("i")};
  ${decl("s")}
  ${accDecl}
  for (var r = 0u; r < ${n}u; r = r + 1u) {
    ${rowStep("r")}
  }
  ${accFold}
  out[i] = ${epi}(i, ${result("s")});
${loop.tail}`;
    checkBindings(ctx, 1, root, limits);
    const code = `${prelude(main)}\n${ctx.bindings([{ name: "out", dtype: tOut }])}\n${main}\n`;
    return {
      dispatches: [{ code, label, bindings: [...ctx.leaves, root], groups: loop.groups }],
      scratch: [],
    };
  }

  // Workgroup tree: each of TREE invocations folds a strided share, then halving steps in shared memory.
  const tree = (loop: string, finish: string) => `@compute @workgroup_size(${TREE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let g = wid.x + wid.y * nwg.x;
  let i = t; // a runtime value for the NaN/inf bit patterns (see wgslF32Bits)
  ${decl("s")}
  ${loop}
  shv[t] = sv;${arg ? "\n  shk[t] = sk;" : ""}
  workgroupBarrier();
  for (var h = ${TREE / 2}u; h > 0u; h = h >> 1u) {
    if (t < h) {
      ${decl("a").replace(/\n\s*/g, " ")}
      av = shv[t]; ${arg ? "ak = shk[t];" : ""}
      ${decl("o").replace(/\n\s*/g, " ")}
      ov = shv[t + h]; ${arg ? "ok = shk[t + h];" : ""}
      ${merge("a", "o")}
      shv[t] = av;${arg ? " shk[t] = ak;" : ""}
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    ${decl("s").replace(/\n\s*/g, " ")}
    sv = shv[0];${arg ? " sk = shk[0];" : ""}
    ${finish}
  }
}`;
  const shared = `var<workgroup> shv: array<${tIn}, ${TREE}>;${arg ? `\nvar<workgroup> shk: array<u32, ${TREE}>;` : ""}`;
  if (strategy.kind === "workgroup") {
    const main = tree(
      `if (g < ${O}u) {
    let b = ${base("g")};
    ${treeLoop("t", `${n}u`)}
  }`,
      `if (g < ${O}u) { out[g] = ${epi}(g, ${result("s")}); }`,
    );
    checkBindings(ctx, 1, root, limits);
    const code = `${prelude(main)}\n${ctx.bindings([{ name: "out", dtype: tOut }])}\n${shared}\n${main}\n`;
    return {
      dispatches: [{ code, label, bindings: [...ctx.leaves, root], groups: grid(O, limits) }],
      scratch: [],
    };
  }

  // Two passes: workgroup (o, s) folds segment s of row o into partial[o * S + s]; then one
  // invocation per output folds its S partials and applies the epilogue.
  const S = strategy.segments;
  const seg = Math.ceil(n / S);
  const partial = new Scratch(Math.max(4, O * S * 4));
  const pass1 = tree(
    `if (g < ${O * S}u) {
    let o = g / ${S}u;
    let b = ${base("o")};
    let end = min((g % ${S}u) * ${seg}u + ${seg}u, ${n}u);
    ${treeLoop(`(g % ${S}u) * ${seg}u + t`, "end")}
  }`,
    `if (g < ${O * S}u) { part[g] = sv; }`,
  );
  checkBindings(ctx, 1, root, limits);
  const code1 = `${prelude(pass1)}\n${ctx.bindings([{ name: "part", dtype: tIn }])}\n${shared}\n${pass1}\n`;
  const ctx2 = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const epi2 = epilogue(ctx2, out, root);
  const c = combiner(anchor.primitive, tIn, x.aval.dtype);
  const loop2 = gridStride(O, limits);
  const pass2 = `${loop2.head}
  var sv: ${tIn} = ${c.init};
  for (var s = 0u; s < ${S}u; s = s + 1u) { sv = ${c.combine("sv", `part[i * ${S}u + s]`)}; }
  out[i] = ${epi2}(i, sv);
${loop2.tail}`;
  const n2 = ctx2.leaves.length;
  checkBindings(ctx2, 2, root, limits);
  const code2 = `${ctx2.prelude(pass2)}\n${ctx2.bindings([])}
@group(0) @binding(${n2}) var<storage, read> part: array<${tIn}>;
@group(0) @binding(${n2 + 1}) var<storage, read_write> out: array<${tOut}>;
${pass2}\n`;
  return {
    dispatches: [
      {
        code: code1,
        label: `${label} (pass 1 of 2)`,
        bindings: [...ctx.leaves, partial],
        groups: grid(O * S, limits),
      },
      {
        code: code2,
        label: `${label} (pass 2 of 2)`,
        bindings: [...ctx2.leaves, partial, root],
        groups: loop2.groups,
      },
    ],
    scratch: [partial],
  };
}

/** dot_general's operands as B x M x K and B x K x N through strided index arithmetic. */
export function dotGeometry(eqn: JaxprEqn) {
  const [lhs, rhs] = eqn.inputs.map((a) => a.aval);
  const [[lc, rc], [lb, rb]] = (eqn.params as ParamsOf<Primitive.DotGeneral>).dimension_numbers;
  const sl = stridesOf(lhs.shape);
  const sr = stridesOf(rhs.shape);
  const lFree = lhs.shape.map((_, d) => d).filter((d) => !lc.includes(d) && !lb.includes(d));
  const rFree = rhs.shape.map((_, d) => d).filter((d) => !rc.includes(d) && !rb.includes(d));
  const size = (s: readonly number[], dims: readonly number[]) => dims.reduce((n, d) => n * s[d], 1);
  const part = (shape: readonly number[], strides: number[], dims: readonly number[]) => ({
    shape: dims.map((d) => shape[d]),
    strides: dims.map((d) => strides[d]),
  });
  return {
    B: size(lhs.shape, lb),
    M: size(lhs.shape, lFree),
    N: size(rhs.shape, rFree),
    K: size(lhs.shape, lc),
    aB: part(lhs.shape, sl, lb),
    aM: part(lhs.shape, sl, lFree),
    aK: part(lhs.shape, sl, lc),
    bB: part(rhs.shape, sr, rb),
    bN: part(rhs.shape, sr, rFree),
    bK: part(rhs.shape, sr, rc),
  };
}

/**
 * Register-blocked matmul without workgroup memory: each invocation computes a 4 x 4 output block
 * in vec4 registers, reading A and B straight from storage (vec4 loads where the operand is
 * contiguous along the loaded axis and 4-aligned), an 8 x 8 workgroup covering 32 x 32 outputs.
 */
export function dotKernelRegisters(
  plan: FusionPlan,
  anchor: JaxprEqn,
  root: Var,
  limits: DeviceLimits,
  /** B read from this k-major copy ([batch, K, N] contiguous) instead of its own layout. */
  kMajorB?: Scratch,
): DispatchSpec {
  const g = dotGeometry(anchor);
  if (kMajorB) Object.assign(g, kMajorGeometry(g));
  const out = anchor.outBinders[0];
  const t = wgslStorageType(out.aval.dtype);
  const bool = out.aval.dtype === "bool";
  const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const lhs = anchor.inputs[0] as Var;
  const rhs = anchor.inputs[1] as Var;
  const aligned = (strides: number[]) => strides.every((s) => s % 4 === 0);
  const merged = (p: { shape: number[]; strides: number[] }) => {
    // stride of the flattened axis when its dims are contiguous row-major, else undefined
    const st = stridesOf(p.shape);
    const unit = p.strides.every((s, d) => p.shape[d] === 1 || s === st[d]);
    return unit;
  };
  // vec4 along k for A: K contiguous (unit strides), K % 4 == 0, the other axes' strides 4-aligned.
  // An operand the epilogue reads too (x·W + W[0]) keeps a scalar binding: it is read per element there.
  const epiReads = epilogueLeaves(plan, anchor, root);
  let aVec =
    merged(g.aK) && g.K % 4 === 0 && aligned([...g.aB.strides, ...g.aM.strides]) && !epiReads.includes(lhs);
  let bVec =
    merged(g.bN) && g.N % 4 === 0 && aligned([...g.bB.strides, ...g.bK.strides]) && !epiReads.includes(rhs);
  // B contiguous along k instead (x · Wᵀ, the layout of vmapped W·x and of dense layers): with A
  // also vec4 along k, each block is 16 dot products of vec4s, all loads vec4.
  const bKVec = aVec && !bVec && kContiguousB(g) && !bool && lhs !== rhs && !epiReads.includes(rhs);
  // One operand used twice (x @ x) has one binding, hence one element type.
  if (lhs === rhs) aVec = bVec = aVec && bVec;
  const A = ctx.leaf(lhs);
  const Bn = ctx.leaf(rhs);
  const epi = epilogue(ctx, out, root);
  const aff = (p: { shape: number[]; strides: number[] }, idx: string) =>
    affineIndex(p.shape, p.strides, 0, idx);
  const v4 = `vec4<${t}>`;
  const fma = (acc: string, a: string, b: string) =>
    bool ? `${acc} = ${acc} | (${v4}(${a}) & ${b});` : `${acc} = ${acc} + ${a} * ${b};`;
  const loadB = (k: string) =>
    bVec
      ? `${Bn}[offB(b, ${k}, n) / 4u]`
      : `${v4}(${Bn}[offB(b, ${k}, n)], ${Bn}[offB(b, ${k}, n1)], ${Bn}[offB(b, ${k}, n2)], ${Bn}[offB(b, ${k}, n3)])`;
  const rows = ["m", "m1", "m2", "m3"];
  const loop = bKVec
    ? `for (var k = 0u; k < ${g.K}u; k = k + 4u) {
    ${rows.map((r, j) => `let a${j} = ${A}[offA(b, ${r}, k) / 4u];`).join("\n    ")}
    ${["n", "n1", "n2", "n3"].map((c, q) => `let b${q} = ${Bn}[offB(b, k, ${c}) / 4u];`).join("\n    ")}
    ${[0, 1, 2, 3].map((j) => `c${j} = c${j} + ${v4}(dot(a${j}, b0), dot(a${j}, b1), dot(a${j}, b2), dot(a${j}, b3));`).join("\n    ")}
  }`
    : aVec
      ? `for (var k = 0u; k < ${g.K}u; k = k + 4u) {
    ${rows.map((r, j) => `let a${j} = ${A}[offA(b, ${r}, k) / 4u];`).join("\n    ")}
    let b0 = ${loadB("k")};
    let b1 = ${loadB("k + 1u")};
    let b2 = ${loadB("k + 2u")};
    let b3 = ${loadB("k + 3u")};
    ${[0, 1, 2, 3]
      .map((j) => ["x", "y", "z", "w"].map((c, q) => fma(`c${j}`, `a${j}.${c}`, `b${q}`)).join(" "))
      .join("\n    ")}
  }`
      : `for (var k = 0u; k < ${g.K}u; k = k + 1u) {
    let bk = ${loadB("k")};
    ${rows.map((r, j) => fma(`c${j}`, `${A}[offA(b, ${r}, k)]`, "bk")).join("\n    ")}
  }`;
  const offsets = `fn offA(b: u32, m: u32, k: u32) -> u32 { return ${aff(g.aB, "b")} + ${aff(g.aM, "m")} + ${aff(g.aK, "k")}; }
fn offB(b: u32, k: u32, n: u32) -> u32 { return ${aff(g.bB, "b")} + ${aff(g.bK, "k")} + ${aff(g.bN, "n")}; }`;
  // A matrix times one vector (N = 1, both contiguous along k: the per-example logits X·w of a
  // vmapped gradient): one row per invocation, 64 per workgroup. The 4 x 4 block would compute four
  // copies of the one column and leave 7 of 8 invocations of each workgroup row idle.
  const matvec = bKVec && g.N === 1;
  const main = matvec
    ? `${offsets}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z;
  let m = gid.x;
  if (m >= ${g.M}u) { return; }
  var acc = ${v4}();
  for (var k = 0u; k < ${g.K}u; k = k + 4u) {
    acc = acc + ${A}[offA(b, m, k) / 4u] * ${Bn}[offB(b, k, 0u) / 4u];
  }
  let o = b * ${g.M}u + m;
  out[o] = ${epi}(o, (acc.x + acc.y) + (acc.z + acc.w));
}`
    : `${offsets}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z;
  let m = gid.y * 4u;
  let n = gid.x * 4u;
  if (m >= ${g.M}u || n >= ${g.N}u) { return; }
  // Rows and columns past the edge re-read the last one (in bounds) and are not stored.
  let m1 = min(m + 1u, ${g.M - 1}u); let m2 = min(m + 2u, ${g.M - 1}u); let m3 = min(m + 3u, ${g.M - 1}u);
  let n1 = min(n + 1u, ${g.N - 1}u); let n2 = min(n + 2u, ${g.N - 1}u); let n3 = min(n + 3u, ${g.N - 1}u);
  var c0 = ${v4}(); var c1 = ${v4}(); var c2 = ${v4}(); var c3 = ${v4}();
  ${loop}
  var accs = array<${v4}, 4>(c0, c1, c2, c3);
  for (var r = 0u; r < 4u; r = r + 1u) {
    if (m + r >= ${g.M}u) { break; }
    for (var c = 0u; c < 4u; c = c + 1u) {
      if (n + c < ${g.N}u) {
        let o = (b * ${g.M}u + m + r) * ${g.N}u + n + c;
        out[o] = ${epi}(o, accs[r][c]);
      }
    }
  }
}`;
  checkBindings(ctx, 1, root, limits);
  const decl = (k: number, v: Var, vec: boolean) =>
    `@group(0) @binding(${k}) var<storage, read> in${k}: array<${vec ? v4 : wgslStorageType(v.aval.dtype)}>;`;
  // The operands' own bindings may be vec4 arrays; the epilogue's leaves follow as scalars.
  const bindings = ctx
    .bindings([{ name: "out", dtype: wgslStorageType(root.aval.dtype) }])
    .split("\n")
    .map((line, k) =>
      k === 0 ? decl(0, lhs, aVec) : k === 1 && lhs !== rhs ? decl(1, rhs, bVec || bKVec) : line,
    )
    .join("\n");
  const code = `${ctx.prelude(main)}
${bindings}
${main}
`;
  return {
    code,
    label: `dot_general ${lhs.aval.strShort()} x ${rhs.aval.strShort()} (${matvec ? "matrix-vector, one row per invocation" : "register-blocked 4x4"}${aVec ? ", vec4 A" : ""}${bVec ? ", vec4 B" : ""}${kMajorB ? " copied k-major" : ""}${bKVec ? ", vec4 Bᵀ" : ""}) with fused epilogue`,
    bindings: [...ctx.leaves, root].map((v) => (kMajorB && v === rhs ? kMajorB : v)),
    groups: matvec ? [Math.ceil(g.M / 64), 1, g.B] : [Math.ceil(g.N / 32), Math.ceil(g.M / 32), g.B],
  };
}

type DotGeometry = ReturnType<typeof dotGeometry>;

/** The materialised values a fused epilogue from the anchor's result to `root` reads. */
function epilogueLeaves(plan: FusionPlan, anchor: JaxprEqn, root: Var): Var[] {
  const probe = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  epilogue(probe, anchor.outBinders[0], root);
  return probe.leaves;
}

/** Whether B is contiguous along k (x · Wᵀ) with 4-aligned batch and n strides. */
function kContiguousB(g: DotGeometry): boolean {
  const st = stridesOf(g.bK.shape);
  const unit = g.bK.strides.every((s, d) => g.bK.shape[d] === 1 || s === st[d]);
  return unit && g.K % 4 === 0 && [...g.bB.strides, ...g.bN.strides].every((s) => s % 4 === 0);
}

/** B's part of the geometry once B is copied to [batch, K, N] contiguous. */
function kMajorGeometry(g: DotGeometry): Pick<DotGeometry, "bB" | "bK" | "bN"> {
  return {
    bB: { shape: [g.B], strides: [g.K * g.N] },
    bK: { shape: [g.K], strides: [g.N] },
    bN: { shape: [g.N], strides: [1] },
  };
}

/**
 * x · Wᵀ with both operands contiguous along k: on lavapipe the 4x4 kernel runs about 2x faster
 * on a k-major B ([1024,256]·[256,256]ᵀ: 40 -> 18 ms; 5% at [4096,784]·[512,784]ᵀ) than reading B
 * along k (each lane walks four rows of B), so B is first copied k-major into a scratch buffer
 * when the product has enough rows (M ≥ 32) to amortise the copy, and the epilogue does not read B.
 */
export function dotKernelsRegisters(
  plan: FusionPlan,
  anchor: JaxprEqn,
  root: Var,
  limits: DeviceLimits,
): { dispatches: DispatchSpec[]; scratch: Scratch[] } {
  const g = dotGeometry(anchor);
  const [lhs, rhs] = anchor.inputs as Var[];
  const t = wgslStorageType(rhs.aval.dtype);
  const aK = stridesOf(g.aK.shape);
  const aContiguous = g.aK.strides.every((s, d) => g.aK.shape[d] === 1 || s === aK[d]);
  const bN = stridesOf(g.bN.shape);
  const bNContiguous = g.bN.strides.every((s, d) => g.bN.shape[d] === 1 || s === bN[d]) && g.N % 4 === 0;
  const transpose =
    g.M >= 32 &&
    g.N % 4 === 0 &&
    aContiguous &&
    !bNContiguous &&
    kContiguousB(g) &&
    lhs !== rhs &&
    rhs.aval.dtype !== "bool" &&
    !epilogueLeaves(plan, anchor, root).includes(rhs);
  if (!transpose) return { dispatches: [dotKernelRegisters(plan, anchor, root, limits)], scratch: [] };
  const copy = new Scratch(Math.max(4, g.B * g.K * g.N * 4));
  const total = g.B * g.K * g.N;
  const loop = gridStride(total, limits);
  const src = `${affineIndex(g.bB.shape, g.bB.strides, 0, `(i / ${g.K * g.N}u)`)} + ${affineIndex(g.bK.shape, g.bK.strides, 0, `((i / ${g.N}u) % ${g.K}u)`)} + ${affineIndex(g.bN.shape, g.bN.strides, 0, `(i % ${g.N}u)`)}`;
  const code = `@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
${loop.head}
    dst[i] = src[${src}];
${loop.tail}
`;
  return {
    dispatches: [
      {
        code,
        label: `k-major copy of ${rhs.aval.strShort()} for a dot_general`,
        bindings: [rhs, copy],
        groups: loop.groups,
      },
      dotKernelRegisters(plan, anchor, root, limits, copy),
    ],
    scratch: [copy],
  };
}

/**
 * Tiled matmul: a workgroup of TX x TY invocations computes a BM x BN output tile, each invocation a
 * 4 x 4 block held in vec4 registers; A and B tiles of depth BK pass through workgroup memory.
 */
export function dotKernel(plan: FusionPlan, anchor: JaxprEqn, root: Var, limits: DeviceLimits): DispatchSpec {
  const g = dotGeometry(anchor);
  const out = anchor.outBinders[0];
  const t = wgslStorageType(out.aval.dtype);
  const bool = out.aval.dtype === "bool";
  const threads = limits.maxComputeInvocationsPerWorkgroup >= 256 ? 16 : 8;
  const BM = threads * 4;
  const BN = threads * 4;
  let BK = 16;
  while (BK > 4 && BK * (BM + BN) * 4 > limits.maxComputeWorkgroupStorageSize) BK /= 2;
  const T = threads * threads;
  const ctx = new KernelContext((v) => plan.materialised.has(v), plan.producer);
  const A = ctx.leaf(anchor.inputs[0] as Var);
  const Bn = ctx.leaf(anchor.inputs[1] as Var);
  const epi = epilogue(ctx, out, root);
  const aff = (p: { shape: number[]; strides: number[] }, idx: string) =>
    affineIndex(p.shape, p.strides, 0, idx);
  // Which tile axis consecutive invocations walk when loading: the operand's contiguous one.
  const aKFast = g.aK.strides.length > 0 && g.aK.strides[g.aK.strides.length - 1] === 1;
  const bKFast = !(g.bN.strides.length > 0 && g.bN.strides[g.bN.strides.length - 1] === 1);
  const loadA = aKFast
    ? `let kk = e % ${BK}u; let mm = e / ${BK}u;`
    : `let mm = e % ${BM}u; let kk = e / ${BM}u;`;
  const loadB = bKFast
    ? `let kk = e % ${BK}u; let nn = e / ${BK}u;`
    : `let nn = e % ${BN}u; let kk = e / ${BN}u;`;
  const fma = bool
    ? (acc: string, a: string, b: string) => `${acc} = ${acc} | (vec4<u32>(${a}) & ${b});`
    : (acc: string, a: string, b: string) => `${acc} = ${acc} + ${a} * ${b};`;
  const main = `fn offA(b: u32, m: u32, k: u32) -> u32 { return ${aff(g.aB, "b")} + ${aff(g.aM, "m")} + ${aff(g.aK, "k")}; }
fn offB(b: u32, k: u32, n: u32) -> u32 { return ${aff(g.bB, "b")} + ${aff(g.bK, "k")} + ${aff(g.bN, "n")}; }
var<workgroup> As: array<vec4<${t}>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<${t}>, ${(BK * BN) / 4}>;
@compute @workgroup_size(${threads}, ${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let b = wid.z;
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
  var acc0 = vec4<${t}>(); var acc1 = vec4<${t}>(); var acc2 = vec4<${t}>(); var acc3 = vec4<${t}>();
  for (var k0 = 0u; k0 < ${g.K}u; k0 = k0 + ${BK}u) {
    for (var e = t; e < ${BK * BM}u; e = e + ${T}u) {
      ${loadA}
      let m = m0 + mm; let k = k0 + kk;
      var v = ${t}(0);
      if (m < ${g.M}u && k < ${g.K}u) { v = ${A}[offA(b, m, k)]; }
      As[(kk * ${BM}u + mm) / 4u][mm % 4u] = v;
    }
    for (var e = t; e < ${BK * BN}u; e = e + ${T}u) {
      ${loadB}
      let n = n0 + nn; let k = k0 + kk;
      var v = ${t}(0);
      if (n < ${g.N}u && k < ${g.K}u) { v = ${Bn}[offB(b, k, n)]; }
      Bs[(kk * ${BN}u + nn) / 4u][nn % 4u] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk = kk + 1u) {
      let a = As[kk * ${BM / 4}u + lid.y];
      let bv = Bs[kk * ${BN / 4}u + lid.x];
      ${fma("acc0", "a.x", "bv")}
      ${fma("acc1", "a.y", "bv")}
      ${fma("acc2", "a.z", "bv")}
      ${fma("acc3", "a.w", "bv")}
    }
    workgroupBarrier();
  }
  var accs = array<vec4<${t}>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < 4u; r = r + 1u) {
    let m = m0 + lid.y * 4u + r;
    if (m >= ${g.M}u) { break; }
    for (var c = 0u; c < 4u; c = c + 1u) {
      let n = n0 + lid.x * 4u + c;
      if (n < ${g.N}u) {
        let o = (b * ${g.M}u + m) * ${g.N}u + n;
        out[o] = ${epi}(o, accs[r][c]);
      }
    }
  }
}`;
  checkBindings(ctx, 1, root, limits);
  const code = `${ctx.prelude(main)}\n${ctx.bindings([{ name: "out", dtype: wgslStorageType(root.aval.dtype) }])}\n${main}\n`;
  return {
    code,
    label: `dot_general ${anchor.inputs[0].aval.strShort()} x ${anchor.inputs[1].aval.strShort()} (tiled ${BM}x${BN}x${BK}) with fused epilogue`,
    bindings: [...ctx.leaves, root],
    groups: [Math.ceil(g.N / BN), Math.ceil(g.M / BM), g.B],
  };
}

/** A primitive's own kernel (its `wgsl` rule), as the eager executor runs it. */
export function opaqueKernel(eqn: JaxprEqn, limits: DeviceLimits): DispatchSpec | undefined {
  const inAvals = eqn.inputs.map((a) => a.aval);
  const outAvals = eqn.outBinders.map((v) => v.aval);
  const kernel = kernelRulesOf(eqn.primitive).wgsl(inAvals, outAvals, eqn.params as ParamsOf<Primitive>);
  const threads = kernel.threads ?? outAvals[0]?.size ?? 0;
  if (threads === 0) return undefined;
  const bindings = inAvals.map(
    (a, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslStorageType(a.dtype)}>;`,
  );
  outAvals.forEach((a, k) => {
    const name = outAvals.length === 1 ? "out" : `out${k}`;
    bindings.push(
      `@group(0) @binding(${inAvals.length + k}) var<storage, read_write> ${name}: array<${wgslStorageType(a.dtype)}>;`,
    );
  });
  const helpers = Object.entries(WGSL_HELPERS)
    .filter(([name]) => kernel.body.includes(`${name}(`))
    .map(([, code]) => code);
  const code = `${helpers.join("\n")}
${bindings.join("\n")}
${HEAD_1D(WG)}
  if (i >= ${threads}u) { return; }
  ${kernel.body}
}
`;
  return {
    code,
    label: `${eqn.primitive} kernel`,
    bindings: [...(eqn.inputs as Var[]), ...eqn.outBinders],
    groups: grid(Math.ceil(threads / WG), limits),
  };
}

/** The dispatches of one plan step (none for an empty result). */
export function stepKernels(
  plan: FusionPlan,
  step: Exclude<Step, { kind: "higher-order" }>,
  limits: DeviceLimits,
): { dispatches: DispatchSpec[]; scratch: Scratch[] } {
  switch (step.kind) {
    case "elementwise":
      return step.root.aval.size === 0
        ? { dispatches: [], scratch: [] }
        : { dispatches: [elementwiseKernel(plan, step.root, limits)], scratch: [] };
    case "reduce":
      return reduceKernels(plan, step.anchor, step.root, limits);
    case "dot": {
      if (limits.matmulTiling === "workgroup")
        return { dispatches: [dotKernel(plan, step.anchor, step.root, limits)], scratch: [] };
      const tex = dotKernelsTextures(plan, step.anchor, step.root, limits);
      if (tex) return { dispatches: tex.dispatches, scratch: [] };
      return dotKernelsRegisters(plan, step.anchor, step.root, limits);
    }
    case "opaque": {
      const d = opaqueKernel(step.eqn, limits);
      return { dispatches: d ? [d] : [], scratch: [] };
    }
  }
}

/** Avals of the values a step writes. */
export function stepOutputs(step: Step): Var[] {
  return step.kind === "opaque" || step.kind === "higher-order" ? step.eqn.outBinders : [step.root];
}

export { ShapedArray };
