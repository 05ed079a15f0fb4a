/**
 * einsum: `jnp.einsum("ij,jk->ik", a, b)`. As JAX does, it lowers to primitives: repeated labels in
 * one operand take a diagonal (select with a delta mask, then reduce_sum), labels only one operand
 * has and the output lacks are summed out (reduce_sum), operands are contracted pairwise left to right
 * (dot_general: shared labels still needed later are batch dims, the others contract), and the result
 * is transposed into the output order. Implicit mode (no `->`) outputs the labels seen once, sorted,
 * after the ellipsis dims; `...` stands for broadcast batch dims.
 */
import { ShapedArray } from "../core/aval.js";
import { fromHost } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { formatShape, stridesOf } from "../shape.js";
import type { ArrayLike } from "./array-like.js";
import { where } from "./elementwise.js";
import { contract } from "./linalg.js";
import { promoteDTypes } from "./promote.js";
import { reshape, transpose } from "./shape-ops.js";

/** An operand with one label per axis. */
interface Labeled {
  x: Tracer;
  labels: string[];
}

const ELLIPSIS_LABEL = (k: number) => `…${k}`;

function parseTerm(term: string, what: string): { labels: string[]; ellipsis: number } {
  const labels: string[] = [];
  let ellipsis = -1;
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith("...", i)) {
      if (ellipsis >= 0) throw new TypeError(`${what}: more than one ellipsis in '${term}'`);
      ellipsis = labels.length;
      i += 2;
    } else if (/[A-Za-z]/.test(term[i])) labels.push(term[i]);
    else throw new TypeError(`${what}: invalid subscript character '${term[i]}' in '${term}'`);
  }
  return { labels, ellipsis };
}

/** Takes the diagonal over every label repeated within one operand. */
function diagonals(op: Labeled): Labeled {
  let { x, labels } = op;
  for (;;) {
    const q = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (q < 0) return { x, labels };
    const p = labels.indexOf(labels[q]);
    // Delta mask: true where index p equals index q (JAX's _delta), a constant of the trace.
    const mask = new Uint8Array(x.size);
    const st = stridesOf(x.shape);
    for (let i = 0; i < mask.length; i++)
      mask[i] = Math.floor(i / st[p]) % x.shape[p] === Math.floor(i / st[q]) % x.shape[q] ? 1 : 0;
    const m = fromHost(mask, new ShapedArray([...x.shape], "bool"));
    x = bind1(Primitive.ReduceSum, [where(m, x, 0)], { axes: [q] });
    labels = labels.filter((_, i) => i !== q);
  }
}

function sumOut(op: Labeled, keep: (label: string) => boolean): Labeled {
  const axes = op.labels.flatMap((l, i) => (keep(l) ? [] : [i]));
  if (!axes.length) return op;
  return {
    x: bind1(Primitive.ReduceSum, [op.x], { axes }),
    labels: op.labels.filter((l) => keep(l)),
  };
}

