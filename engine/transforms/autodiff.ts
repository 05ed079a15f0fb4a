/**
 * The autodiff API, as JAX's: `jvp`, `linearize`, `vjp`, `grad`, `valueAndGrad`, `jacfwd`, `jacrev`,
 * `hessian`. Each is a thin wrapper: flatten the pytrees, run the flat transform (ad/linearize.ts),
 * unflatten. Gradients of a pytree of parameters have the parameters' structure.
 */
import { ShapedArray } from "../core/aval.js";
import { Tracer } from "../core/trace.js";
import { isFloating } from "../dtype.js";
import { asArray } from "../numpy/array-like.js";
import { formatShape } from "../shape.js";
import {
  flatten,
  numLeaves,
  treeDefEqual,
  treeDefToString,
  unflatten,
  type PyTree,
  type TreeDef,
} from "../tree.js";
import { instantiate, reshape, transpose, zeros } from "./ad/ops.js";
import { jvpFlat, linearizeFlat, type LinearJaxpr } from "./ad/linearize.js";
import { vmap } from "./vmap.js";
import { literalArray } from "../core/from-host.js";
import { bind1 } from "../core/trace.js";
import { Primitive } from "../core/primitive.js";

function toArray(x: unknown, what: string): Tracer {
  if (x instanceof Tracer) return x;
  if (typeof x === "number" || typeof x === "boolean") return asArray(x);
  throw new TypeError(`${what}: expected arrays in the pytree, got ${typeof x}`);
}

function flattenArrays(tree: unknown, what: string): [Tracer[], TreeDef] {
  const [leaves, def] = flatten<unknown>(tree);
  return [leaves.map((l) => toArray(l, what)), def];
}

/** `f` as a function of flat arrays, recording the structure of its results. */
function flatFun(
  f: (...args: never[]) => unknown,
  inTree: TreeDef,
  what: string,
): [(xs: Tracer[]) => Tracer[], () => TreeDef] {
  let outTree: TreeDef | undefined;
  const flat = (xs: Tracer[]) => {
    const args = unflatten(inTree, xs) as unknown as never[];
    const [outs, def] = flattenArrays(f(...args), what);
    outTree = def;
    return outs;
  };
  return [flat, () => outTree!];
}

function checkSameStructure(what: string, a: TreeDef, b: TreeDef, name: string, other: string): void {
  if (!treeDefEqual(a, b))
    throw new TypeError(
      `${what}: ${name} and ${other} must have the same structure, got ${treeDefToString(a)} and ${treeDefToString(b)}`,
    );
}

/**
 * `jvp(f, primals, tangents)` → `[primalsOut, tangentsOut]`: f's value and its directional
 * derivative. `primals` and `tangents` are lists with one entry (a pytree) per argument of f.
 */
export function jvp<A extends unknown[], R>(
  f: (...args: A) => R,
  primals: A,
  tangents: { [K in keyof A]: unknown },
): [R, R] {
  if (!Array.isArray(primals) || !Array.isArray(tangents))
    throw new TypeError("jvp: primals and tangents must be lists (one entry per argument of f)");
  const [ps, inTree] = flattenArrays(primals, "jvp");
  const [ts, tanTree] = flattenArrays(tangents, "jvp");
  checkSameStructure("jvp", inTree, tanTree, "primals", "tangents");
  ps.forEach((p, i) => {
    const t = ts[i];
    if (hasFloat(p) && (t.dtype !== p.dtype || formatShape(t.shape) !== formatShape(p.shape)))
      throw new TypeError(
        `jvp: primal and tangent arguments must have equal shapes and dtypes, got ${p.aval.strShort()} and ${t.aval.strShort()} at leaf ${i}`,
      );
  });
  const [flat, outTree] = flatFun(f as (...args: never[]) => unknown, inTree, "jvp");
  const [outs, tanOuts] = jvpFlat(flat, ps, ts);
  return [unflatten(outTree(), outs) as R, unflatten(outTree(), tanOuts.map(instantiate)) as R];
}

const hasFloat = (x: Tracer) => isFloating(x.dtype);

/**
 * `linearize(f, ...primals)` → `[out, fJvp]`: f's value and its linearization, a function of input
 * tangents evaluated from a linear jaxpr (the primal work is done once, here).
 */
