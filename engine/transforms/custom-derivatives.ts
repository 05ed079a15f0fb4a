/**
 * `customJvp`, `customVjp` and `stopGradient`, with JAX's API shapes:
 *
 *     const f = customJvp((x) => ...);
 *     f.defjvp(([x], [t]) => [f(x), tangentOut]);
 *     const g = customVjp((x) => ...);
 *     g.defvjp((x) => [out, residuals], (residuals, ct) => [ctX]);
 *
 * A custom rule applies where the function's arguments carry tangents of the innermost JVP trace
 * (JAX binds a custom_jvp_call primitive that every trace handles; here the wrapper looks at the
 * trace of its arguments): under vmap, jit or makeJaxpr with no JVP above them, f runs as written.
 * The custom_vjp's backward function enters the linear jaxpr as a `custom_lin` equation, which
 * transposition turns into a call of bwd (JAX's design).
 */
import { JVPTrace, JVPTracer, hasTangent } from "../core/jvp-trace.js";
import { Primitive } from "../core/primitive.js";
import { bind, bind1, findTopTrace, Tracer } from "../core/trace.js";
import { isFloating } from "../dtype.js";
import { asArray } from "../numpy/array-like.js";
import { flatten, treeDefEqual, treeDefToString, unflatten, type PyTree, type TreeDef } from "../tree.js";
import { CustomBwd } from "./ad/custom-bwd.js";
import { instantiate } from "./ad/ops.js";
import { Zero, type Tangent } from "./ad/zero.js";

function leafArray(x: unknown, what: string): Tracer {
  if (x instanceof Tracer) return x;
  if (typeof x === "number" || typeof x === "boolean") return asArray(x);
  throw new TypeError(`${what}: expected arrays, got ${typeof x}`);
}

/** The innermost JVP trace the arguments belong to, or null (then f runs as written). */
function jvpTraceOf(leaves: unknown[]): JVPTrace | null {
  const tracers = leaves.filter((l): l is Tracer => l instanceof Tracer);
  if (tracers.length === 0) return null;
  const top = findTopTrace(tracers);
  return top instanceof JVPTrace ? top : null;
}

/** Splits the argument leaves into primals and tangents of `trace`. */
function unzip(trace: JVPTrace, leaves: unknown[], what: string): [Tracer[], Tangent[]] {
  const ps: Tracer[] = [];
  const ts: Tangent[] = [];
  for (const l of leaves) {
    const x = leafArray(l, what);
    if (x instanceof JVPTracer && x._trace.main === trace.main) {
      ps.push(x.primal);
      ts.push(x.tangent);
    } else {
      ps.push(x);
      ts.push(Zero.of(x.aval));
    }
  }
  return [ps, ts];
}

export type JvpRuleFn<A extends unknown[], R> = (primals: A, tangents: A) => [R, R];

export interface CustomJvpFunction<A extends unknown[], R> {
  (...args: A): R;
  /** Sets the JVP rule: `(primals, tangents) => [primalOut, tangentOut]`; returns the rule. */
  defjvp(rule: JvpRuleFn<A, R>): JvpRuleFn<A, R>;
}

/** `customJvp(f)`: f with a user-defined JVP rule (set with `f.defjvp(rule)`), as `jax.custom_jvp`. */
export function customJvp<A extends unknown[], R>(fn: (...args: A) => R): CustomJvpFunction<A, R> {
  let rule: JvpRuleFn<A, R> | undefined;
  const wrapped = ((...args: A): R => {
    if (!rule) throw new TypeError("customJvp: no JVP rule defined; call f.defjvp(rule) before using f");
    const [leaves, inTree] = flatten<unknown>(args);
    const trace = jvpTraceOf(leaves);
    if (!trace) return fn(...args);
    const [ps, ts] = unzip(trace, leaves, "customJvp");
    // As JAX without symbolic_zeros: the rule sees zeros as arrays.
    const primals = unflatten(inTree, ps) as unknown as A;
    const tangents = unflatten(inTree, ts.map(instantiate)) as unknown as A;
    const [outP, outT] = rule(primals, tangents);
    const [pLeaves, pTree] = flatten<unknown>(outP);
    const [tLeaves, tTree] = flatten<unknown>(outT);
    if (!treeDefEqual(pTree, tTree))
      throw new TypeError(
        `customJvp: the rule's primal output ${treeDefToString(pTree)} and tangent output ${treeDefToString(tTree)} must have the same structure`,
      );
    const outs = pLeaves.map((p, i) => {
      const pa = leafArray(p, "customJvp");
      const ta = leafArray(tLeaves[i], "customJvp");
      if (hasTangent(pa.aval) && (ta.dtype !== pa.dtype || ta.shape.join() !== pa.shape.join()))
        throw new TypeError(
          `customJvp: the rule's tangent output ${ta.aval.strShort()} does not match its primal output ${pa.aval.strShort()}`,
        );
      return new JVPTracer(trace, pa, hasTangent(pa.aval) ? ta : Zero.of(pa.aval));
    });
    return unflatten(pTree, outs) as R;
  }) as CustomJvpFunction<A, R>;
  wrapped.defjvp = (r) => {
    rule = r;
    return r;
  };
  return wrapped;
}

