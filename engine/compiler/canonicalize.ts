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
import { ShapedArray } from "../core/aval.js";
import { Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";
import { Primitive, type AnyParams, type ParamsOf } from "../core/primitive.js";
import { rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";

export function canonicalizeForKernels(jaxpr: Jaxpr): Jaxpr {
  let eqns = deadCodeEliminated(jaxpr.eqns, jaxpr.outs);
  eqns = transposedDotsSwapped(eqns, jaxpr.outs);
  eqns = outerProductsAsMul(eqns);
  return eqns === jaxpr.eqns ? jaxpr : new Jaxpr(jaxpr.constVars, jaxpr.inBinders, eqns, jaxpr.outs);
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

/** dot_general without contracting dimensions → transpose/broadcast each operand, then mul. */
function outerProductsAsMul(eqns: JaxprEqn[]): JaxprEqn[] {
  let changed = false;
  const result: JaxprEqn[] = [];
  for (const e of eqns) {
    const out = e.outBinders[0];
    const d = e.primitive === Primitive.DotGeneral ? dotDims(e) : undefined;
    const [lhs, rhs] = e.inputs;
    if (
      !d ||
      d.lc.length !== 0 ||
      !isVar(lhs) ||
      !isVar(rhs) ||
      !["float32", "int32"].includes(out.aval.dtype) ||
      lhs.aval.dtype !== out.aval.dtype ||
      rhs.aval.dtype !== out.aval.dtype
    ) {
      result.push(e);
      continue;
    }
    changed = true;
    const nb = d.lb.length;
    const nl = d.lFree.length;
    const outShape = out.aval.shape;
    // Operand axes in result order (batch, then free), then placed at their result axes.
    const spread = (x: Var, order: number[], at: number[]): Var => {
      let y = x;
      if (order.some((p, k) => p !== k)) {
        y = new Var(
          new ShapedArray(
            order.map((p) => x.aval.shape[p]),
            x.aval.dtype,
          ),
        );
        result.push(new JaxprEqn(Primitive.Transpose, [x], { permutation: order } as AnyParams, [y]));
      }
      const z = new Var(new ShapedArray(outShape, x.aval.dtype));
      result.push(
        new JaxprEqn(
          Primitive.BroadcastInDim,
          [y],
          { shape: outShape, broadcast_dimensions: at } as AnyParams,
          [z],
        ),
      );
      return z;
    };
    const range = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + k);
    const a = spread(lhs, [...d.lb, ...d.lFree], [...range(0, nb), ...range(nb, nl)]);
    const b = spread(rhs, [...d.rb, ...d.rFree], [...range(0, nb), ...range(nb + nl, d.rFree.length)]);
    result.push(new JaxprEqn(Primitive.Mul, [a, b], {} as AnyParams, [out]));
  }
  return changed ? result : eqns;
}