export function einsum(subscripts: string, ...operands: ArrayLike[]): Tracer {
  const what = "jnp.einsum";
  const spec = subscripts.replace(/\s+/g, "");
  const [lhs, rhs] = spec.includes("->") ? spec.split("->") : [spec, undefined];
  if (spec.split("->").length > 2) throw new TypeError(`${what}: more than one '->' in '${subscripts}'`);
  const terms = lhs.split(",");
  if (terms.length !== operands.length)
    throw new TypeError(
      `${what}: '${subscripts}' names ${terms.length} operands but ${operands.length} were given`,
    );
  if (operands.length === 0) throw new TypeError(`${what}: needs at least one operand`);
  const xs = promoteDTypes(...operands);
  const parsed = terms.map((t) => parseTerm(t, what));

  // Ellipsis dims align from the right, numpy-style: label them …0, …1, ... across operands.
  let width = 0;
  const ops: Labeled[] = parsed.map(({ labels, ellipsis }, k) => {
    const x = xs[k];
    const w = ellipsis >= 0 ? x.ndim - labels.length : 0;
    if (w < 0 || (ellipsis < 0 && labels.length !== x.ndim))
      throw new TypeError(
        `${what}: subscripts '${terms[k]}' do not match operand ${k} of shape ${formatShape(x.shape)} (${x.ndim} axes)`,
      );
    width = Math.max(width, w);
    return {
      x,
      labels:
        ellipsis >= 0
          ? [...labels.slice(0, ellipsis), ...Array<string>(w).fill(""), ...labels.slice(ellipsis)]
          : labels,
    };
  });
  ops.forEach((op, k) => {
    const e = parsed[k].ellipsis;
    if (e < 0) return;
    const w = op.x.ndim - parsed[k].labels.length;
    for (let j = 0; j < w; j++) op.labels[e + j] = ELLIPSIS_LABEL(width - w + j);
  });
  const ellipsisLabels = Array.from({ length: width }, (_, j) => ELLIPSIS_LABEL(j));

  // Sizes agree per label; a size-1 axis against a larger one broadcasts (it is squeezed away).
  const sizes = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  ops.forEach((op, k) =>
    op.labels.forEach((l, i) => {
      const d = op.x.shape[i];
      const seen = sizes.get(l);
      if (seen !== undefined && seen !== 1 && d !== 1 && d !== seen) {
        const j = firstSeen.get(l) as number;
        throw new TypeError(
          `${what}: label '${l.startsWith("…") ? "..." : l}' has size ${seen} in operand ${j} of shape ` +
            `${formatShape(ops[j].x.shape)} but size ${d} in operand ${k} of shape ${formatShape(op.x.shape)} ('${subscripts}')`,
        );
      }
      if (seen === undefined || seen === 1) {
        sizes.set(l, d);
        firstSeen.set(l, k);
      }
    }),
  );
  ops.forEach((op) => {
    const drop = op.labels.flatMap((l, i) => (op.x.shape[i] === 1 && sizes.get(l) !== 1 ? [i] : []));
    if (drop.length) {
      op.x = reshape(
        op.x,
        op.x.shape.filter((_, i) => !drop.includes(i)),
      );
      op.labels = op.labels.filter((_, i) => !drop.includes(i));
    }
  });

  // Output labels: explicit, or (implicit) ellipsis dims then the labels seen exactly once, sorted.
  let out: string[];
  if (rhs !== undefined) {
    const p = parseTerm(rhs, what);
    out =
      p.ellipsis >= 0
        ? [...p.labels.slice(0, p.ellipsis), ...ellipsisLabels, ...p.labels.slice(p.ellipsis)]
        : p.labels;
    if (p.ellipsis < 0 && width > 0 && ops.some((op) => op.labels.some((l) => l.startsWith("…"))))
      throw new TypeError(`${what}: output subscripts '${rhs}' must contain '...' when the inputs do`);
    if (new Set(out).size !== out.length) throw new TypeError(`${what}: repeated label in output '${rhs}'`);
    for (const l of out)
      if (!sizes.has(l) && !l.startsWith("…"))
        throw new TypeError(`${what}: output label '${l}' does not appear in the inputs ('${subscripts}')`);
  } else {
    const counts = new Map<string, number>();
    parsed.forEach((p) => p.labels.forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1)));
    out = [
      ...ellipsisLabels,
      ...[...counts]
        .filter(([, c]) => c === 1)
        .map(([l]) => l)
        .sort(),
    ];
  }
  out = out.filter((l) => sizes.has(l) || !l.startsWith("…"));

  // Per operand: diagonals, then sum out what neither the output nor another operand needs.
  let work = ops.map(diagonals);
  work = work.map((op, k) =>
    sumOut(op, (l) => out.includes(l) || work.some((o, j) => j !== k && o.labels.includes(l))),
  );
  // Pairwise contraction, left to right.
  let acc = work[0];
  for (let k = 1; k < work.length; k++) {
    const b = work[k];
    const later = work.slice(k + 1);
    const needed = (l: string) => out.includes(l) || later.some((o) => o.labels.includes(l));
    const shared = acc.labels.filter((l) => b.labels.includes(l));
    const batch = shared.filter(needed);
    const contracted = shared.filter((l) => !needed(l));
    const x = contract(
      what,
      acc.x,
      b.x,
      contracted.map((l) => acc.labels.indexOf(l)),
      contracted.map((l) => b.labels.indexOf(l)),
      batch.map((l) => acc.labels.indexOf(l)),
      batch.map((l) => b.labels.indexOf(l)),
    );
    acc = {
      x,
      labels: [
        ...batch,
        ...acc.labels.filter((l) => !shared.includes(l)),
        ...b.labels.filter((l) => !shared.includes(l)),
      ],
    };
    acc = sumOut(acc, needed);
  }
  acc = sumOut(acc, (l) => out.includes(l));
  // Output labels missing from the contracted operand (only from a squeezed size-1 axis) come back as size 1.
  const missing = out.filter((l) => !acc.labels.includes(l));
  if (missing.length) {
    acc = {
      x: reshape(acc.x, [...acc.x.shape, ...missing.map(() => 1)]),
      labels: [...acc.labels, ...missing],
    };
  }
  return transpose(
    acc.x,
    out.map((l) => acc.labels.indexOf(l)),
  );
}
