/**
 * WGSL expression emission for fused kernels: a value of the jaxpr at a flat index, expanded through
 * inlined elementwise and index-only equations down to materialised leaves (the kernel's bindings).
 * Each elementwise equation becomes a WGSL function made from the primitive's own `wgsl` rule, so the
 * fused kernel computes exactly what the eager kernel computes.
 */
import { ShapedArray } from "../../../core/aval.js";
import { Literal, type Atom, type JaxprEqn, type Var } from "../../../core/jaxpr.js";
import type { ParamsOf, Primitive } from "../../../core/primitive.js";
import { ELEMENTWISE_PRIMITIVES, INDEX_PRIMITIVES, indexMapOf } from "../../../compiler/fusion.js";
import { shortestFloat32 } from "../../../format.js";
import { kernelRulesOf } from "../../../primitives/index.js";
import { stridesOf } from "../../../shape.js";
import { WGSL_HELPERS, wgslF32Bits, wgslStorageType } from "../wgsl.js";

/**
 * The function `fn NAME(i: u32, p0_: T0, ...) -> T` computing one elementwise equation from its
 * rule's kernel body (reads `in<k>[i]`, writes `out[i]`), or undefined when the body reads its
 * operands any other way (then the equation runs as its own kernel).
 */
export function opFunction(eqn: JaxprEqn): { params: string[]; text: string } | undefined {
  const out = eqn.outBinders[0].aval;
  if (eqn.outBinders.length !== 1) return undefined;
  const inAvals = eqn.inputs.map((a) => new ShapedArray(out.shape.length ? out.shape : [1], a.aval.dtype));
  let body: string;
  try {
    body = kernelRulesOf(eqn.primitive).wgsl(
      inAvals,
      [new ShapedArray(out.shape.length ? out.shape : [1], out.dtype)],
      eqn.params as ParamsOf<Primitive>,
    ).body;
  } catch {
    return undefined;
  }
  const replaced = body.replace(/\bin(\d+)\[i\]/g, "p$1_").replace(/\bout\[i\]\s*=/g, "r_ =");
  if (/\bin\d+\[|\bout\d*\[|\breturn\b/.test(replaced)) return undefined;
  const t = wgslStorageType(out.dtype);
  const params = eqn.inputs.map((a, k) => `p${k}_: ${wgslStorageType(a.aval.dtype)}`);
  return {
    params,
    text: `(i: u32${params.map((p) => `, ${p}`).join("")}) -> ${t} {\n  var r_: ${t};\n  ${replaced}\n  return r_;\n}`,
  };
}

/** Whether the WGSL backend can inline this equation into a fused kernel. */
export function canInlineWgsl(eqn: JaxprEqn): boolean {
  if (eqn.outBinders.some((v) => v.aval.size === 0)) return false;
  if (INDEX_PRIMITIVES.has(eqn.primitive)) return true;
  return ELEMENTWISE_PRIMITIVES.has(eqn.primitive) && opFunction(eqn) !== undefined;
}

/** A WGSL literal of a jaxpr literal, in its storage type (bool as u32 0/1). */
export function wgslLiteral(l: Literal, index: string): string {
  const v = typeof l.value === "boolean" ? +l.value : l.value;
  switch (l.aval.dtype) {
    case "float32":
    case "float16": {
      if (Number.isFinite(v)) {
        const s = shortestFloat32(Math.fround(v));
        return `f32(${/[.e]/.test(s) ? s : `${s}.0`})`;
      }
      const bits = Number.isNaN(v) ? "0x7fc00000u" : v > 0 ? "0x7f800000u" : "0xff800000u";
      return wgslF32Bits(bits).replace("(i & 0u)", `(${index} & 0u)`);
    }
    case "int32":
      return v === -2147483648 ? "i32(-2147483648)" : `i32(${v})`;
    case "uint32":
      return `${v >>> 0}u`;
    case "bool":
      return v ? "1u" : "0u";
  }
}

/**
 * u32 expression `offset + sum_d coord_d(index) * strides[d]` over a row-major `shape`, merging
 * axes that are contiguous in both (fewer divisions), skipping size-1 and stride-0 axes.
 */
export function affineIndex(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  index: string,
): string {
  // Merge axis d into d+1 when stepping d equals stepping d+1 through its whole extent.
  const groups: { n: number; s: number }[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const last = groups[groups.length - 1];
    if (last && strides[d] === last.s * last.n) last.n *= shape[d];
    else groups.push({ n: shape[d], s: strides[d] });
  }
  groups.reverse();
  const gStrides = stridesOf(groups.map((g) => g.n));
  const signed = offset < 0 || groups.some((g) => g.s < 0);
  const terms: string[] = [];
  groups.forEach((g, k) => {
    if (g.s === 0) return;
    let c = gStrides[k] === 1 ? index : `(${index} / ${gStrides[k]}u)`;
    if (k > 0) c = `(${c} % ${g.n}u)`;
    if (signed) terms.push(g.s === 1 ? `i32(${c})` : `i32(${c}) * (${g.s})`);
    else terms.push(g.s === 1 ? c : `${c} * ${g.s}u`);
  });
  if (signed) return `u32(${[`(${offset})`, ...terms].join(" + ")})`;
  if (offset !== 0) terms.unshift(`${offset}u`);
  return terms.length ? terms.join(" + ") : "0u";
}

/** The bindings and helper functions of one kernel, shared by its emitters. */
export class KernelContext {
  /** Materialised values the kernel reads, in binding order (`in0`, `in1`, ...). */
  readonly leaves: Var[] = [];
  private readonly fnNames = new Map<string, string>();
  private readonly fnTexts: string[] = [];
  /**
   * Vectorised kernels (4 consecutive indices per invocation): leaves bound as `array<vec4<T>>`,
   * the names of the 4 lane indices, and the vec4 loads of the current block (`let l<k> = in<k>[q];`).
   */
  vec4?: { leaves: ReadonlySet<Var>; lanes: readonly string[]; loads: Map<Var, string>; laneRead: Set<Var> };

  constructor(
    readonly isMaterialised: (v: Var) => boolean,
    readonly producer: Map<Var, JaxprEqn>,
  ) {}

  leaf(v: Var): string {
    let k = this.leaves.indexOf(v);
    if (k < 0) k = this.leaves.push(v) - 1;
    return `in${k}`;
  }

  /** WGSL reading leaf `v` at flat index `idx` (a vec4 lane when the kernel is vectorised). */
  read(v: Var, idx: string): string {
    const name = this.leaf(v);
    const vec = this.vec4;
    if (!vec) return `${name}[${idx}]`;
    const lane = vec.lanes.indexOf(idx);
    if (lane >= 0 && v.aval.size % 4 === 0) vec.laneRead.add(v);
    if (!vec.leaves.has(v)) return `${name}[${idx}]`;
    if (lane < 0) return `${name}[(${idx}) / 4u][(${idx}) % 4u]`;
    let load = vec.loads.get(v);
    if (!load) {
      load = `l${this.leaves.indexOf(v)}_`;
      vec.loads.set(v, load);
    }
    return `${load}[${lane}]`;
  }

  fn(text: string, prefix = "f"): string {
    let name = this.fnNames.get(text);
    if (!name) {
      name = `${prefix}${this.fnNames.size}_`;
      this.fnNames.set(text, name);
      this.fnTexts.push(`fn ${name}${text}`);
    }
    return name;
  }

  /** Helper functions (WGSL_HELPERS named in `source`) and the kernel's own functions. */
  prelude(source: string): string {
    const all = [...this.fnTexts, source].join("\n");
    const helpers = Object.entries(WGSL_HELPERS)
      .filter(([name]) => all.includes(`${name}(`))
      .map(([, code]) => code);
    return [...helpers, ...this.fnTexts].join("\n");
  }

  bindings(outputs: { name: string; dtype: string }[]): string {
    const lines = this.leaves.map((v, k) => {
      const t = wgslStorageType(v.aval.dtype);
      return `@group(0) @binding(${k}) var<storage, read> in${k}: array<${this.vec4?.leaves.has(v) ? `vec4<${t}>` : t}>;`;
    });
    outputs.forEach((o, k) =>
      lines.push(
        `@group(0) @binding(${this.leaves.length + k}) var<storage, read_write> ${o.name}: array<${o.dtype}>;`,
      ),
    );
    return lines.join("\n");
  }
}

/** Emits WGSL statements computing values at flat indices, with common subexpressions shared. */
export class Emitter {
  readonly lines: string[] = [];
  private readonly memo = new Map<string, string>();
  private readonly ids = new Map<Var, number>();
  private counter = 0;

  constructor(
    readonly ctx: KernelContext,
    /** The value the kernel computes: expanded from its equation although it is materialised. */
    readonly root?: Var,
    /** A value already held in a WGSL variable (an anchor's result inside its epilogue). */
    readonly given?: { v: Var; name: string },
  ) {}

  private id(v: Var): number {
    let n = this.ids.get(v);
    if (n === undefined) {
      n = this.ids.size;
      this.ids.set(v, n);
    }
    return n;
  }

  private bind(expr: string, prefix: string): string {
    const name = `${prefix}${this.counter++}`;
    this.lines.push(`let ${name} = ${expr};`);
    return name;
  }

  /** The value of `a` (storage type) at flat index `index` (a u32 WGSL expression without side effects). */
  value(a: Atom, index: string): string {
    if (a instanceof Literal) return wgslLiteral(a, index);
    if (this.given && a === this.given.v) return this.given.name;
    const idx = a.aval.size <= 1 ? "0u" : index;
    const key = `${this.id(a)}@${idx}`;
    const known = this.memo.get(key);
    if (known) return known;
    let result: string;
    if (this.ctx.isMaterialised(a) && a !== this.root) result = this.bind(this.ctx.read(a, idx), "v");
    else {
      const eqn = this.ctx.producer.get(a)!;
      if (INDEX_PRIMITIVES.has(eqn.primitive)) {
        const map = indexMapOf(eqn);
        const src = eqn.inputs[0];
        let j = idx;
        if (map.kind === "affine" && src.aval.size > 1) {
          const expr = affineIndex(map.outShape, map.strides, map.offset, idx);
          j = /^[a-z]\w*$/.test(expr) ? expr : this.bind(expr, "j");
        }
        result = this.value(src, j);
      } else {
        const fn = opFunction(eqn)!;
        const name = this.ctx.fn(fn.text);
        const args = eqn.inputs.map((x) => this.value(x, idx));
        result = this.bind(`${name}(${idx}${args.map((x) => `, ${x}`).join("")})`, "v");
      }
    }
    this.memo.set(key, result);
    return result;
  }
}
