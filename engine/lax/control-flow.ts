/**
 * Structured control flow, as `jax.lax`: cond, switch, while_loop, fori_loop, scan, map. Bodies are
 * traced once to jaxprs (closed-over values become const operands) and bound as the `cond`, `while`
 * and `scan` primitives, so they compose with vmap, makeJaxpr and jit. Carries, operands, xs and ys
 * are pytrees.
 */
import { ShapedArray } from "../core/aval.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import { Primitive } from "../core/primitive.js";
import { bind, bind1, Tracer } from "../core/trace.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";
import { formatShape } from "../shape.js";
import { traceHoisted, withCommonConsts, type HoistedJaxpr } from "../transforms/trace-hoisted.js";
import { flatten, unflatten, treeDefEqual, type PyTree, type TreeDef } from "../tree.js";

/** Flattens a pytree of arrays (or JS numbers/booleans) into arrays. */
function flattenArrays(tree: unknown, what: string): [Tracer[], TreeDef] {
  const [leaves, def] = flatten<unknown>(tree);
  const arrays = leaves.map((x) => {
    if (x instanceof Tracer) return x;
    if (typeof x === "number" || typeof x === "boolean") return asArray(x);
    throw new TypeError(`${what}: ${typeof x} is not an array`);
  });
  return [arrays, def];
}

/** A readable form of a tree structure for error messages (JAX prints PyTreeDefs). */
function treeText(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "none":
      return String(def.value);
    case "array":
      return `[${def.children.map(treeText).join(", ")}]`;
    case "object":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}: ${treeText(def.children[i])}`).join(", ")}}`;
  }
}

/** Paths of the leaves (`[0]["w"]`), for naming a mismatching component. */
function leafPaths(def: TreeDef, prefix: string): string[] {
  switch (def.kind) {
    case "leaf":
      return [prefix];
    case "none":
      return [];
    case "array":
      return def.children.flatMap((c, i) => leafPaths(c, `${prefix}[${i}]`));
    case "object":
      return def.children.flatMap((c, i) => leafPaths(c, `${prefix}[${JSON.stringify(def.keys[i])}]`));
  }
}

const typeText = (a: ShapedArray) => `${a.dtype}${formatShape(a.shape).replace(/^\((.*?),?\)$/, "[$1]")}`;

/** The difference between two avals, in JAX's words. */
function aValDifference(a: ShapedArray, b: ShapedArray): string {
  if (a.dtype !== b.dtype) return "so the dtypes do not match";
  return "so the shapes do not match";
}

/**
 * JAX's `_check_carry_type`: a loop body's carry output must have the carry input's structure and
 * types; the error lists each mismatching component.
 */
function checkCarry(
  what: string,
  inTree: TreeDef,
  inAvals: readonly ShapedArray[],
  outTree: TreeDef,
  outAvals: readonly ShapedArray[],
): void {
  if (!treeDefEqual(inTree, outTree)) {
    throw new TypeError(
      `${what} function carry input and carry output must have the same pytree structure, but they differ:\n` +
        `  the input carry is ${treeText(inTree)} and the output carry is ${treeText(outTree)}`,
    );
  }
  const paths = leafPaths(inTree, "carry");
  const diffs = inAvals.flatMap((a, i) =>
    a.equals(outAvals[i])
      ? []
      : [
          `  * the input carry component ${paths[i]} has type ${typeText(a)} but the corresponding output ` +
            `carry component has type ${typeText(outAvals[i])}, ${aValDifference(a, outAvals[i])}`,
        ],
  );
  if (diffs.length) {
    throw new TypeError(
      `${what} function carry input and carry output must have equal types (e.g. shapes and dtypes of arrays), ` +
        `but they differ:\n\n${diffs.join("\n")}\n\nRevise the function so that the carry output has the same types as the carry input.`,
    );
  }
}

/** Splits a hoisted jaxpr's outputs' avals. */
const outAvalsOf = (h: HoistedJaxpr) => h.jaxpr.outAvals;

// ---------------------------------------------------------------------------------------------- cond

