/**
 * Autodiff of the control-flow primitives, after JAX's `_cond_jvp`, `_cond_partial_eval`,
 * `_cond_transpose`, `_while_loop_jvp`, `_scan_jvp`, `_scan_partial_eval` and `_scan_transpose`.
 *
 * Forward mode binds the primitive once more with jvp'd inner jaxprs (primals and tangents together).
 * Under linearize (the tangents are tracers of a linearize trace) that equation would mix primal work
 * into the linear jaxpr, so the JVP rules of cond and scan do JAX's partial evaluation right away: each
 * inner jaxpr is linearized into a *known* jaxpr (primal outputs plus residuals, bound now on the
 * primals) and an *unknown* one (linear in the tangents, taking the residuals), and only the unknown
 * equation is recorded. Those unknown equations are what the transpose rules below handle. A while
 * loop has no such split (its trip count is dynamic): the jvp'd loop is recorded whole, which forward
 * evaluation handles and transposition rejects with JAX's error.
 */
import type { ShapedArray } from "../../core/aval.js";
import { ConcreteArray } from "../../core/concrete-array.js";
import { evalJaxpr } from "../../core/eval-jaxpr.js";
import { ClosedJaxpr, Jaxpr, Var, type Atom, type JaxprEqn } from "../../core/jaxpr.js";
import { literalArray } from "../../core/from-host.js";
import { JaxprBuilder, JaxprTrace } from "../../core/jaxpr-trace.js";
import { Primitive, type ParamsOf } from "../../core/primitive.js";
import { bind, fullRaise, withNewDynamic, withNewMain, type Tracer } from "../../core/trace.js";
import { isFloating } from "../../dtype.js";
import { traceToJaxpr as traceJaxpr } from "../make-jaxpr.js";
import { UndefinedPrimal, type TransposeArg } from "../transpose-rules.js";
import { backwardPass, jvpFlat, LinearJaxpr, LinearizeBuilder, tangentAval } from "./linearize.js";
import { add, instantiate, zeros } from "./ops.js";
import { Zero, type Tangent } from "./zero.js";

type Rule<P extends Primitive> = (
  primals: Tracer[],
  tangents: Tangent[],
  params: ParamsOf<P>,
) => [Tracer[], Tangent[]];

const nonZero = (t: Tangent): t is Tracer => !(t instanceof Zero);
const isLinear = (a: TransposeArg): a is UndefinedPrimal => a instanceof UndefinedPrimal;
const sameMask = (a: readonly boolean[], b: readonly boolean[]) => a.every((x, i) => x === b[i]);
const union = (masks: boolean[][]) => masks.reduce((a, b) => a.map((x, i) => x || b[i]));
const count = (mask: readonly boolean[]) => mask.filter((b) => b).length;
const pick = <T>(xs: readonly T[], mask: readonly boolean[]) => xs.filter((_, i) => mask[i]);

/** Tangents for the outputs in `mask` from the values bound for them; symbolic zeros elsewhere. */
function spread(values: Tracer[], mask: readonly boolean[], avals: readonly ShapedArray[]): Tangent[] {
  let k = 0;
  return mask.map((m, j) => (m ? values[k++] : Zero.of(avals[j])));
}

/** Consecutive slices of `xs` with the given lengths. */
function split<T>(xs: readonly T[], ...lengths: number[]): T[][] {
  let start = 0;
  return lengths.map((n) => xs.slice(start, (start += n)));
}

/** True when some tangent is being linearized (JAX would partially evaluate this equation). */
function linearizing(tangents: readonly Tangent[]): boolean {
  return tangents.some((t) => nonZero(t) && t._trace.main.globalData instanceof LinearizeBuilder);
}

const runClosed = (closed: ClosedJaxpr, args: Tracer[]) => evalJaxpr(closed.jaxpr, closed.consts, args);

/**
 * Traces a function to a jaxpr, leaving out equations whose results nothing uses (JAX's DCE): the
 * known halves compute residuals a caller may not take (loop-invariant ones are computed outside).
 */