export function linearize<A extends unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [R, (...tangents: A) => R] {
  const [ps, inTree] = flattenArrays(primals, "linearize");
  const [flat, outTree] = flatFun(f as (...args: never[]) => unknown, inTree, "linearize");
  const [outs, lin] = linearizeFlat(flat, ps);
  const tree = outTree();
  const fJvp = (...tangents: A): R => {
    const [ts, tanTree] = flattenArrays(tangents, "linearize");
    checkSameStructure("linearize", inTree, tanTree, "primals", "tangents");
    return unflatten(tree, lin.apply(ts)) as R;
  };
  return [unflatten(tree, outs) as R, fJvp];
}

/** f's result as [output, auxiliary data]: with hasAux, f must return that pair; else aux is null. */
function splitAux(result: unknown, hasAux: boolean, what: string): [unknown, unknown] {
  if (!hasAux) return [result, null];
  if (!Array.isArray(result) || result.length !== 2)
    throw new TypeError(`${what} with hasAux: f must return a pair [output, auxiliary data]`);
  return result as [unknown, unknown];
}

/** What vjp and grad share: the outputs, their structure and the transposable linear jaxpr. */
function vjpInternal(
  f: (...args: never[]) => unknown,
  primals: unknown[],
  hasAux: boolean,
  what: string,
): { out: PyTree; aux: PyTree; outs: Tracer[]; outTree: TreeDef; lin: LinearJaxpr; inTree: TreeDef } {
  const [ps, inTree] = flattenArrays(primals, what);
  let auxTree: TreeDef | undefined;
  let outTree: TreeDef | undefined;
  let numOut = 0;
  const flat = (xs: Tracer[]) => {
    const args = unflatten(inTree, xs) as unknown as never[];
    const [main, aux] = splitAux(f(...args), hasAux, what);
    const [outs, def] = flattenArrays(main, what);
    const [auxes, adef] = flatten<unknown>(aux);
    outTree = def;
    auxTree = adef;
    numOut = outs.length;
    return [...outs, ...auxes.map((a) => toArray(a, what))];
  };
  const [allOuts, lin] = linearizeFlat(flat, ps);
  const outs = allOuts.slice(0, numOut);
  return {
    out: unflatten(outTree!, outs),
    aux: unflatten(auxTree!, allOuts.slice(numOut)),
    outs,
    outTree: outTree!,
    lin,
    inTree,
  };
}

function pullback(
  lin: LinearJaxpr,
  outTree: TreeDef,
  inTree: TreeDef,
  numOut: number,
  what: string,
): (ct: unknown) => PyTree {
  return (ct: unknown) => {
    const [cts, ctTree] = flattenArrays(ct, what);
    checkSameStructure(what, outTree, ctTree, "the cotangent", "the output");
    cts.forEach((c, i) => {
      const want = lin.outAvals[i];
      if (formatShape(c.shape) !== formatShape(want.shape))
        throw new TypeError(
          `${what}: the cotangent of output ${i} has shape ${formatShape(c.shape)}, the output ${formatShape(want.shape)}`,
        );
    });
    const all = [...cts, ...lin.outs.slice(numOut).map(() => null)];
    return unflatten(inTree, lin.transpose(all).map(instantiate));
  };
}

/**
 * `vjp(f, ...primals)` → `[out, vjpFn]`: `vjpFn(ct)` gives the cotangents of the arguments (a list,
 * one per argument, each of that argument's structure) for a cotangent of the output.
 */
export function vjp<A extends unknown[], R>(
  f: (...args: A) => R,
  ...primals: A
): [R, (ct: R) => { [K in keyof A]: A[K] }] {
  const r = vjpInternal(f as (...args: never[]) => unknown, primals, false, "vjp");
  return [
    r.out as R,
    pullback(r.lin, r.outTree, r.inTree, r.outs.length, "vjp") as (ct: R) => { [K in keyof A]: A[K] },
  ];
}