/** Branch functions traced on the operands, checked to agree (JAX's `_check_tree_and_avals`). */
function traceBranches(
  what: string,
  names: (k: number) => string,
  fns: readonly ((...ops: never[]) => unknown)[],
  opsTree: TreeDef,
  ops: Tracer[],
): { jaxprs: ClosedJaxpr[]; consts: Tracer[]; outTree: TreeDef } {
  const avals = ops.map((o) => o.aval);
  const hoisted = fns.map((f, k) =>
    traceHoisted(
      (...xs) => (f as (...a: PyTree[]) => unknown)(...(unflatten(opsTree, xs) as PyTree[])),
      avals,
      `${what}: ${names(k)}`,
    ),
  );
  const first = hoisted[0];
  hoisted.forEach((h, k) => {
    if (k === 0) return;
    if (!treeDefEqual(first.outTree, h.outTree)) {
      throw new TypeError(
        `${what}: ${names(0)} and ${names(k)} output must have same type structure, got ` +
          `${treeText(first.outTree)} and ${treeText(h.outTree)}`,
      );
    }
    const a = outAvalsOf(first);
    const b = outAvalsOf(h);
    const paths = leafPaths(first.outTree, "output");
    const diffs = a.flatMap((x, i) =>
      x.equals(b[i]) ? [] : [`${paths[i]}: ${x.toString()} vs. ${b[i].toString()}`],
    );
    if (diffs.length) {
      throw new TypeError(
        `${what}: ${names(0)} and ${names(k)} output must have identical types, got DIFFERENT ${diffs.join(", ")}`,
      );
    }
  });
  const { jaxprs, consts } = withCommonConsts(hoisted);
  return { jaxprs, consts, outTree: first.outTree };
}

function bindCond<T>(index: Tracer, traced: ReturnType<typeof traceBranches>, ops: Tracer[]): T {
  const outs = bind(Primitive.Cond, [index, ...traced.consts, ...ops], { branches: traced.jaxprs });
  return unflatten(traced.outTree, outs) as T;
}

/**
 * `lax.cond(pred, trueFun, falseFun, ...operands)`: `trueFun(...operands)` if `pred` else
 * `falseFun(...operands)`; only one branch runs (under vmap with a batched `pred`, both run and the
 * results are selected, as in JAX). `pred` is a boolean (or integer) scalar.
 */
export function cond<A extends unknown[], R>(
  pred: ArrayLike,
  trueFun: (...operands: A) => R,
  falseFun: (...operands: A) => R,
  ...operands: A
): R {
  let p: Tracer;
  if (typeof pred === "number" || typeof pred === "boolean") p = asArray(Boolean(pred));
  else p = asArray(pred);
  if (p.ndim !== 0) {
    throw new TypeError(
      `lax.cond: Pred must be a scalar, got ${p.aval.toString()} of shape ${formatShape(p.shape)}`,
    );
  }
  if (p.dtype !== "bool") {
    if (p.dtype !== "int32" && p.dtype !== "uint32")
      throw new TypeError(`lax.cond: Pred type must be either boolean or number, got ${p.dtype}`);
    p = bind1(Primitive.Ne, [p, asArray(0, p.dtype)], {});
  }
  const index = bind1(Primitive.ConvertElementType, [p], { new_dtype: "int32", weak_type: false });
  const [ops, opsTree] = flattenArrays(operands, "lax.cond operands");
  // Branch 0 is the false branch: the index is the predicate as an integer.
  const traced = traceBranches(
    "lax.cond",
    (k) => (k === 0 ? "false_fun" : "true_fun"),
    [falseFun, trueFun] as never[],
    opsTree,
    ops,
  );
  return bindCond<R>(index, traced, ops);
}

/**
 * `lax.switch(index, branches, ...operands)`: `branches[index](...operands)`, the index clamped into
 * range, as in JAX.
 */
export function switch_<A extends unknown[], R>(
  index: ArrayLike,
  branches: readonly ((...operands: A) => R)[],
  ...operands: A
): R {
  if (branches.length === 0) throw new TypeError("lax.switch: empty branch sequence");
  let i = typeof index === "number" ? asArray(index, "int32") : asArray(index);
  if (i.ndim !== 0) {
    throw new TypeError(`lax.switch: Branch index must be scalar, got ${i.aval.toString()}`);
  }
  if (i.dtype !== "int32" && i.dtype !== "uint32") {
    throw new TypeError(`lax.switch: Index type must be an integer, got ${i.dtype}`);
  }
  if (i.dtype !== "int32")
    i = bind1(Primitive.ConvertElementType, [i], { new_dtype: "int32", weak_type: false });
  // JAX's clamp(0, index, n - 1).
  i = bind1(Primitive.Max, [i, asArray(0, "int32")], {});
  i = bind1(Primitive.Min, [i, asArray(branches.length - 1, "int32")], {});
  const [ops, opsTree] = flattenArrays(operands, "lax.switch operands");
  const traced = traceBranches("lax.switch", (k) => `branch ${k}`, branches as never[], opsTree, ops);
  return bindCond<R>(i, traced, ops);
}

