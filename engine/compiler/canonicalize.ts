/**
 * Jaxpr rewrites that give the fusion planner fewer, better-shaped kernels (backend-neutral, run on
 * a call-inlined jaxpr before planning):
 *
 * - dead equations go (a traced gradient keeps the forward pass's unused values, which would
 *   otherwise count as consumers and stop epilogues from fusing);
 * - transposes around `dot_general` go where the product reads or writes directly
 *   (dot-layout.ts): `transpose(g(W·xsᵀ))` for an elementwise chain `g` (vmap of `W·x` traces so)
 *   becomes `g(xs·Wᵀ)`, and `x @ transpose(w)` reads `w` with remapped dimension numbers: no
 *   transposing copies, the product's epilogue (bias, activation) fuses, and `jit(vmap(f))`
 *   compiles to the kernels of the hand-batched function;
 * - `dot_general` without contracting dimensions (an outer or batched elementwise product, as in
 *   per-example gradients `g[e] * x[e, :]`) becomes broadcasts and a `mul`, an elementwise kernel.
 */
import { Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";
import { rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";
import { expandContractionFreeDots } from "./contraction-free-dots.js";
import { operandTransposesFolded, transposesSunkIntoDots } from "./dot-layout.js";

export function canonicalizeForKernels(jaxpr: Jaxpr): Jaxpr {
  let eqns = deadCodeEliminated(jaxpr.eqns, jaxpr.outs);
  eqns = transposesSunkIntoDots(eqns, jaxpr.outs);
  eqns = operandTransposesFolded(eqns);
  // Folded or sunk transposes may have left their inputs' other producers unused.
  eqns = deadCodeEliminated(eqns, jaxpr.outs);
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