function traceToJaxpr(fn: (...args: Tracer[]) => Tracer[], inAvals: ShapedArray[]): ClosedJaxpr {
  const closed = traceJaxpr(fn, inAvals);
  const j = closed.jaxpr;
  const live = new Set<Var>(j.outs.filter((o): o is Var => o instanceof Var));
  const kept: JaxprEqn[] = [];
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i];
    if (!e.outBinders.some((v) => live.has(v))) continue;
    kept.unshift(e);
    for (const a of e.inputs) if (a instanceof Var) live.add(a);
  }
  if (kept.length === j.eqns.length) return closed;
  const used = j.constVars.map((v) => live.has(v));
  return new ClosedJaxpr(
    new Jaxpr(pick(j.constVars, used), j.inBinders, kept, j.outs),
    pick(closed.consts, used),
  );
}

// ------------------------------------------------------------------------------------ jvp of a jaxpr

/**
 * JAX's `ad.jvp_jaxpr`: `closed` differentiated, taking [primals, tangents of the inputs in
 * `nonzeros`] and returning [outputs, tangents of the outputs in `outNonzeros`]. An output tangent
 * is there when it is not a symbolic zero, or when `instantiate` asks for it (zeros materialised).
 */
export function jvpJaxpr(
  closed: ClosedJaxpr,
  nonzeros: readonly boolean[],
  instantiate_: boolean | readonly boolean[],
): { jaxpr: ClosedJaxpr; outNonzeros: boolean[] } {
  const inAvals = closed.inAvals;
  const n = inAvals.length;
  const outNonzeros: boolean[] = [];
  const jaxpr = traceToJaxpr(
    (...args) => {
      const primals = args.slice(0, n);
      let k = n;
      const tangents = primals.map((p, i) => (nonzeros[i] ? args[k++] : Zero.of(p.aval)));
      const [outs, touts] = jvpFlat((xs) => runClosed(closed, xs), primals, tangents);
      const kept = touts.flatMap((t, j) => {
        const force = typeof instantiate_ === "boolean" ? instantiate_ : instantiate_[j];
        outNonzeros[j] = nonZero(t) || (force && isFloating(outs[j].dtype));
        return outNonzeros[j] ? [instantiate(t)] : [];
      });
      return [...outs, ...kept];
    },
    [...inAvals, ...pick(inAvals, nonzeros).map(tangentAval)],
  );
  return { jaxpr, outNonzeros };
}

// ------------------------------------------------------------------- partial evaluation of the JVP

/** Where a residual of a partially evaluated jaxpr comes from. */
type Residual =
  /** A value known when tracing (a constant of the jaxpr, a literal made by a rule). */
  | { kind: "const"; value: ConcreteArray }
  /** One of the jaxpr's own (primal) inputs. */
  | { kind: "input"; index: number }
  /** Output `index` after the primal outputs of the known jaxpr. */
  | { kind: "computed"; index: number };

interface PartialJvp {
  /** Primal inputs → [primal outputs, ...computed residuals]. */
  known: ClosedJaxpr;
  residuals: Residual[];
  resAvals: ShapedArray[];
  /** [...residuals, ...tangents of the inputs in `nonzeros`] → tangents of the outputs in `outNonzeros`. */
  unknown: ClosedJaxpr;
  outNonzeros: boolean[];
}

/** What linearizing a function records: its outputs and the linear jaxpr's parts. */
interface Linearized {
  outs: Tracer[];
  constVars: Var[];
  consts: Tracer[];
  tanVars: Var[];
  eqns: JaxprEqn[];
  outVars: (Var | null)[];
}

/** `linearizeFlat` with tangent inputs only where `nonzeros` says (the others are symbolic zeros). */
function linearizeMasked(
  f: (xs: Tracer[]) => Tracer[],
  primals: Tracer[],
  nonzeros: readonly boolean[],
): Linearized {
  const builder = new LinearizeBuilder();
  return withNewMain(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const tanIns = primals.map((p, i) => (nonzeros[i] ? builder.newArg(trace, tangentAval(p.aval)) : null));
    const [outs, tanOuts] = jvpFlat(
      f,
      primals,
      tanIns.map((t, i) => t ?? Zero.of(primals[i].aval)),
    );
    const outVars = tanOuts.map((t) => (nonZero(t) ? builder.getVar(fullRaise(trace, t)) : null));
    const constVars = [...builder.constValues.keys()];
    return {
      outs,
      constVars,
      consts: constVars.map((v) => builder.constValues.get(v)!),
      tanVars: tanIns.flatMap((t) => (t ? [builder.getVar(t)] : [])),
      eqns: [...builder.eqns],
      outVars,
    };
  });
}