// --------------------------------------------------------------------------------------------- while

/** `lax.whileLoop(condFun, bodyFun, initVal)`: `while (condFun(val)) val = bodyFun(val)`. */
export function whileLoop<T>(condFun: (val: T) => ArrayLike, bodyFun: (val: T) => T, initVal: T): T {
  const [init, tree] = flattenArrays(initVal, "lax.whileLoop init_val");
  const avals = init.map((x) => x.aval);
  const c = traceHoisted((...xs) => condFun(unflatten(tree, xs) as T), avals, "lax.whileLoop: cond_fun");
  const pred = c.jaxpr.outAvals;
  if (c.outTree.kind !== "leaf" || pred[0].dtype !== "bool" || pred[0].ndim !== 0) {
    throw new TypeError(
      `lax.whileLoop: cond_fun must return a boolean scalar, but got output type(s) [${pred.map((a) => a.toString()).join(", ")}]`,
    );
  }
  const b = traceHoisted((...xs) => bodyFun(unflatten(tree, xs) as T), avals, "lax.whileLoop: body_fun");
  checkCarry("lax.whileLoop body", tree, avals, b.outTree, b.jaxpr.outAvals);
  const outs = bind(Primitive.While, [...c.consts, ...b.consts, ...init], {
    body_jaxpr: b.jaxpr,
    body_nconsts: b.consts.length,
    cond_jaxpr: c.jaxpr,
    cond_nconsts: c.consts.length,
  });
  return unflatten(tree, outs) as T;
}

/** A static loop bound: a JS integer, or a concrete integer scalar the host knows. */
function staticBound(x: ArrayLike): number | undefined {
  if (typeof x === "number") return Number.isInteger(x) ? x : undefined;
  return undefined;
}

/**
 * `lax.forLoop(lower, upper, bodyFun, initVal)` (JAX's fori_loop): `for (i = lower; i < upper; i++)
 * val = bodyFun(i, val)`. With JS-number bounds it is a scan of `upper - lower` steps (so reverse-mode
 * differentiation works, as in JAX); with traced bounds a while loop (forward mode only).
 */
export function forLoop<T>(
  lower: ArrayLike,
  upper: ArrayLike,
  bodyFun: (i: Tracer, val: T) => T,
  initVal: T,
): T {
  const lo = staticBound(lower);
  const hi = staticBound(upper);
  if (lo !== undefined && hi !== undefined) {
    // JAX's _fori_scan_body_fun: the carry is (i, val) and there are no xs.
    const [, result] = scan(
      ([i, x]: [Tracer, T]) =>
        [[bind1(Primitive.Add, [i, asArray(1, "int32")], {}), bodyFun(i, x)] as [Tracer, T], null] as const,
      [asArray(lo, "int32"), initVal] as [Tracer, T],
      null,
      { length: Math.max(hi - lo, 0) },
    )[0] as [Tracer, T];
    return result;
  }
  const toI32 = (v: ArrayLike) => {
    const t = typeof v === "number" ? asArray(v, "int32") : asArray(v);
    if (t.ndim !== 0 || (t.dtype !== "int32" && t.dtype !== "uint32"))
      throw new TypeError(`lax.forLoop: bounds must be integer scalars, got ${t.aval.toString()}`);
    return t.dtype === "int32"
      ? t
      : bind1(Primitive.ConvertElementType, [t], { new_dtype: "int32", weak_type: false });
  };
  // JAX's _fori_cond_fun / _fori_body_fun: the carry is (i, upper, val).
  const [, , result] = whileLoop(
    ([i, u]: [Tracer, Tracer, T]) => bind1(Primitive.Lt, [i, u], {}),
    ([i, u, x]: [Tracer, Tracer, T]) =>
      [bind1(Primitive.Add, [i, asArray(1, "int32")], {}), u, bodyFun(i, x)] as [Tracer, Tracer, T],
    [toI32(lower), toI32(upper), initVal] as [Tracer, Tracer, T],
  );
  return result;
}

