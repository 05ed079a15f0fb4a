/**
 * Jaxpr rewrites that give the fusion planner fewer, better-shaped kernels (backend-neutral, run on
 * a call-inlined jaxpr before planning):
 *
 * - dead equations go (a traced gradient keeps the forward pass's unused values, which would
 *   otherwise count as consumers and stop epilogues from fusing);
 * - `transpose(dot_general(a, b))` that only swaps the two free-dimension groups becomes
 *   `dot_general(b, a)` (vmap of `W·x` traces as `(W·xsᵀ)ᵀ`): no transposing copy, and the
 *   product's epilogue (bias, activation) fuses again;
 * - `dot_general` without contracting dimensions (an outer or batched elementwise product, as in
 *   per-example gradients `g[e] * x[e, :]`) becomes broadcasts and a `mul`, an elementwise kernel.
 */
import { Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";
import { Primitive, type AnyParams, type ParamsOf } from "../core/primitive.js";
import { rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";
import { expandContractionFreeDots } from "./contraction-free-dots.js";

export function canonicalizeForKernels(jaxpr: Jaxpr): Jaxpr {
  let eqns = deadCodeEliminated(jaxpr.eqns, jaxpr.outs);
  eqns = transposedDotsSwapped(eqns, jaxpr.outs);
  const rewritten =
    eqns === jaxpr.eqns ? jaxpr : new Jaxpr(jaxpr.constVars, jaxpr.inBinders, eqns, jaxpr.outs);
  return expandContractionFreeDots(rewritten);
}

const isVar = (a: Atom): a is Var => !(a instanceof Literal);

/** Drops first-order equations none of whose results is used (higher-order ones always stay). */
function deadCodeEliminated(eqns: JaxprEqn[], outs: Atom[]): JaxprEqn[] {
  const live = new Set<Var>(outs.filter(isVar));
  const kept: JaxprEqn[] = [];
  for (let k = eqns.length - 1; k >= 0; k--) {
    const e = eqns[k];
    if (!isHigherOrder(rulesOf(e.primitive)) && !e.outBinders.some((v) => live.has(v))) continue;
    kept.push(e);
    for (const a of e.inputs) if (isVar(a)) live.add(a);
  }
  return kept.length === eqns.length ? eqns : kept.reverse();
}

function uses(eqns: JaxprEqn[]): Map<Var, JaxprEqn[]> {
  const m = new Map<Var, JaxprEqn[]>();
  for (const e of eqns) for (const a of e.inputs) if (isVar(a)) m.set(a, [...(m.get(a) ?? []), e]);
  return m;
}

interface DotDims {
  lc: readonly number[];
  rc: readonly number[];
  lb: readonly number[];
  rb: readonly number[];
  lFree: number[];
  rFree: number[];
}

function dotDims(e: JaxprEqn): DotDims {
  const [[lc, rc], [lb, rb]] = (e.params as ParamsOf<Primitive.DotGeneral>).dimension_numbers;
  const [l, r] = e.inputs.map((a) => a.aval.ndim);
  const free = (n: number, c: readonly number[], b: readonly number[]) =>
    Array.from({ length: n }, (_, d) => d).filter((d) => !c.includes(d) && !b.includes(d));
  return { lc, rc, lb, rb, lFree: free(l, lc, lb), rFree: free(r, rc, rb) };
}

/** transpose(dot_general(a, b)) swapping the lhs-free and rhs-free groups → dot_general(b, a). */
function transposedDotsSwapped(eqns: JaxprEqn[], outs: Atom[]): JaxprEqn[] {
  const used = uses(eqns);
  const outSet = new Set(outs.filter(isVar));
  const replaced = new Map<JaxprEqn, JaxprEqn>();
  const dropped = new Set<JaxprEqn>();
  for (const e of eqns) {
    if (e.primitive !== Primitive.DotGeneral || e.inputs.some((a) => !isVar(a))) continue;
    const v = e.outBinders[0];
    const cs = used.get(v) ?? [];
    if (outSet.has(v) || cs.length !== 1 || cs[0].primitive !== Primitive.Transpose) continue;
    const t = cs[0];
    const perm = (t.params as ParamsOf<Primitive.Transpose>).permutation;
    const d = dotDims(e);
    const nb = d.lb.length;
    const nl = d.lFree.length;
    const nr = d.rFree.length;
    const want = [
      ...Array.from({ length: nb }, (_, k) => k),
      ...Array.from({ length: nr }, (_, k) => nb + nl + k),
      ...Array.from({ length: nl }, (_, k) => nb + k),
    ];
    if (nl === 0 || nr === 0 || perm.some((p, k) => p !== want[k])) continue;
    const p = e.params as ParamsOf<Primitive.DotGeneral>;
    const params: ParamsOf<Primitive.DotGeneral> = {
      ...p,
      dimension_numbers: [
        [d.rc, d.lc],
        [d.rb, d.lb],
      ],
    };
    replaced.set(
      e,
      new JaxprEqn(Primitive.DotGeneral, [e.inputs[1], e.inputs[0]], params as AnyParams, t.outBinders),
    );
    dropped.add(t);
  }
  if (!replaced.size) return eqns;
  return eqns.filter((e) => !dropped.has(e)).map((e) => replaced.get(e) ?? e);
}