/**
 * JAX's `pe.partial_eval_jaxpr_nounits` applied to `jvp_jaxpr(closed)`, with primals known and
 * tangents unknown: the known jaxpr computes the primal outputs and the residuals the tangents
 * need, the unknown one is the linear map from the tangents (nested control flow splits the same way,
 * since it is linearized too).
 */
function partialEvalJvp(
  closed: ClosedJaxpr,
  nonzeros: readonly boolean[],
  instantiate_: readonly boolean[],
): PartialJvp {
  const builder = new JaxprBuilder();
  const { known, lin, residuals } = withNewDynamic(JaxprTrace, builder, (main) => {
    const trace = new JaxprTrace(main);
    const ins = closed.inAvals.map((a) => builder.newArg(trace, a));
    const lin = linearizeMasked((xs) => runClosed(closed, xs), ins, nonzeros);
    const computed: Tracer[] = [];
    const residuals = lin.consts.map((c): Residual => {
      if (c instanceof ConcreteArray) return { kind: "const", value: c };
      const i = ins.indexOf(c as (typeof ins)[number]);
      if (i >= 0) return { kind: "input", index: i };
      computed.push(fullRaise(trace, c));
      return { kind: "computed", index: computed.length - 1 };
    });
    const known = builder.build(ins, [...lin.outs.map((o) => fullRaise(trace, o)), ...computed]);
    return { known, lin, residuals };
  });
  const outAvals = closed.outAvals;
  const outNonzeros = lin.outVars.map(
    (v, j) => v !== null || (instantiate_[j] && isFloating(outAvals[j].dtype)),
  );
  const linJaxpr = new Jaxpr(
    lin.constVars,
    lin.tanVars,
    lin.eqns,
    lin.outVars.filter((v): v is Var => v !== null),
  );
  const resAvals = lin.consts.map((c) => c.aval);
  const nres = resAvals.length;
  const unknown = traceToJaxpr(
    (...args) => {
      const outs = evalJaxpr(linJaxpr, args.slice(0, nres), args.slice(nres));
      let k = 0;
      return lin.outVars.flatMap((v, j) =>
        v ? [outs[k++]] : outNonzeros[j] ? [zeros(tangentAval(outAvals[j]))] : [],
      );
    },
    [...resAvals, ...lin.tanVars.map((v) => v.aval)],
  );
  return { known, residuals, resAvals, unknown, outNonzeros };
}

/** The residual values of a partial evaluation, from the known jaxpr's inputs and extra outputs. */
function residualValues(pe: PartialJvp, ins: Tracer[], computed: Tracer[]): Tracer[] {
  return pe.residuals.map((r) =>
    r.kind === "const" ? r.value : r.kind === "input" ? ins[r.index] : computed[r.index],
  );
}

/** A jaxpr as a linear function of the inputs in `linear`, the others bound to `values`. */
function asLinear(closed: ClosedJaxpr, linear: readonly boolean[], values: Tracer[]): LinearJaxpr {
  const j = closed.jaxpr;
  const inVars = pick(j.inBinders, linear);
  const fixed = j.inBinders.filter((_, i) => !linear[i]);
  return new LinearJaxpr(
    [...j.constVars, ...fixed],
    [...closed.consts, ...values],
    inVars,
    inVars.map((v) => tangentAval(v.aval)),
    j.eqns,
    j.outs.map((o) => (o instanceof Var ? o : null)),
    closed.outAvals.map(tangentAval),
  );
}

// ---------------------------------------------------------------------------------------------- cond