/** `vjp` for a function returning `[output, aux]`: `[out, vjpFn, aux]` (JAX's `has_aux=True`). */
export function vjpWithAux<A extends unknown[], R, Aux>(
  f: (...args: A) => [R, Aux],
  ...primals: A
): [R, (ct: R) => { [K in keyof A]: A[K] }, Aux] {
  const r = vjpInternal(f as (...args: never[]) => unknown, primals, true, "vjp");
  return [
    r.out as R,
    pullback(r.lin, r.outTree, r.inTree, r.outs.length, "vjp") as (ct: R) => { [K in keyof A]: A[K] },
    r.aux as Aux,
  ];
}

export interface GradOptions {
  /** Which positional argument(s) to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
  /** f returns `[loss, aux]`; the aux data is returned alongside the gradient. */
  hasAux?: boolean;
}

function normalizeArgnums(argnums: number | readonly number[], nargs: number, what: string): number[] {
  const list = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a)) throw new TypeError(`${what}: argnums must be integers, got ${String(a)}`);
    const k = a < 0 ? a + nargs : a;
    if (k < 0 || k >= nargs)
      throw new RangeError(
        `${what}: differentiating with respect to argnums=${a} requires at least ${a < 0 ? -a : a + 1} positional arguments to be passed by the caller, but got only ${nargs} positional arguments`,
      );
  }
  return list.map((a) => (a < 0 ? a + nargs : a));
}

function checkRealInputs(tree: unknown, what: string): void {
  const [leaves] = flatten<unknown>(tree);
  for (const l of leaves) {
    const dtype = l instanceof Tracer ? l.dtype : typeof l === "number" ? "float32" : "bool";
    if (!isFloating(dtype))
      throw new TypeError(
        `${what} requires real-valued inputs (input dtype that is a sub-dtype of np.inexact), but got ${dtype}. ` +
          `If you want to use Boolean- or integer-valued inputs, use vjp.`,
      );
  }
}

/**
 * The arguments selected by `argnums` (checked to be real-valued), f as a function of them alone,
 * and how per-argument results are returned (one for a number, a list for a list of argnums).
 */
function differentiatedArgs(
  f: (...args: never[]) => unknown,
  args: unknown[],
  argnums: number | readonly number[],
  what: string,
): { dyn: unknown[]; partial: (...d: unknown[]) => unknown; select: (perArg: PyTree[]) => PyTree } {
  const nums = normalizeArgnums(argnums, args.length, what);
  const dyn = nums.map((i) => args[i]);
  checkRealInputs(dyn, what);
  const partial = (...d: unknown[]) => {
    const full = [...args];
    nums.forEach((i, k) => (full[i] = d[k]));
    return f(...(full as never[]));
  };
  return { dyn, partial, select: (perArg) => (typeof argnums === "number" ? perArg[0] : perArg) };
}

/** The shared core of grad and valueAndGrad: value, aux and gradient. */
function valueGradAux(
  f: (...args: never[]) => unknown,
  options: GradOptions,
  args: unknown[],
  what: string,
): { value: Tracer; aux: PyTree; grad: PyTree } {
  const { dyn, partial, select } = differentiatedArgs(f, args, options.argnums ?? 0, what);
  const r = vjpInternal(partial, dyn, options.hasAux ?? false, what);
  if (r.outs.length !== 1 || r.outTree.kind !== "leaf")
    throw new TypeError(
      `${what}: Gradient only defined for scalar-output functions, but f returned a ${treeDefToString(r.outTree)}`,
    );
  const out = r.outs[0];
  if (out.ndim !== 0)
    throw new TypeError(
      `${what}: Gradient only defined for scalar-output functions. Output had shape: ${formatShape(out.shape)}.`,
    );
  if (!isFloating(out.dtype))
    throw new TypeError(
      `${what} requires real-valued outputs (output dtype that is a sub-dtype of np.floating), but got ${out.dtype}`,
    );
  const cts = [literalArray(1, new ShapedArray([], out.dtype)), ...r.lin.outs.slice(1).map(() => null)];
  const grads = unflatten(r.inTree, r.lin.transpose(cts).map(instantiate)) as PyTree[];
  return { value: out, aux: r.aux, grad: select(grads) };
}

/**
 * `grad(f, {argnums, hasAux})`: the gradient of a scalar function with respect to argument
 * `argnums` (a pytree of float arrays; a list of argnums gives a list of gradients).
 */
