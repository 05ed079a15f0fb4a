/**
 * Layout canonicalisation around `dot_general` (backend-neutral jaxpr rewrites, run before fusion),
 * so that `jit(vmap(f))` and the hand-batched function compile to the same kernels:
 *
 * - **transposes sink into products**: `transpose(g(dot_general(a, b), ...))`, where `g` is a chain
 *   of single-consumer elementwise equations and the permutation swaps the product's two free-axis
 *   groups, becomes `g'(dot_general(b, a), ...)`, the chain's other operands transposed (a
 *   `broadcast_in_dim` by remapping its dimensions, scalars unchanged, others by an index-only
 *   transpose the fused kernel reads through). vmap of `x => tanh(W·x)` traces as JAX does,
 *   `transpose(tanh(W·xsᵀ))`: after this it is `tanh(xs·Wᵀ)`, the product's epilogue, no copy.
 *   The chain may be empty (`transpose(W·xsᵀ)`, vmap of a dense layer with a bias).
 * - **operand transposes fold into products**: `dot_general(x, transpose(W))` reads `W` directly
 *   with remapped dimension numbers when that makes the operand contiguous along the contracting
 *   axes (hand-written `x @ w.T`): no transposing copy, and the layout vmap produces. Other folds
 *   would leave an operand strided along k (no vec4 loads on WebGPU), so they are left alone.
 */
import { ShapedArray } from "../core/aval.js";
import { JaxprEqn, Literal, Var, type Atom } from "../core/jaxpr.js";
import { Primitive, type AnyParams, type ParamsOf } from "../core/primitive.js";
import { ELEMENTWISE_PRIMITIVES } from "./fusion.js";

const isVar = (a: Atom): a is Var => !(a instanceof Literal);
type DotParams = ParamsOf<Primitive.DotGeneral>;

function freeDims(ndim: number, contracting: readonly number[], batch: readonly number[]): number[] {
  return Array.from({ length: ndim }, (_, d) => d).filter(
    (d) => !contracting.includes(d) && !batch.includes(d),
  );
}

/** The permutation that turns dot_general(a, b)'s (batch, a-free, b-free) result into (batch, b-free, a-free). */
function freeGroupSwap(e: JaxprEqn): number[] | undefined {
  const [[lc, rc], [lb, rb]] = (e.params as DotParams).dimension_numbers;
  const [l, r] = e.inputs.map((a) => a.aval.ndim);
  const nb = lb.length;
  const nl = freeDims(l, lc, lb).length;
  const nr = freeDims(r, rc, rb).length;
  if (nl === 0 || nr === 0) return undefined;
  return [
    ...Array.from({ length: nb }, (_, k) => k),
    ...Array.from({ length: nr }, (_, k) => nb + nl + k),
    ...Array.from({ length: nl }, (_, k) => nb + k),
  ];
}

const samePerm = (p: readonly number[], q: readonly number[] | undefined) =>
  q !== undefined && p.length === q.length && p.every((x, k) => x === q[k]);

function permuted(aval: ShapedArray, perm: readonly number[]): ShapedArray {
  return new ShapedArray(
    perm.map((p) => aval.shape[p]),
    aval.dtype,
    aval.weakType,
  );
}