/** JAX's `_merge_branch_residuals`: residual slots shared between branches by type. */
function mergeResiduals(perBranch: ShapedArray[][]): { slotAvals: ShapedArray[]; slotsOf: number[][] } {
  const slotAvals: ShapedArray[] = [];
  const slotsOf = perBranch.map((avals) => {
    const used = new Set<number>();
    return avals.map((a) => {
      let s = slotAvals.findIndex((b, i) => !used.has(i) && b.equals(a) && b.weakType === a.weakType);
      if (s < 0) s = slotAvals.push(a) - 1;
      used.add(s);
      return s;
    });
  });
  return { slotAvals, slotsOf };
}

export const condJvp: Rule<Primitive.Cond> = (primals, tangents, params) => {
  const [index, ...ops] = primals;
  const opsT = tangents.slice(1);
  const nz = opsT.map(nonZero);
  const nzT = opsT.filter(nonZero);
  const { branches } = params;
  const outAvals = branches[0].outAvals;
  const nOut = outAvals.length;
  const none = outAvals.map(() => false);

  if (!linearizing(opsT)) {
    // Every branch jvp'd with the same input pattern; output tangents nonzero in any branch are
    // materialised in all of them, so the branches still agree (JAX's _cond_jvp).
    const outNz = union(branches.map((b) => jvpJaxpr(b, nz, none).outNonzeros));
    const jvps = branches.map((b) => jvpJaxpr(b, nz, outNz).jaxpr);
    const outs = bind(Primitive.Cond, [index, ...ops, ...nzT], { branches: jvps });
    return [outs.slice(0, nOut), spread(outs.slice(nOut), outNz, outAvals)];
  }

  // JAX's _cond_partial_eval: a known cond computes the primal outputs and every branch's residuals
  // (in slots shared by type, zeros where a branch has none); the unknown cond, linear in the
  // tangents, takes the index, the residuals and the tangents.
  const first = branches.map((b) => partialEvalJvp(b, nz, none));
  const outNz = union(first.map((p) => p.outNonzeros));
  const pes = branches.map((b, k) =>
    sameMask(first[k].outNonzeros, outNz) ? first[k] : partialEvalJvp(b, nz, outNz),
  );
  const { slotAvals, slotsOf } = mergeResiduals(pes.map((pe) => pe.resAvals));
  const known = pes.map((pe, k) =>
    traceToJaxpr((...xs) => {
      const o = runClosed(pe.known, xs);
      const res = residualValues(pe, xs, o.slice(nOut));
      const slots: (Tracer | undefined)[] = slotAvals.map(() => undefined);
      slotsOf[k].forEach((s, r) => (slots[s] = res[r]));
      return [...o.slice(0, nOut), ...slots.map((v, s) => v ?? zeros(slotAvals[s]))];
    }, branches[k].inAvals),
  );
  const tanAvals = nzT.map((t) => tangentAval(t.aval));
  const unknown = pes.map((pe, k) =>
    traceToJaxpr(
      (...args) => {
        const [slots, ts] = split(args, slotAvals.length, tanAvals.length);
        return runClosed(pe.unknown, [...slotsOf[k].map((s) => slots[s]), ...ts]);
      },
      [...slotAvals, ...tanAvals],
    ),
  );
  const knownOuts = bind(Primitive.Cond, [index, ...ops], { branches: known });
  const tanOuts = outNz.some((b) => b)
    ? bind(Primitive.Cond, [index, ...knownOuts.slice(nOut), ...nzT], { branches: unknown })
    : [];
  return [knownOuts.slice(0, nOut), spread(tanOuts, outNz, outAvals)];
};

/**
 * JAX's `_cond_transpose`: each branch's linear jaxpr transposed; the index and the residuals (the
 * operands that are not linear) are passed through to the transposed branches.
 */
