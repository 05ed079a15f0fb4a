/**
 * Backend-neutral fusion planning for a jaxpr: which values are materialised (written to memory)
 * and which are recomputed inline inside the kernel that needs them. A WGSL, JS or WASM code
 * generator then emits one kernel per step of the plan.
 *
 * Every kernel has a root value (materialised) and computes it at each index of its shape. The
 * root's expression is expanded through elementwise primitives and index-only ones (broadcast_in_dim,
 * reshape, squeeze, transpose, slice, rev: pure index arithmetic) down to materialised leaves. A
 * reduction or dot_general may sit inside the expression as the kernel's "anchor": its input chain
 * is the kernel's prologue and the elementwise chain from the anchor to the root its epilogue.
 */
import { Literal, type Atom, type Jaxpr, type JaxprEqn, type Var } from "../core/jaxpr.js";
import {
  BINARY_PRIMITIVES,
  COMPARE_PRIMITIVES,
  MORE_ELEMENTWISE_PRIMITIVES,
  Primitive,
  UNARY_PRIMITIVES,
  type ParamsOf,
} from "../core/primitive.js";
import { rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";
import { stridesOf } from "../shape.js";

/** Elementwise primitives: same-shaped operands (or rank-0 ones) and results, computed per index. */
export const ELEMENTWISE_PRIMITIVES: ReadonlySet<Primitive> = new Set<Primitive>([
  ...UNARY_PRIMITIVES,
  ...BINARY_PRIMITIVES,
  ...COMPARE_PRIMITIVES,
  Primitive.SelectN,
  Primitive.ConvertElementType,
  ...MORE_ELEMENTWISE_PRIMITIVES,
]);

/** Primitives that only move elements: each result element reads one operand element. */
export const INDEX_PRIMITIVES: ReadonlySet<Primitive> = new Set<Primitive>([
  Primitive.BroadcastInDim,
  Primitive.Reshape,
  Primitive.Squeeze,
  Primitive.Transpose,
  Primitive.Slice,
  Primitive.Rev,
]);

export const REDUCTION_PRIMITIVES: ReadonlySet<Primitive> = new Set<Primitive>([
  Primitive.ReduceSum,
  Primitive.ReduceMax,
  Primitive.ReduceMin,
  Primitive.ReduceProd,
  Primitive.ReduceAnd,
  Primitive.ReduceOr,
  Primitive.Argmax,
  Primitive.Argmin,
]);

/**
 * Where an index-only primitive reads its operand: the identity on flat indices (reshape, squeeze),
 * or operand index = offset + sum over result axes d of coord_d * strides[d] (strides may be 0 for a
 * broadcast axis, negative for rev).
 */
export type IndexMap =
  { kind: "identity" } | { kind: "affine"; outShape: readonly number[]; strides: number[]; offset: number };

export function indexMapOf(eqn: JaxprEqn): IndexMap {
  const x = (eqn.inputs[0] as Var | Literal).aval;
  const out = eqn.outBinders[0].aval;
  const inStrides = stridesOf(x.shape);
  switch (eqn.primitive) {
    case Primitive.Reshape:
    case Primitive.Squeeze:
      return { kind: "identity" };
    case Primitive.BroadcastInDim: {
      const dims = (eqn.params as ParamsOf<Primitive.BroadcastInDim>).broadcast_dimensions;
      const strides = new Array<number>(out.ndim).fill(0);
      dims.forEach((d, k) => {
        if (x.shape[k] !== 1) strides[d] = inStrides[k];
      });
      return { kind: "affine", outShape: out.shape, strides, offset: 0 };
    }
    case Primitive.Transpose: {
      const perm = (eqn.params as ParamsOf<Primitive.Transpose>).permutation;
      return { kind: "affine", outShape: out.shape, strides: perm.map((p) => inStrides[p]), offset: 0 };
    }
    case Primitive.Slice: {
      const p = eqn.params as ParamsOf<Primitive.Slice>;
      const steps = p.strides ?? x.shape.map(() => 1);
      const offset = p.start_indices.reduce((s, st, d) => s + st * inStrides[d], 0);
      return { kind: "affine", outShape: out.shape, strides: inStrides.map((s, d) => s * steps[d]), offset };
    }
    case Primitive.Rev: {
      const dims = (eqn.params as ParamsOf<Primitive.Rev>).dimensions;
      let offset = 0;
      const strides = inStrides.map((s, d) => {
        if (!dims.includes(d)) return s;
        offset += (x.shape[d] - 1) * s;
        return -s;
      });
      return { kind: "affine", outShape: out.shape, strides, offset };
    }
    default:
      throw new Error(`${eqn.primitive} is not an index-only primitive`);
  }
}

/** One kernel (or one call) of the plan, in execution order. */
export type Step =
  /** Computes `root` elementwise from its inlined cone. */
  | { kind: "elementwise"; root: Var }
  /** A reduction `anchor` with its inlined input cone, and its epilogue up to `root`. */
  | { kind: "reduce"; anchor: JaxprEqn; root: Var }
  /** dot_general `anchor` (materialised operands) with its epilogue up to `root`. */
  | { kind: "dot"; anchor: JaxprEqn; root: Var }
  /** Any other first-order primitive, run by its own kernel rule on materialised operands. */
  | { kind: "opaque"; eqn: JaxprEqn }
  /** A higher-order primitive, run through its impl rule. */
  | { kind: "higher-order"; eqn: JaxprEqn };

export interface FusionPlan {
  jaxpr: Jaxpr;
  steps: Step[];
  /** Values written to memory (program inputs included). */
  materialised: Set<Var>;
  /** The equation that computes each non-input variable. */
  producer: Map<Var, JaxprEqn>;
}

export interface FusionOptions {
  /** Whether the backend can inline this elementwise/index equation (else it is run as opaque). */
  canInline?: (eqn: JaxprEqn) => boolean;
  /** Whether the backend has a fused kernel for this reduction or dot_general. */
  canAnchor?: (eqn: JaxprEqn) => boolean;
  /** Values the caller wants materialised (e.g. to keep a kernel under a binding limit). */
  forceMaterialise?: ReadonlySet<Var>;
  /** Whether anchors take elementwise epilogues (default true; a backend without them says false). */
  epilogues?: boolean;
  /** Inline cost above which a value read by several kernels is computed once (default 12). */
  recomputeLimit?: number;
}

/** Rough per-element cost of inlining one equation (transcendentals are dearer than adds). */
function opCost(eqn: JaxprEqn): number {
  if (INDEX_PRIMITIVES.has(eqn.primitive)) return eqn.primitive === Primitive.Reshape ? 0 : 1;
  switch (eqn.primitive) {
    case Primitive.Add:
    case Primitive.Sub:
    case Primitive.Mul:
    case Primitive.Neg:
    case Primitive.Max:
    case Primitive.Min:
    case Primitive.SelectN:
    case Primitive.ConvertElementType:
    case Primitive.Abs:
    case Primitive.Not:
    case Primitive.And:
    case Primitive.Or:
    case Primitive.Xor:
      return 1;
    case Primitive.Erf:
    case Primitive.ErfInv:
      return 20;
    default:
      return COMPARE_PRIMITIVES.includes(eqn.primitive as never) ? 1 : 4;
  }
}

/** Plans the kernels of a first-order-inlined jaxpr. */
export function planFusion(jaxpr: Jaxpr, options: FusionOptions = {}): FusionPlan {
  const canInline = options.canInline ?? (() => true);
  const canAnchor = options.canAnchor ?? (() => true);
  const limit = options.recomputeLimit ?? 12;
  const producer = new Map<Var, JaxprEqn>();
  const consumers = new Map<Var, JaxprEqn[]>();
  const isVar = (a: Atom): a is Var => !(a instanceof Literal);
  for (const eqn of jaxpr.eqns) {
    for (const v of eqn.outBinders) producer.set(v, eqn);
    for (const a of eqn.inputs) if (isVar(a)) consumers.set(a, [...(consumers.get(a) ?? []), eqn]);
  }
  const kindOf = (eqn: JaxprEqn): "inline" | "anchor" | "opaque" | "higher-order" => {
    if (isHigherOrder(rulesOf(eqn.primitive))) return "higher-order";
    if ((ELEMENTWISE_PRIMITIVES.has(eqn.primitive) || INDEX_PRIMITIVES.has(eqn.primitive)) && canInline(eqn))
      return "inline";
    const anchorPrim = REDUCTION_PRIMITIVES.has(eqn.primitive) || eqn.primitive === Primitive.DotGeneral;
    if (anchorPrim && eqn.outBinders.length === 1 && canAnchor(eqn)) return "anchor";
    return "opaque";
  };

  const materialised = new Set<Var>([...jaxpr.constVars, ...jaxpr.inBinders]);
  for (const v of options.forceMaterialise ?? []) materialised.add(v);
  for (const a of jaxpr.outs) if (isVar(a)) materialised.add(a);
  for (const eqn of jaxpr.eqns) {
    const k = kindOf(eqn);
    if (k === "opaque" || k === "higher-order") {
      for (const a of eqn.inputs) if (isVar(a)) materialised.add(a);
      for (const v of eqn.outBinders) materialised.add(v);
    }
    // dot_general reads its operands as buffers (the tiled kernel streams them through workgroup memory).
    if (k === "anchor" && eqn.primitive === Primitive.DotGeneral)
      for (const a of eqn.inputs) if (isVar(a)) materialised.add(a);
  }

  // Epilogues: follow an anchor's result through single-consumer, same-index elementwise equations.
  const anchorRoot = new Map<JaxprEqn, Var>();
  const rootAnchor = new Map<Var, JaxprEqn>();
  /** Variables inside an epilogue chain (between anchor and root): never materialised. */
  const inChain = new Set<Var>();
  for (const eqn of jaxpr.eqns) {
    if (kindOf(eqn) !== "anchor") continue;
    let v = eqn.outBinders[0];
    const chain: Var[] = [];
    while (options.epilogues !== false) {
      if (materialised.has(v)) break;
      const cs = consumers.get(v) ?? [];
      if (cs.length !== 1) break;
      const c = cs[0];
      if (kindOf(c) !== "inline") break;
      const out = c.outBinders[0];
      // Same index: an elementwise op of the same size, or a reshape/squeeze (identity on flat indices).
      const sameIndex =
        out.aval.size === v.aval.size &&
        (ELEMENTWISE_PRIMITIVES.has(c.primitive) ||
          c.primitive === Primitive.Reshape ||
          c.primitive === Primitive.Squeeze);
      if (!sameIndex || c.inputs.filter((a) => a === v).length !== 1) break;
      // The chain's other operands must not involve another chain's anchor before it is computed.
      if (rootAnchor.has(out) || inChain.has(out)) break;
      chain.push(v);
      v = out;
    }
    if (rootAnchor.has(v)) {
      // Another anchor already ends here: this one stays materialised on its own.
      anchorRoot.set(eqn, eqn.outBinders[0]);
      rootAnchor.set(eqn.outBinders[0], eqn);
      materialised.add(eqn.outBinders[0]);
      continue;
    }
    anchorRoot.set(eqn, v);
    rootAnchor.set(v, eqn);
    materialised.add(v);
    for (const c of chain.slice(1)) inChain.add(c);
    if (chain.length) inChain.add(chain[0]);
  }

  // Inline cost of each inlined value (computed assuming only the materialisation known so far).
  const cost = new Map<Var, number>();
  for (const eqn of jaxpr.eqns) {
    if (kindOf(eqn) !== "inline") continue;
    let c = opCost(eqn);
    for (const a of eqn.inputs) if (isVar(a) && !materialised.has(a)) c += cost.get(a) ?? 0;
    for (const v of eqn.outBinders) cost.set(v, c);
  }

  // Which kernels read each inlined value (reverse order: consumers are decided first). A value read
  // by several kernels is recomputed in each when cheap, computed once when dear; a dear value read
  // through an enlarging broadcast is computed once too (else it is recomputed per broadcast copy).
  const readers = new Map<Var, Set<Var | JaxprEqn>>();
  const addReaders = (a: Atom, from: Set<Var | JaxprEqn>) => {
    if (!isVar(a) || materialised.has(a)) return;
    const s = readers.get(a) ?? new Set();
    for (const r of from) s.add(r);
    readers.set(a, s);
  };
  for (let k = jaxpr.eqns.length - 1; k >= 0; k--) {
    const eqn = jaxpr.eqns[k];
    const kind = kindOf(eqn);
    if (kind === "inline") {
      const v = eqn.outBinders[0];
      let mine: Set<Var | JaxprEqn>;
      if (materialised.has(v)) mine = new Set([rootAnchor.has(v) ? rootAnchor.get(v)! : v]);
      else {
        mine = readers.get(v) ?? new Set();
        const c = cost.get(v) ?? 0;
        const enlarged = (consumers.get(v) ?? []).some(
          (e) =>
            e.primitive === Primitive.BroadcastInDim &&
            e.outBinders[0].aval.size >= 4 * Math.max(1, v.aval.size),
        );
        if (!inChain.has(v) && ((mine.size > 1 && c > limit) || (enlarged && c >= 4))) {
          materialised.add(v);
          mine = new Set([v]);
        }
      }
      for (const a of eqn.inputs) addReaders(a, mine);
    } else if (kind === "anchor") {
      for (const a of eqn.inputs) addReaders(a, new Set([eqn]));
    }
  }

  // Steps in equation order: a kernel runs when its root's producer is reached.
  const steps: Step[] = [];
  for (const eqn of jaxpr.eqns) {
    const kind = kindOf(eqn);
    if (kind === "opaque") steps.push({ kind: "opaque", eqn });
    else if (kind === "higher-order") steps.push({ kind: "higher-order", eqn });
    else if (kind === "anchor") {
      const root = anchorRoot.get(eqn)!;
      if (root === eqn.outBinders[0]) steps.push(anchorStep(eqn, root));
    } else {
      const v = eqn.outBinders[0];
      if (!materialised.has(v)) continue;
      const anchor = rootAnchor.get(v);
      steps.push(anchor ? anchorStep(anchor, v) : { kind: "elementwise", root: v });
    }
  }
  return { jaxpr, steps, materialised, producer };
}

function anchorStep(anchor: JaxprEqn, root: Var): Step {
  return anchor.primitive === Primitive.DotGeneral
    ? { kind: "dot", anchor, root }
    : { kind: "reduce", anchor, root };
}

/** Kernels one run of the plan dispatches, counting `perStep` for those that take more than one. */
export function countKernels(plan: FusionPlan, perStep: (s: Step) => number = () => 1): number {
  return plan.steps.reduce((n, s) => n + (s.kind === "higher-order" ? 0 : perStep(s)), 0);
}