/** transpose(elementwise chain of dot_general) → elementwise chain of the swapped dot_general. */
export function transposesSunkIntoDots(eqns: JaxprEqn[], outs: Atom[]): JaxprEqn[] {
  const producer = new Map<Var, JaxprEqn>();
  const useCount = new Map<Var, number>();
  for (const e of eqns) {
    for (const v of e.outBinders) producer.set(v, e);
    for (const a of e.inputs) if (isVar(a)) useCount.set(a, (useCount.get(a) ?? 0) + 1);
  }
  for (const a of outs) if (isVar(a)) useCount.set(a, (useCount.get(a) ?? 0) + 2);
  // A value the rewrite may replace: read exactly once (by the chain), not a program output.
  const private1 = (a: Atom): a is Var => isVar(a) && useCount.get(a) === 1 && producer.has(a);

  const reachesDot = (a: Atom, perm: readonly number[]): boolean => {
    if (!private1(a)) return false;
    const p = producer.get(a)!;
    if (p.primitive === Primitive.DotGeneral) return samePerm(perm, freeGroupSwap(p));
    return (
      ELEMENTWISE_PRIMITIVES.has(p.primitive) &&
      p.outBinders.length === 1 &&
      p.inputs.some((x) => x.aval.ndim > 0 && reachesDot(x, perm))
    );
  };

  const removed = new Set<JaxprEqn>();
  const inserted = new Map<JaxprEqn, JaxprEqn[]>();
  for (const t of eqns) {
    if (t.primitive !== Primitive.Transpose) continue;
    const perm = (t.params as ParamsOf<Primitive.Transpose>).permutation;
    if (!reachesDot(t.inputs[0], perm)) continue;
    const added: JaxprEqn[] = [];
    const transposed = (a: Atom, target?: Var): Atom => {
      if (a.aval.ndim === 0) return a;
      const out = target ?? new Var(permuted(a.aval, perm));
      const p = isVar(a) ? producer.get(a) : undefined;
      if (p && reachesDot(a, perm)) {
        removed.add(p);
        if (p.primitive === Primitive.DotGeneral) {
          const [[lc, rc], [lb, rb]] = (p.params as DotParams).dimension_numbers;
          const params: DotParams = {
            ...(p.params as DotParams),
            dimension_numbers: [
              [rc, lc],
              [rb, lb],
            ],
          };
          added.push(new JaxprEqn(p.primitive, [p.inputs[1], p.inputs[0]], params as AnyParams, [out]));
        } else {
          const ins = p.inputs.map((x) => transposed(x));
          added.push(new JaxprEqn(p.primitive, ins, p.params, [out]));
        }
        return out;
      }
      if (p?.primitive === Primitive.BroadcastInDim) {
        // Result axis perm[j] becomes axis j: the operand's axes move with it.
        const inv: number[] = [];
        perm.forEach((q, j) => (inv[q] = j));
        const bp = p.params as ParamsOf<Primitive.BroadcastInDim>;
        const dims = bp.broadcast_dimensions.map((d) => inv[d]);
        if (dims.every((d, k) => k === 0 || dims[k - 1] < d)) {
          const params = { ...bp, shape: [...out.aval.shape], broadcast_dimensions: dims };
          added.push(new JaxprEqn(Primitive.BroadcastInDim, p.inputs, params as AnyParams, [out]));
          return out;
        }
      }
      added.push(new JaxprEqn(Primitive.Transpose, [a], { permutation: [...perm] }, [out]));
      return out;
    };
    transposed(t.inputs[0], t.outBinders[0]);
    removed.add(t);
    inserted.set(t, added);
  }
  if (!removed.size) return eqns;
  return eqns.flatMap((e) => inserted.get(e) ?? (removed.has(e) ? [] : [e]));
}

/**
 * dot_general(transpose(x), ...) → dot_general(x, ...) when x is contiguous along the contracting
 * axes (they are its trailing axes, in order), its batch axes lead in order and the free axes keep
 * their order.
 */
export function operandTransposesFolded(eqns: JaxprEqn[]): JaxprEqn[] {
  const producer = new Map<Var, JaxprEqn>();
  for (const e of eqns) for (const v of e.outBinders) producer.set(v, e);
  let changed = false;
  const result = eqns.map((e) => {
    if (e.primitive !== Primitive.DotGeneral) return e;
    const p = e.params as DotParams;
    const [[lc, rc], [lb, rb]] = p.dimension_numbers;
    const dims = { c: [lc, rc], b: [lb, rb] };
    const inputs = [...e.inputs];
    let folded = false;
    for (const side of [0, 1]) {
      const a = inputs[side];
      const t = isVar(a) ? producer.get(a) : undefined;
      if (t?.primitive !== Primitive.Transpose) continue;
      const perm = (t.params as ParamsOf<Primitive.Transpose>).permutation;
      const c = dims.c[side].map((d) => perm[d]);
      const b = dims.b[side].map((d) => perm[d]);
      const n = perm.length;
      // The source laid out as (batch, free, contracting): every group collapses to one stride.
      const kContiguous = c.every((d, k) => d === n - c.length + k) && b.every((d, k) => d === k);
      const free = freeDims(n, dims.c[side], dims.b[side]).map((d) => perm[d]);
      const freeInOrder = free.every((d, k) => k === 0 || free[k - 1] < d);
      if (c.length === 0 || !kContiguous || !freeInOrder) continue;
      inputs[side] = t.inputs[0];
      dims.c[side] = c;
      dims.b[side] = b;
      folded = true;
    }
    if (!folded) return e;
    changed = true;
    const params: DotParams = {
      ...p,
      dimension_numbers: [
        [dims.c[0], dims.c[1]],
        [dims.b[0], dims.b[1]],
      ],
    };
    return new JaxprEqn(e.primitive, inputs, params as AnyParams, e.outBinders);
  });
  return changed ? result : eqns;
}