export function condTranspose(
  cts: Tracer[],
  args: TransposeArg[],
  params: ParamsOf<Primitive.Cond>,
): (Tracer | null)[] {
  const [index, ...ops] = args;
  if (isLinear(index)) throw new TypeError("transpose: cond is not linear in its branch index");
  const lin = ops.map(isLinear);
  const res = ops.filter((o): o is Tracer => !isLinear(o));
  const branches = params.branches.map((b) =>
    traceToJaxpr(
      (...a) => {
        const [r, c] = split(a, res.length, cts.length);
        return backwardPass(asLinear(b, lin, r), c).map(instantiate);
      },
      [...res.map((r) => r.aval), ...cts.map((c) => tangentAval(c.aval))],
    ),
  );
  const outs = bind(Primitive.Cond, [index, ...res, ...cts], { branches });
  let k = 0;
  return [null, ...lin.map((l) => (l ? outs[k++] : null))];
}

// --------------------------------------------------------------------------------------------- while

export const whileJvp: Rule<Primitive.While> = (primals, tangents, params) => {
  const { cond_nconsts: cn, body_nconsts: bn, cond_jaxpr, body_jaxpr } = params;
  const ncar = primals.length - cn - bn;
  const [cconsts, bconsts, init] = split(primals, cn, bn, ncar);
  const [, bconstT, initT] = split(tangents, cn, bn, ncar);
  const bconstNz = bconstT.map(nonZero);
  // The carry tangents that can become nonzero: a fixpoint over the body (JAX's _while_loop_jvp).
  let carryNz = initT.map(nonZero);
  let jvp = jvpJaxpr(body_jaxpr, [...bconstNz, ...carryNz], carryNz);
  for (;;) {
    const next = carryNz.map((b, i) => b || jvp.outNonzeros[i]);
    if (sameMask(next, carryNz)) break;
    carryNz = next;
    jvp = jvpJaxpr(body_jaxpr, [...bconstNz, ...carryNz], carryNz);
  }
  const bct = bconstT.filter(nonZero);
  const cart = pick(initT, carryNz).map(instantiate);
  const bodyIn = body_jaxpr.inAvals;
  const carryAvals = bodyIn.slice(bn);
  const cartAvals = pick(carryAvals, carryNz).map(tangentAval);
  // Body: [bconsts, bconst tangents, carry, carry tangents] → [carry, carry tangents].
  const body = traceToJaxpr(
    (...a) => {
      const [bc, bt, c, ct] = split(a, bn, bct.length, ncar, cart.length);
      return runClosed(jvp.jaxpr, [...bc, ...c, ...bt, ...ct]);
    },
    [...bodyIn.slice(0, bn), ...bct.map((t) => tangentAval(t.aval)), ...carryAvals, ...cartAvals],
  );
  // The predicate ignores the tangents.
  const cond = traceToJaxpr(
    (...a) => runClosed(cond_jaxpr, a.slice(0, cn + ncar)),
    [...cond_jaxpr.inAvals, ...cartAvals],
  );
  const outs = bind(Primitive.While, [...cconsts, ...bconsts, ...bct, ...init, ...cart], {
    body_jaxpr: body,
    body_nconsts: bn + bct.length,
    cond_jaxpr: cond,
    cond_nconsts: cn,
  });
  const tans = spread(outs.slice(ncar), carryNz, carryAvals);
  // Under linearize the jvp'd loop (which recomputes the primal) goes to the linear jaxpr whole, as
  // JAX's _while_partial_eval does: it evaluates forward, and transposing it is JAX's error. The
  // primal results come from the primal loop, run now.
  if (linearizing(tangents)) return [bind(Primitive.While, primals, params), tans];
  return [outs.slice(0, ncar), tans];
};

export function whileTranspose(): never {
  throw new Error(
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. " +
      "Try using lax.scan, or using fori_loop with static start/stop.",
  );
}

// ---------------------------------------------------------------------------------------------- scan