export const foriLoop = forLoop;

// ---------------------------------------------------------------------------------------------- scan

export interface ScanOptions {
  /** The number of steps; needed when `xs` is null, else must equal the leading axis of xs. */
  length?: number;
  /** Scan from the last element of xs to the first (ys are still stacked in xs's order). */
  reverse?: boolean;
  /** How many steps one loop iteration runs (kept as the param; eager execution ignores it). */
  unroll?: number | boolean;
}

/**
 * `lax.scan(f, init, xs, {length, reverse, unroll})`: `f(carry, x)` returns `[carry, y]`; returns
 * `[finalCarry, ys]` with the ys stacked along a new leading axis, as in JAX.
 */
export function scan<C, X, Y>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X,
  options: ScanOptions = {},
): [C, Y] {
  const [initLeaves, carryTree] = flattenArrays(init, "lax.scan init");
  const [xsLeaves, xsTree] = flattenArrays(xs, "lax.scan xs");
  const lengths = [...new Set(xsLeaves.map((x) => (x.ndim === 0 ? -1 : x.shape[0])))];
  if (lengths.includes(-1)) {
    throw new TypeError(
      "lax.scan got value with no leading axis to scan over: every xs leaf must be an array of rank >= 1",
    );
  }
  if (lengths.length > 1) {
    throw new RangeError(`lax.scan got values with different leading axis sizes: ${lengths.join(", ")}`);
  }
  let length: number;
  if (options.length !== undefined) {
    if (!Number.isInteger(options.length) || options.length < 0)
      throw new RangeError(`lax.scan: length must be a non-negative integer, got ${options.length}`);
    if (lengths.length && lengths[0] !== options.length) {
      throw new RangeError(
        `lax.scan got \`length\` argument of ${options.length} which disagrees with leading axis sizes [${lengths[0]}]`,
      );
    }
    length = options.length;
  } else if (lengths.length) length = lengths[0];
  else throw new TypeError("lax.scan got no values to scan over and `length` not provided");

  const carryAvals = initLeaves.map((x) => x.aval);
  const xAvals = xsLeaves.map((x) => new ShapedArray(x.shape.slice(1), x.dtype, x.weakType));
  let yTree: TreeDef | undefined;
  let outCarryTree: TreeDef | undefined;
  const nCarry = initLeaves.length;
  const body = traceHoisted(
    (...args) => {
      const carry = unflatten(carryTree, args.slice(0, nCarry)) as C;
      const x = unflatten(xsTree, args.slice(nCarry)) as X;
      const out = f(carry, x);
      if (!Array.isArray(out) || out.length !== 2) {
        throw new TypeError("lax.scan: the body function must return a pair [carry, y]");
      }
      const [c, cTree] = flattenArrays(out[0], "lax.scan carry output");
      const [y, yt] = flattenArrays(out[1], "lax.scan y output");
      outCarryTree = cTree;
      yTree = yt;
      return [...c, ...y];
    },
    [...carryAvals, ...xAvals],
    "lax.scan: f",
  );
  const outAvals = body.jaxpr.outAvals;
  checkCarry("lax.scan body", carryTree, carryAvals, outCarryTree!, outAvals.slice(0, nCarry));
  const unroll =
    options.unroll === undefined
      ? 1
      : options.unroll === true
        ? length
        : options.unroll === false
          ? 1
          : options.unroll;
  const nConsts = body.consts.length;
  const operands = [...body.consts, ...initLeaves, ...xsLeaves];
  const outs = bind(Primitive.Scan, operands, {
    _split_transpose: false,
    jaxpr: body.jaxpr,
    length,
    linear: operands.map(() => false),
    num_carry: nCarry,
    num_consts: nConsts,
    reverse: options.reverse ?? false,
    unroll,
  });
  return [unflatten(carryTree, outs.slice(0, nCarry)) as C, unflatten(yTree!, outs.slice(nCarry)) as Y];
}

/** `lax.map(f, xs)`: `f` applied to each slice of xs along the leading axis, results stacked. */
export function map<X, Y>(f: (x: X) => Y, xs: X): Y {
  const [, ys] = scan((carry: null, x: X) => [carry, f(x)] as const, null, xs);
  return ys;
}
