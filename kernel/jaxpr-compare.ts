/**
 * `%jaxpr --compare vmap(f)(xs)`: f's jaxpr on one example (the mapped axes taken out of the mapped
 * arguments, per vmap's inAxes) beside the batched jaxpr, whose equations are marked: `B` gained the
 * batch dimension, `+` was added by batching (no counterpart in the example's jaxpr), blank computes
 * on unbatched values only; operands that stayed unbatched are listed (and shaded in the HTML).
 */
import { Jaxpr, JaxprEqn, Literal, Var, innerJaxprs, type Atom } from "../engine/core/jaxpr.js";
import { Tracer } from "../engine/core/trace.js";
import { ShapeDtypeStruct, makeJaxpr } from "../engine/transforms/make-jaxpr.js";
import { VMAP_INFO, axesForLeaves, type AxisSpec, type VmapInfo } from "../engine/transforms/vmap.js";
import { flatten, unflatten } from "../engine/tree.js";
import { blockText, buildBlock, formatLiteral, jaxprHtml, jaxprText, type EqnMarks } from "./jaxpr-render.js";

const WRAPPED_KEYS: (string | symbol)[] = [Symbol.for("vmaplab.wrapped"), "__wrapped__"];

/** The vmap information of a function made by vmap, also through wrappers that expose what they wrap. */
export function findVmapInfo(fn: unknown): VmapInfo | undefined {
  let f = fn;
  for (let depth = 0; depth < 8 && typeof f === "function"; depth++) {
    const info = (f as unknown as Record<symbol, VmapInfo | undefined>)[VMAP_INFO];
    if (info) return info;
    const next = WRAPPED_KEYS.map((k) => (f as unknown as Record<string | symbol, unknown>)[k]).find(
      (x) => typeof x === "function",
    );
    if (!next) return undefined;
    f = next;
  }
  return undefined;
}

/**
 * Which variables carry the batch dimension, by dataflow from the batched inputs (into nested jaxprs
 * too); the equations batching added (broadcasts of unbatched operands, moves of the batch axis)
 * produce batched values.
 */
function batchedVars(jaxpr: Jaxpr, batchedIn: boolean[], into: Set<Var>, added: Set<JaxprEqn>): void {
  jaxpr.inBinders.forEach((v, i) => batchedIn[i] && into.add(v));
  for (const eqn of jaxpr.eqns) {
    const flags = eqn.inputs.map((a) => a instanceof Var && into.has(a));
    for (const inner of innerJaxprs(eqn)) {
      const n = inner.inBinders.length;
      // Operands map to the inner binders from the end (leading operands may be indices/predicates).
      const innerFlags =
        n <= flags.length ? flags.slice(flags.length - n) : new Array<boolean>(n).fill(flags.some(Boolean));
      batchedVars(inner, innerFlags, into, added);
    }
    if (flags.some(Boolean) || added.has(eqn)) eqn.outBinders.forEach((v) => into.add(v));
  }
}

/** Equations without nested jaxprs, depth first, in printing order. */
function leafEqns(jaxpr: Jaxpr, out: JaxprEqn[] = []): JaxprEqn[] {
  for (const eqn of jaxpr.eqns) {
    const nested = innerJaxprs(eqn);
    if (nested.length) nested.forEach((j) => leafEqns(j, out));
    else out.push(eqn);
  }
  return out;
}

/** The batched equations with no counterpart in the example's (longest common subsequence of primitives). */
function addedByBatching(example: JaxprEqn[], batched: JaxprEqn[]): Set<JaxprEqn> {
  const n = example.length;
  const m = batched.length;
  if (n * m > 4e6) return new Set();
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      dp[i][j] =
        example[i].primitive === batched[j].primitive
          ? dp[i + 1][j + 1] + 1
          : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const matched = new Set<JaxprEqn>();
  for (let i = 0, j = 0; i < n && j < m;) {
    if (example[i].primitive === batched[j].primitive) {
      matched.add(batched[j]);
      i++;
      j++;
    } else if (dp[i + 1][j] >= dp[i][j + 1]) i++;
    else j++;
  }
  return new Set(batched.filter((e) => !matched.has(e)));
}

export interface Comparison {
  text: string;
  html: string;
}

export class CompareUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function axisSpecText(a: AxisSpec): string {
  return JSON.stringify(a);
}