export const scanJvp: Rule<Primitive.Scan> = (primals, tangents, params) => {
  const { num_consts: nc, num_carry: ncar, jaxpr } = params;
  const nx = primals.length - nc - ncar;
  const nys = jaxpr.outAvals.length - ncar;
  const [consts, init, xs] = split(primals, nc, ncar, nx);
  const [constT, initT, xsT] = split(tangents, nc, ncar, nx);
  const constNz = constT.map(nonZero);
  const xsNz = xsT.map(nonZero);
  const linearize = linearizing(tangents);
  const noYs = Array<boolean>(nys).fill(false);
  const derive = (carryNz: boolean[]) => {
    const mask = [...constNz, ...carryNz, ...xsNz];
    const inst = [...carryNz, ...noYs];
    return linearize ? partialEvalJvp(jaxpr, mask, inst) : jvpJaxpr(jaxpr, mask, inst);
  };
  // Which carry tangents can be nonzero: a fixpoint over the body (JAX's _scan_jvp).
  let carryNz = initT.map(nonZero);
  let d = derive(carryNz);
  for (;;) {
    const next = carryNz.map((b, i) => b || d.outNonzeros[i]);
    if (sameMask(next, carryNz)) break;
    carryNz = next;
    d = derive(carryNz);
  }
  const ysNz = d.outNonzeros.slice(ncar);
  const ct = constT.filter(nonZero);
  const cart = pick(initT, carryNz).map(instantiate);
  const xst = xsT.filter(nonZero);
  const bodyIn = jaxpr.inAvals;
  const [constAvals, carryAvals, xAvals] = split(bodyIn, nc, ncar, nx);
  const ctAvals = pick(constAvals, constNz).map(tangentAval);
  const cartAvals = pick(carryAvals, carryNz).map(tangentAval);
  const xtAvals = pick(xAvals, xsNz).map(tangentAval);
  const outAvals = [...carryAvals, ...jaxpr.outAvals.slice(ncar)];
  const nyt = count(ysNz);
  const flags = (...groups: [number, boolean][]) => groups.flatMap(([n, b]) => Array<boolean>(n).fill(b));

  if (!("known" in d)) {
    // Forward: one scan over [consts, const tangents], [carry, carry tangents], [xs, xs tangents],
    // the body's outputs reordered to [carry, carry tangents, ys, ys tangents].
    const jvp = d.jaxpr;
    const body = traceToJaxpr(
      (...a) => {
        const [c, cT, car, carT, x, xT] = split(a, nc, ct.length, ncar, cart.length, nx, xst.length);
        const o = runClosed(jvp, [...c, ...car, ...x, ...cT, ...carT, ...xT]);
        const [carry, ys, carryT, ysT] = split(o, ncar, nys, cart.length, nyt);
        return [...carry, ...carryT, ...ys, ...ysT];
      },
      [...constAvals, ...ctAvals, ...carryAvals, ...cartAvals, ...xAvals, ...xtAvals],
    );
    const operands = [...consts, ...ct, ...init, ...cart, ...xs, ...xst];
    const outs = bind(Primitive.Scan, operands, {
      ...params,
      jaxpr: body,
      linear: flags(
        [nc, false],
        [ct.length, true],
        [ncar, false],
        [cart.length, true],
        [nx, false],
        [xst.length, true],
      ),
      num_carry: ncar + cart.length,
      num_consts: nc + ct.length,
    });
    const [carry, carryT, ys, ysT] = split(outs, ncar, cart.length, nys, nyt);
    return [[...carry, ...ys], spread([...carryT, ...ysT], [...carryNz, ...ysNz], outAvals)];
  }

  // JAX's _scan_partial_eval. Residuals known before the loop (constants, the scan's consts, values
  // computed from the consts alone: JAX's loop-invariant residuals, computed once here) and the xs
  // themselves are passed to the unknown scan directly; the others are stacked by the known scan as
  // extra ys and read back per step as xs of the unknown scan.
  const pe = d;
  const invariant = loopInvariant(pe.known, nc, consts, ncar + nys);
  const resConsts: Tracer[] = [];
  const resXs: Tracer[] = [];
  const stacked: Residual[] = [];
  const place = pe.residuals.map((r): ["c" | "x" | "s", number] => {
    if (r.kind === "const") return ["c", resConsts.push(r.value) - 1];
    if (r.kind === "input" && r.index < nc) return ["c", resConsts.push(consts[r.index]) - 1];
    if (r.kind === "computed" && invariant.has(r.index))
      return ["c", resConsts.push(invariant.get(r.index)!) - 1];
    if (r.kind === "input" && r.index >= nc + ncar) return ["x", resXs.push(xs[r.index - nc - ncar]) - 1];
    return ["s", stacked.push(r) - 1];
  });
  // A residual that is one of the ys is not stacked twice: the unknown scan reads that y.
  const sameAsY: (number | null)[] = [];
  const knownBody = traceToJaxpr((...a) => {
    const o = runClosed(pe.known, a);
    const ysOut = o.slice(ncar, ncar + nys);
    const computed = o.slice(ncar + nys);
    const extra = stacked.flatMap((r, k) => {
      const value = r.kind === "input" ? a[r.index] : computed[(r as { index: number }).index];
      const y = ysOut.indexOf(value);
      sameAsY[k] = y >= 0 ? y : null;
      return y >= 0 ? [] : [value];
    });
    return [...o.slice(0, ncar + nys), ...extra];
  }, bodyIn);
  const knownOuts = bind(Primitive.Scan, primals, {
    ...params,
    jaxpr: knownBody,
    linear: primals.map(() => false),
  });
  const [carry, ys, extraRes] = split(knownOuts, ncar, nys, knownOuts.length - ncar - nys);
  let e = 0;
  const stackedRes = sameAsY.map((y) => (y === null ? extraRes[e++] : ys[y]));
  if (!carryNz.some((b) => b) && nyt === 0) return [[...carry, ...ys], outAvals.map((a) => Zero.of(a))];
  const slotAval = (kind: "c" | "x" | "s", n: number) => {
    const avals: ShapedArray[] = Array<ShapedArray>(n);
    place.forEach(([p, k], ri) => {
      if (p === kind) avals[k] = pe.resAvals[ri];
    });
    return avals;
  };
  const unknownBody = traceToJaxpr(
    (...a) => {
      const [rc, cT, carT, rs, rx, xT] = split(
        a,
        resConsts.length,
        ct.length,
        cart.length,
        stacked.length,
        resXs.length,
        xst.length,
      );
      const res = place.map(([p, k]) => (p === "c" ? rc[k] : p === "x" ? rx[k] : rs[k]));
      return runClosed(pe.unknown, [...res, ...cT, ...carT, ...xT]);
    },
    [
      ...slotAval("c", resConsts.length),
      ...ctAvals,
      ...cartAvals,
      ...slotAval("s", stacked.length),
      ...slotAval("x", resXs.length),
      ...xtAvals,
    ],
  );
  const operands = [...resConsts, ...ct, ...cart, ...stackedRes, ...resXs, ...xst];
  const tanOuts = bind(Primitive.Scan, operands, {
    ...params,
    jaxpr: unknownBody,
    linear: flags(
      [resConsts.length, false],
      [ct.length + cart.length, true],
      [stacked.length + resXs.length, false],
      [xst.length, true],
    ),
    num_carry: cart.length,
    num_consts: resConsts.length + ct.length,
  });
  return [[...carry, ...ys], spread(tanOuts, [...carryNz, ...ysNz], outAvals)];
};

