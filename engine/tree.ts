/**
 * Pytrees: arrays, numbers and booleans are leaves; JS arrays (tuples) and plain objects nest them;
 * null and undefined are empty nodes. Every transform flattens its arguments and results with these.
 */
import { Tracer } from "./core/trace.js";

export type Leaf = Tracer | number | boolean;
export type PyTree = Leaf | null | undefined | readonly PyTree[] | { readonly [key: string]: PyTree };

export type TreeDef =
  | { kind: "leaf" }
  | { kind: "none"; value: null | undefined }
  | { kind: "array"; children: TreeDef[] }
  | { kind: "object"; keys: string[]; children: TreeDef[] };

function isPlainObject(x: unknown): x is Record<string, PyTree> {
  if (x === null || typeof x !== "object") return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function isLeaf(x: unknown): x is Leaf {
  return x instanceof Tracer || typeof x === "number" || typeof x === "boolean";
}

/** The leaves in order, and the structure to rebuild the tree. Object keys are sorted, as in JAX. */
export function flatten<T = Leaf>(tree: unknown, extraLeaf?: (x: unknown) => boolean): [T[], TreeDef] {
  const leaves: T[] = [];
  const walk = (x: unknown, path: string): TreeDef => {
    if (isLeaf(x) || extraLeaf?.(x)) {
      leaves.push(x as T);
      return { kind: "leaf" };
    }
    if (x === null || x === undefined) return { kind: "none", value: x };
    if (Array.isArray(x)) return { kind: "array", children: x.map((c, i) => walk(c, `${path}[${i}]`)) };
    if (isPlainObject(x)) {
      const keys = Object.keys(x).sort();
      return { kind: "object", keys, children: keys.map((k) => walk(x[k], `${path}.${k}`)) };
    }
    throw new TypeError(
      `${path || "value"} is not a valid pytree node: expected an Array, number, boolean, JS array, ` +
        `plain object or null, got ${describeValue(x)}`,
    );
  };
  const def = walk(tree, "");
  return [leaves, def];
}

export function unflatten<T = Leaf>(def: TreeDef, leaves: readonly T[]): PyTree {
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        if (i >= leaves.length) throw new Error(`unflatten: too few leaves (${leaves.length})`);
        return leaves[i++];
      case "none":
        return d.value;
      case "array":
        return d.children.map(build);
      case "object":
        return Object.fromEntries(d.keys.map((k, j) => [k, build(d.children[j])]));
    }
  };
  const out = build(def);
  if (i !== leaves.length) throw new Error(`unflatten: expected ${i} leaves, got ${leaves.length}`);
  return out as PyTree;
}

export function numLeaves(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "none":
      return 0;
    default:
      return def.children.reduce((n, c) => n + numLeaves(c), 0);
  }
}

export function treeDefEqual(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "array" && b.kind === "array") {
    return (
      a.children.length === b.children.length && a.children.every((c, i) => treeDefEqual(c, b.children[i]))
    );
  }
  if (a.kind === "object" && b.kind === "object") {
    return (
      a.keys.length === b.keys.length &&
      a.keys.every((k, i) => k === b.keys[i]) &&
      a.children.every((c, i) => treeDefEqual(c, b.children[i]))
    );
  }
  return true;
}

/** Python-like description of a structure, e.g. `[*, {a: *, b: *}]`, for error messages. */
export function treeDefToString(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "none":
      return "None";
    case "array":
      return `[${def.children.map(treeDefToString).join(", ")}]`;
    case "object":
      return `{${def.keys.map((k, i) => `${k}: ${treeDefToString(def.children[i])}`).join(", ")}}`;
  }
}

/** Applies `fn` to corresponding leaves of trees of the same structure. */
export function map(fn: (...leaves: Leaf[]) => Leaf, tree: PyTree, ...rest: PyTree[]): PyTree {
  const [leaves, def] = flatten(tree);
  const others = rest.map((t, k) => {
    const [l, d] = flatten(t);
    if (!treeDefEqual(d, def)) {
      throw new TypeError(
        `tree.map: tree ${k + 1} has structure ${treeDefToString(d)}, expected ${treeDefToString(def)}`,
      );
    }
    return l;
  });
  return unflatten(
    def,
    leaves.map((x, i) => fn(x, ...others.map((l) => l[i]))),
  );
}

export function leaves(tree: PyTree): Leaf[] {
  return flatten(tree)[0];
}

export function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (typeof x === "object") return (x as object).constructor?.name ?? "object";
  return typeof x;
}