export type VjpFwd<A extends unknown[], R, Res> = (...args: A) => [R, Res];
/** Cotangents of the arguments, one entry per argument (null: zero). */
export type VjpBwd<R, Res> = (residuals: Res, ct: R) => readonly unknown[];

export interface CustomVjpFunction<A extends unknown[], R> {
  (...args: A): R;
  /** Sets the forward (`(...args) => [out, residuals]`) and backward (`(residuals, ct) => cts`) functions. */
  defvjp<Res>(fwd: VjpFwd<A, R, Res>, bwd: VjpBwd<R, Res>): void;
}

/** `customVjp(f)`: f with user-defined reverse-mode rules (`f.defvjp(fwd, bwd)`), as `jax.custom_vjp`. */
export function customVjp<A extends unknown[], R>(fn: (...args: A) => R): CustomVjpFunction<A, R> {
  let fwd: VjpFwd<A, R, unknown> | undefined;
  let bwd: VjpBwd<R, unknown> | undefined;
  const wrapped = ((...args: A): R => {
    if (!fwd || !bwd) throw new TypeError("customVjp: call f.defvjp(fwd, bwd) before using f");
    const [leaves, inTree] = flatten<unknown>(args);
    const trace = jvpTraceOf(leaves);
    if (!trace) return fn(...args);
    const [ps, ts] = unzip(trace, leaves, "customVjp");
    const [out, res] = fwd(...(unflatten(inTree, ps) as unknown as A));
    const [outLeaves, outTree] = flatten<unknown>(out);
    const outs = outLeaves.map((o) => leafArray(o, "customVjp"));
    if (ts.every((t) => t instanceof Zero)) return unflatten(outTree, outs) as R;
    const [resLeaves, resTree] = flatten<unknown>(res);
    const resArrays = resLeaves.map((r) => leafArray(r, "customVjp"));
    const backward = new CustomBwd("bwd", (resVals, cts) => {
      const g = bwd!(unflatten(resTree, resVals), unflatten(outTree, cts) as R);
      return cotangentLeaves(g, args.length, inTree, ps);
    });
    const linOuts = bind(Primitive.CustomLin, [...resArrays, ...ts.map(instantiate)], {
      bwd: backward,
      num_res: resArrays.length,
      out_avals: outs.map((o) => o.aval),
      symbolic_zeros: false,
    });
    return unflatten(
      outTree,
      outs.map((o, i) => new JVPTracer(trace, o, hasTangent(o.aval) ? linOuts[i] : Zero.of(o.aval))),
    ) as R;
  }) as CustomVjpFunction<A, R>;
  wrapped.defvjp = (f, b) => {
    fwd = f as VjpFwd<A, R, unknown>;
    bwd = b as VjpBwd<R, unknown>;
  };
  return wrapped;
}

/** bwd's result (one cotangent pytree per argument, null for zero) as flat leaves matching the inputs. */
function cotangentLeaves(
  g: readonly unknown[],
  nargs: number,
  inTree: TreeDef,
  primals: Tracer[],
): (Tracer | null)[] {
  if (!Array.isArray(g) || g.length !== nargs)
    throw new TypeError(
      `customVjp: bwd must return a list with one cotangent per argument (${nargs}), got ${Array.isArray(g) ? g.length : typeof g}`,
    );
  if (inTree.kind !== "array") throw new Error("customVjp: arguments are not a list");
  const out: (Tracer | null)[] = [];
  g.forEach((ct, i) => {
    const def = inTree.children[i];
    if (ct === null || ct === undefined) {
      for (let k = 0; k < countLeaves(def); k++) out.push(null);
      return;
    }
    const [leaves, ctTree] = flatten<unknown>(ct);
    if (!treeDefEqual(def, ctTree))
      throw new TypeError(
        `customVjp: bwd's cotangent for argument ${i} has structure ${treeDefToString(ctTree)}, the argument ${treeDefToString(def)}`,
      );
    for (const l of leaves) out.push(leafArray(l, "customVjp"));
  });
  return out.map((c, i) => (c && isFloating(primals[i].dtype) ? c : null));
}

function countLeaves(def: TreeDef): number {
  if (def.kind === "leaf") return 1;
  if (def.kind === "none") return 0;
  return def.children.reduce((n, c) => n + countLeaves(c), 0);
}

/**
 * `lax.stopGradient(x)`: x, with a zero derivative (a `stop_gradient` primitive on float leaves,
 * as JAX; integer and bool leaves pass unchanged).
 */
export function stopGradient<T extends PyTree>(x: T): T {
  const [leaves, def] = flatten<unknown>(x);
  return unflatten(
    def,
    leaves.map((l) => {
      const a = leafArray(l, "lax.stopGradient");
      return isFloating(a.dtype) ? bind1(Primitive.StopGradient, [a], {}) : a;
    }),
  ) as T;
}