/**
 * The outputs of a scan body (from `first` on) that depend on its first `nc` inputs (the consts)
 * alone, evaluated now on the scan's const operands: they are the same at every step. Keyed by
 * position after `first`.
 */
function loopInvariant(body: ClosedJaxpr, nc: number, consts: Tracer[], first: number): Map<number, Tracer> {
  const j = body.jaxpr;
  const varying = new Set<Var>(j.inBinders.slice(nc));
  for (const e of j.eqns)
    if (e.inputs.some((a) => a instanceof Var && varying.has(a))) e.outBinders.forEach((v) => varying.add(v));
  const wanted = j.outs
    .map((o, k) => [o, k] as const)
    .filter(([o, k]) => k >= first && o instanceof Var && !varying.has(o) && !j.inBinders.includes(o));
  const result = new Map<number, Tracer>();
  if (wanted.length === 0) return result;
  // Only the equations these outputs need.
  const needed = new Set<Var>(wanted.map(([o]) => o as Var));
  const eqns = j.eqns;
  const used: JaxprEqn[] = [];
  for (let i = eqns.length - 1; i >= 0; i--) {
    const e = eqns[i];
    if (!e.outBinders.some((v) => needed.has(v))) continue;
    used.unshift(e);
    e.inputs.forEach((a) => a instanceof Var && needed.add(a));
  }
  const env = new Map<Var, Tracer>();
  j.constVars.forEach((v, i) => env.set(v, body.consts[i]));
  j.inBinders.slice(0, nc).forEach((v, i) => env.set(v, consts[i]));
  const read = (a: Atom) => (a instanceof Var ? env.get(a)! : literalArray(a.value, a.aval));
  for (const e of used) {
    const outs = bind(e.primitive, e.inputs.map(read), e.params as ParamsOf<Primitive>);
    e.outBinders.forEach((v, i) => env.set(v, outs[i]));
  }
  for (const [o, k] of wanted) result.set(k - first, env.get(o as Var)!);
  return result;
}