/** The type of a gradient of a value of type T: same structure, arrays (and JS numbers) → arrays. */
export type Grads<T> = T extends Tracer | number
  ? Tracer
  : T extends readonly unknown[]
    ? { [K in keyof T]: Grads<T[K]> }
    : T extends object
      ? { [K in keyof T]: Grads<T[K]> }
      : T;

export function grad<A extends unknown[], Aux, N extends number = 0>(
  f: (...args: A) => readonly [unknown, Aux],
  options: { argnums?: N; hasAux: true },
): (...args: A) => [Grads<A[N]>, Aux];
export function grad<A extends unknown[]>(
  f: (...args: A) => unknown,
  options: { argnums: readonly number[]; hasAux?: false },
): (...args: A) => Grads<A[number]>[];
export function grad<A extends unknown[], N extends number = 0>(
  f: (...args: A) => unknown,
  options?: { argnums?: N; hasAux?: false },
): (...args: A) => Grads<A[N]>;
/**
 * `grad(f, {argnums, hasAux})`: the gradient of a scalar function with respect to argument
 * `argnums` (a pytree of float arrays; a list of argnums gives a list of gradients).
 */
export function grad<A extends unknown[]>(
  f: (...args: A) => unknown,
  options: GradOptions = {},
): (...args: A) => unknown {
  return (...args: A) => {
    const r = valueGradAux(f as (...args: never[]) => unknown, options, args, "grad");
    return options.hasAux ? [r.grad, r.aux] : r.grad;
  };
}

export function valueAndGrad<A extends unknown[], Aux, N extends number = 0>(
  f: (...args: A) => readonly [unknown, Aux],
  options: { argnums?: N; hasAux: true },
): (...args: A) => [[Tracer, Aux], Grads<A[N]>];
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => unknown,
  options: { argnums: readonly number[]; hasAux?: false },
): (...args: A) => [Tracer, Grads<A[number]>[]];
export function valueAndGrad<A extends unknown[], N extends number = 0>(
  f: (...args: A) => unknown,
  options?: { argnums?: N; hasAux?: false },
): (...args: A) => [Tracer, Grads<A[N]>];
/** `valueAndGrad(f)`: `[value, grad]` (with hasAux: `[[value, aux], grad]`), in one pass. */
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => unknown,
  options: GradOptions = {},
): (...args: A) => unknown {
  return (...args: A) => {
    const r = valueGradAux(f as (...args: never[]) => unknown, options, args, "valueAndGrad");
    return options.hasAux ? [[r.value, r.aux], r.grad] : [r.value, r.grad];
  };
}

export interface JacOptions {
  /**
   * Which positional argument(s) to differentiate with respect to (default 0). Each may be a pytree
   * of float arrays; a list of argnums gives, per output leaf, a list of Jacobians.
   */
  argnums?: number | readonly number[];
  /** f returns `[output, auxiliary data]`; the result is then `[jacobian, aux]`. */
  hasAux?: boolean;
}

/** The identity basis for x: shape (size, ...x.shape), one unit tangent per row. */
function basis(aval: ShapedArray): Tracer {
  const n = aval.size;
  const i = bind1(Primitive.Iota, [], { dtype: "int32", shape: [n, n], dimension: 0, sharding: null });
  const j = bind1(Primitive.Iota, [], { dtype: "int32", shape: [n, n], dimension: 1, sharding: null });
  const eye = bind1(Primitive.ConvertElementType, [bind1(Primitive.Eq, [i, j], {})], {
    new_dtype: aval.dtype,
    weak_type: false,
  });
  return reshape(eye, [n, ...aval.shape]);
}

/**
 * Assembles a Jacobian: `blocks[o][i]` is d(output leaf o)/d(input leaf i), shaped out + in; the
 * result has the outputs' structure with, at each output leaf, the (selected) arguments' structure.
 */
function assembleJacobian(
  blocks: Tracer[][],
  outTree: TreeDef,
  inTree: TreeDef,
  select: (perArg: PyTree[]) => PyTree,
): PyTree {
  return unflatten<PyTree>(
    outTree,
    blocks.map((row) => select(unflatten(inTree, row) as PyTree[])),
  );
}

/**
 * The shape of jacfwd, jacrev and hessian: with one argnum and no aux the Jacobian is typed like a
 * gradient of the output; otherwise (a list of argnums, hasAux) a pytree.
 */