export function compareJaxprs(
  callee: (...a: unknown[]) => unknown,
  args: unknown[],
  source: string,
  info: VmapInfo,
): Comparison {
  // vmap's own reading of inAxes: a list is per argument, but with one argument it may be its spec.
  const spec =
    Array.isArray(info.inAxes) && info.inAxes.length !== args.length && args.length === 1
      ? [info.inAxes]
      : info.inAxes;
  const isStruct = (x: unknown) => x instanceof ShapeDtypeStruct;
  const [leaves, def] = flatten<unknown>(args, isStruct);
  const axes = axesForLeaves(spec, def, "args", "in_axes");
  const notes: string[] = [];
  let batchSize: number | undefined;
  const exampleLeaves = leaves.map((leaf, i) => {
    const axis = axes[i].axis;
    if (axis === null) return leaf;
    const shape = leaf instanceof Tracer || leaf instanceof ShapeDtypeStruct ? [...leaf.shape] : undefined;
    if (!shape)
      throw new CompareUsageError(`%jaxpr --compare: ${axes[i].path} is mapped but is not an array`);
    const a = axis < 0 ? axis + shape.length : axis;
    if (a < 0 || a >= shape.length)
      throw new CompareUsageError(`%jaxpr --compare: in_axes ${axis} is out of bounds for ${axes[i].path}`);
    batchSize = shape[a];
    const dtype = leaf instanceof Tracer ? leaf.dtype : (leaf as ShapeDtypeStruct).dtype;
    const rest = shape.filter((_, d) => d !== a);
    notes.push(
      `${axes[i].path}: axis ${a} of [${shape.join(",")}] removed, one example is [${rest.join(",")}]`,
    );
    return new ShapeDtypeStruct(rest, dtype);
  });
  const exampleArgs = unflatten(def, exampleLeaves) as unknown as unknown[];
  const example = makeJaxpr(info.fun as (...a: unknown[]) => unknown)(...(exampleArgs as never[]));
  const batched = makeJaxpr(callee)(...(args as never[]));

  const added = addedByBatching(leafEqns(example.jaxpr), leafEqns(batched.jaxpr));
  const isBatched = new Set<Var>();
  batchedVars(
    batched.jaxpr,
    leaves.map((_, i) => axes[i].axis !== null),
    isBatched,
    added,
  );
  const eqnBatched = (e: JaxprEqn) => e.outBinders.some((v) => isBatched.has(v));
  const marks: EqnMarks = {
    mark: (e) => (added.has(e) ? "+" : eqnBatched(e) ? "B" : " "),
    unbatched: (e, a: Atom) =>
      eqnBatched(e) && (a instanceof Literal || (a instanceof Var && !isBatched.has(a))),
    lineStyle: (e) =>
      added.has(e) ? "background:#ddf4ff" : eqnBatched(e) ? "background:#fff8c5" : undefined,
  };

  const fname = info.fun.name || "f";
  const exampleTitle = `${fname} on one example (${notes.join("; ")})`;
  const batchedTitle = `${source} on the batch${batchSize !== undefined ? ` of ${batchSize}` : ""} (in_axes ${axisSpecText(info.inAxes)})`;
  const legend =
    "B = gained the batch dimension, + = added by batching (no counterpart in the example), blank = unbatched";

  // The unbatched operands of batched equations, named as the printed jaxpr names them.
  const block = buildBlock(batched, marks);
  const batchedText = blockText(block, marks);
  const unbatchedLines: string[] = [];
  const atomName = (a: Atom) => (a instanceof Literal ? formatLiteral(a) : (block.names.get(a) ?? "?"));
  const visit = (j: Jaxpr) => {
    for (const e of j.eqns) {
      const flagged = e.inputs.filter((a) => marks.unbatched(e, a));
      if (flagged.length) {
        const outs = e.outBinders.map(atomName).join(" ") || "_";
        unbatchedLines.push(
          `  ${outs} = ${e.primitive} ${e.inputs.map(atomName).join(" ")}: ${flagged.map(atomName).join(", ")}`,
        );
      }
      innerJaxprs(e).forEach(visit);
    }
  };
  visit(batched.jaxpr);

  const text = [
    exampleTitle,
    jaxprText(example),
    "",
    batchedTitle,
    legend,
    batchedText,
    ...(unbatchedLines.length
      ? ["", "Operands that stayed unbatched (equation: operands):", ...unbatchedLines]
      : []),
  ].join("\n");
  const html =
    `<div style="display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start">` +
    `<div>${jaxprHtml(example, undefined, exampleTitle)}</div>` +
    `<div>${jaxprHtml(batched, marks, batchedTitle)}<div style="font-family:sans-serif;font-size:12px;color:#57606a;margin-top:4px">${legend}; shaded operands stayed unbatched</div></div>` +
    `</div>`;
  return { text, html };
}