/**
 * JAX's `_scan_transpose`: the transposed body runs in the opposite direction. Its consts are the
 * residual consts; its carry is [cotangents of the linear consts (accumulated), cotangents of the
 * carry]; its xs are [cotangents of the ys, residual xs]; its ys are the cotangents of the linear xs.
 * The carry is treated as linear throughout (an initial carry that is a constant, such as
 * materialised zeros, just gets no cotangent).
 */
export function scanTranspose(
  cts: Tracer[],
  args: TransposeArg[],
  params: ParamsOf<Primitive.Scan>,
): (Tracer | null)[] {
  const { num_consts: nc, num_carry: ncar, jaxpr } = params;
  const nx = args.length - nc - ncar;
  const nys = jaxpr.outAvals.length - ncar;
  const [consts, carry, xs] = split(args, nc, ncar, nx);
  const constLin = consts.map(isLinear);
  const xsLin = xs.map(isLinear);
  const res = consts.filter((c): c is Tracer => !isLinear(c));
  const eres = xs.filter((x): x is Tracer => !isLinear(x));
  const [constAvals, carryAvals, xAvals] = split(jaxpr.inAvals, nc, ncar, nx);
  const accAvals = pick(constAvals, constLin).map(tangentAval);
  const linear = [...constLin, ...carryAvals.map(() => true), ...xsLin];
  const body = traceToJaxpr(
    (...a) => {
      const [r, acc, ctCarry, ctYs, er] = split(a, res.length, accAvals.length, ncar, nys, eres.length);
      // The body's non-linear inputs, in order: residual consts, then residual xs.
      const ctIn = backwardPass(asLinear(jaxpr, linear, [...r, ...er]), [...ctCarry, ...ctYs]);
      const [ctConsts, ctCarryIn, ctXs] = split(ctIn, acc.length, ncar, ctIn.length - acc.length - ncar);
      return [
        ...ctConsts.map((c, i) => (nonZero(c) ? add(acc[i], c) : acc[i])),
        ...ctCarryIn.map(instantiate),
        ...ctXs.map(instantiate),
      ];
    },
    [
      ...res.map((x) => x.aval),
      ...accAvals,
      ...carryAvals.map(tangentAval),
      ...jaxpr.outAvals.slice(ncar).map(tangentAval),
      ...pick(
        xAvals,
        xsLin.map((l) => !l),
      ),
    ],
  );
  const [ctCarry, ctYs] = split(cts, ncar, nys);
  const operands = [...res, ...accAvals.map(zeros), ...ctCarry, ...ctYs, ...eres];
  const outs = bind(Primitive.Scan, operands, {
    ...params,
    jaxpr: body,
    linear: operands.map((_, i) => i >= res.length && i < res.length + accAvals.length + ncar + nys),
    num_carry: accAvals.length + ncar,
    num_consts: res.length,
    reverse: !params.reverse,
  });
  const [ctConsts, ctInit, ctXs] = split(outs, accAvals.length, ncar, count(xsLin));
  let kc = 0;
  let kx = 0;
  return [
    ...constLin.map((l) => (l ? ctConsts[kc++] : null)),
    ...carry.map((c, i) => (isLinear(c) ? ctInit[i] : null)),
    ...xsLin.map((l) => (l ? ctXs[kx++] : null)),
  ];
}