export interface JacobianTransform {
  <A extends unknown[], R>(
    f: (...args: A) => R,
    options?: { argnums?: number; hasAux?: false },
  ): (...args: A) => Grads<R>;
  <A extends unknown[], R>(f: (...args: A) => R, options: JacOptions): (...args: A) => PyTree;
}

function jacfwdImpl(
  f: (...args: never[]) => unknown,
  options: JacOptions = {},
): (...args: never[]) => PyTree {
  return (...args: unknown[]) => {
    const what = "jacfwd";
    const hasAux = options.hasAux ?? false;
    const { dyn, partial, select } = differentiatedArgs(f, args, options.argnums ?? 0, what);
    const [xs, inTree] = flattenArrays(dyn, what);
    let outTree: TreeDef | undefined;
    let aux: PyTree = null;
    const flat = (...leaves: Tracer[]): Tracer[] => {
      const [out] = splitAux(partial(...(unflatten(inTree, leaves) as unknown[])), hasAux, what);
      const [outs, def] = flattenArrays(out, what);
      outTree = def;
      return outs;
    };
    // The aux data from one more primal call (JAX takes it from the pushforward): same values.
    if (hasAux) aux = splitAux(partial(...dyn), hasAux, what)[1] as PyTree;
    // One vmapped JVP per input leaf: a unit tangent on that leaf, zeros on the others.
    const columns = xs.map((x, i) => {
      const push = (v: Tracer) =>
        jvp(
          flat,
          xs,
          xs.map((other, k) => (k === i ? v : zeros(other.aval))),
        )[1];
      return vmap(push)(basis(x.aval)) as Tracer[];
    });
    // Without input leaves no JVP ran: f still gives the output structure.
    if (outTree === undefined) flat();
    const blocks = [...Array(numLeaves(outTree!)).keys()].map((o) =>
      xs.map((x, i) => {
        // (n, ...out) → (...out, ...in)
        const c = columns[i][o];
        const outRank = c.ndim - 1;
        const moved = transpose(c, [...Array(outRank).keys()].map((d) => d + 1).concat([0]));
        return reshape(moved, [...moved.shape.slice(0, outRank), ...x.shape]);
      }),
    );
    const jac = assembleJacobian(blocks, outTree!, inTree, select);
    return hasAux ? [jac, aux] : jac;
  };
}
/**
 * `jacfwd(f, {argnums, hasAux})`: the Jacobian by forward mode, one JVP per input element (vmapped
 * over the identity basis of each input leaf). Per output leaf, shape output shape + input shape.
 */
export const jacfwd = jacfwdImpl as JacobianTransform;

function jacrevImpl(
  f: (...args: never[]) => unknown,
  options: JacOptions = {},
): (...args: never[]) => PyTree {
  return (...args: unknown[]) => {
    const what = "jacrev";
    const { dyn, partial, select } = differentiatedArgs(f, args, options.argnums ?? 0, what);
    const [xs] = flattenArrays(dyn, what);
    const r = vjpInternal(partial, dyn, options.hasAux ?? false, what);
    const blocks = r.outs.map((o, j) => {
      const pull = (ct: Tracer) => {
        const cts = r.lin.outs.map((_, i) => (i === j ? ct : null));
        return r.lin.transpose(cts).map(instantiate);
      };
      const rows = vmap(pull)(basis(o.aval)) as Tracer[];
      return rows.map((row, i) => reshape(row, [...o.shape, ...xs[i].shape]));
    });
    const jac = assembleJacobian(blocks, r.outTree, r.inTree, select);
    return options.hasAux ? [jac, r.aux] : jac;
  };
}
/**
 * `jacrev(f, {argnums, hasAux})`: the Jacobian by reverse mode, one VJP per output element (vmapped
 * over the identity basis of each output leaf). Per output leaf, shape output shape + input shape.
 */
export const jacrev = jacrevImpl as JacobianTransform;

function hessianImpl(
  f: (...args: never[]) => unknown,
  options: JacOptions = {},
): (...args: never[]) => PyTree {
  return jacfwdImpl(jacrevImpl(f, options), options);
}
/** `hessian(f, {argnums, hasAux})` = jacfwd(jacrev(f)), as in JAX. */
export const hessian = hessianImpl as JacobianTransform;
