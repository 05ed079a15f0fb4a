/**
 * Jaxprs rendered for the notebook: the same text as `Jaxpr.toString()` (JAX's format), built from
 * segments that also give a readable HTML rendering (primitives, variables, literals and types
 * highlighted, the type of every operand in a tooltip, nested jaxprs collapsible in <details>), and
 * optional per-equation marks (used by `%jaxpr --compare` to show what batching changed).
 * The HTML is self-contained: inline styles only, no scripts, no classes that need a stylesheet.
 */
import {
  ClosedJaxpr,
  Jaxpr,
  JaxprEqn,
  Literal,
  Var,
  ppParamsRules,
  type Atom,
} from "../engine/core/jaxpr.js";
import { DTYPE_SHORT_NAME, isDType } from "../engine/dtype.js";
import { shortestFloat32 } from "../engine/format.js";

type Kind = "prim" | "var" | "lit" | "type" | "key" | "punct" | "unbatched";

interface TextSeg {
  text: string;
  kind?: Kind;
  /** Tooltip in HTML (an operand's type). */
  title?: string;
}
interface NestedSeg {
  nested: Block;
}
type Seg = TextSeg | NestedSeg;

interface Line {
  indent: number;
  segs: Seg[];
  eqn?: JaxprEqn;
}

export interface Block {
  /** The indentation of the block's first line is the caller's (a nested jaxpr starts inline). */
  indent: number;
  lines: Line[];
  /** The printed name of every variable (nested jaxprs' included). */
  names: Map<Var, string>;
}

/** Per-equation annotations: a one-character mark and operands to flag as unbatched. */
export interface EqnMarks {
  mark(eqn: JaxprEqn): string;
  unbatched(eqn: JaxprEqn, input: Atom): boolean;
  lineStyle?(eqn: JaxprEqn): string | undefined;
}

/** JAX's variable names: a, b, ..., z, ba, bb, ... (as engine/core/jaxpr.ts). */
function varName(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

export function formatLiteral(l: Literal): string {
  let v: string;
  if (typeof l.value === "boolean") v = l.value ? "True" : "False";
  else if (l.aval.dtype === "float32" || l.aval.dtype === "float16") {
    const digits = shortestFloat32(Math.fround(l.value));
    v = Number.isFinite(l.value)
      ? /[.e]/.test(digits)
        ? digits
        : `${digits}.0`
      : Number.isNaN(l.value)
        ? "nan"
        : l.value > 0
          ? "inf"
          : "-inf";
  } else v = String(l.value);
  return `${v}:${DTYPE_SHORT_NAME[l.aval.dtype]}[]`;
}

/** Builds the segment tree of a jaxpr, mirroring the engine's printer step by step. */
class Builder {
  readonly allNames = new Map<Var, string>();
  /** Names are numbered across nested jaxprs, in print order, as the engine's printer (and JAX's) does. */
  private counter = 0;
  constructor(private readonly marks?: EqnMarks) {}

  block(jaxpr: Jaxpr, indent: number): Block {
    const names = new Map<Var, string>();
    const name = (v: Var) => {
      let n = names.get(v);
      if (n === undefined) {
        n = varName(this.counter++);
        names.set(v, n);
        this.allNames.set(v, n);
      }
      return n;
    };
    const binder = (v: Var): Seg[] => [
      { text: name(v), kind: "var" },
      { text: ":", kind: "punct" },
      { text: v.aval.strShort(), kind: "type" },
    ];
    const joinSegs = (parts: Seg[][], sep: string): Seg[] =>
      parts.flatMap((p, i) => (i === 0 ? p : [{ text: sep } as Seg, ...p]));
    const head: Seg[] = [
      { text: "{ ", kind: "punct" },
      { text: "lambda ", kind: "prim" },
      ...joinSegs(jaxpr.constVars.map(binder), " "),
      { text: "; ", kind: "punct" },
      ...joinSegs(jaxpr.inBinders.map(binder), " "),
      { text: ". ", kind: "punct" },
      { text: "let", kind: "prim" },
    ];
    const lines: Line[] = [];
    for (const eqn of jaxpr.eqns) {
      const outs: Seg[] = eqn.outBinders.length
        ? joinSegs(eqn.outBinders.map(binder), " ")
        : [{ text: "_", kind: "var" }];
      const shown = ppParamsRules.get(eqn.primitive)?.(eqn.params) ?? eqn.params;
      const params = Object.entries(shown)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]): Seg[] => [
          { text: k, kind: "key" },
          { text: "=" },
          ...this.param(v, indent + 4, names),
        ]);
      const p: Seg[] = params.length ? [{ text: "[" }, ...joinSegs(params, " "), { text: "]" }] : [];
      const inputs = eqn.inputs.map((a): Seg[] => {
        const flagged = this.marks?.unbatched(eqn, a) ?? false;
        if (a instanceof Literal)
          return [{ text: formatLiteral(a), kind: flagged ? "unbatched" : "lit", title: "literal" }];
        return [
          {
            text: name(a),
            kind: flagged ? "unbatched" : "var",
            title: `${a.aval.strShort()}${flagged ? " (unbatched)" : ""}`,
          },
        ];
      });
      const segs: Seg[] = [
        ...outs,
        { text: " = " },
        { text: eqn.primitive, kind: "prim" },
        ...p,
        ...(inputs.length ? [{ text: " " }, ...joinSegs(inputs, " ")] : []),
      ];
      lines.push({ indent: indent + 4, segs, eqn });
    }
    const outs = jaxpr.outs.map((a): Seg[] =>
      a instanceof Literal
        ? [{ text: formatLiteral(a), kind: "lit" }]
        : [{ text: name(a), kind: "var", title: a.aval.strShort() }],
    );
    const tail: Seg[] = [
      { text: "in ", kind: "prim" },
      { text: "(" },
      ...joinSegs(outs, ", "),
      { text: `${outs.length === 1 ? "," : ""})` },
      { text: " }", kind: "punct" },
    ];
    if (!lines.length)
      return { indent, lines: [{ indent, segs: [...head, { text: "  " }, ...tail] }], names: this.allNames };
    return {
      indent,
      lines: [{ indent, segs: head }, ...lines, { indent: indent + 2, segs: tail }],
      names: this.allNames,
    };
  }

  /** A param value in Python's repr style (as the engine's formatParam). */
  private param(v: unknown, indent: number, names: Map<Var, string>): Seg[] {
    if (v === null || v === undefined) return [{ text: "None", kind: "lit" }];
    if (typeof v === "boolean") return [{ text: v ? "True" : "False", kind: "lit" }];
    if (typeof v === "number" || isDType(v)) return [{ text: String(v), kind: "lit" }];
    if (typeof v === "string") return [{ text: v }];
    if (Array.isArray(v)) {
      const items = v.map((x) => this.param(x, indent, names));
      return [
        { text: "(" },
        ...items.flatMap((p, i) => (i === 0 ? p : [{ text: ", " } as Seg, ...p])),
        { text: `${items.length === 1 ? "," : ""})` },
      ];
    }
    if (v instanceof ClosedJaxpr) return [{ nested: this.block(v.jaxpr, indent + 2) }];
    if (v instanceof Jaxpr) return [{ nested: this.block(v, indent + 2) }];
    return [{ text: String(v) }];
  }
}

export function buildBlock(jaxpr: Jaxpr | ClosedJaxpr, marks?: EqnMarks): Block {
  return new Builder(marks).block(jaxpr instanceof ClosedJaxpr ? jaxpr.jaxpr : jaxpr, 0);
}

/**
 * The block as text. With marks, every line gets a two-character margin (the mark of its
 * equation), so stripping the margin gives back JAX's text exactly.
 */
export function blockText(block: Block, marks?: EqnMarks, first = true): string {
  return block.lines
    .map((line, i) => {
      const margin = marks ? `${line.eqn ? marks.mark(line.eqn) : " "} ` : "";
      const body = line.segs
        .map((s) => ("nested" in s ? blockText(s.nested, marks, false) : s.text))
        .join("");
      const lead = i === 0 && !first ? "" : margin + " ".repeat(line.indent);
      return (lead + body).trimEnd();
    })
    .join("\n");
}

/** Plain text of a jaxpr, equal to `jaxpr.toString()`. */
export function jaxprText(jaxpr: Jaxpr | ClosedJaxpr): string {
  return blockText(buildBlock(jaxpr));
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const STYLE: Record<Kind, string> = {
  prim: "color:#0550ae;font-weight:600",
  var: "color:#953800",
  lit: "color:#116329",
  type: "color:#6e7781",
  key: "color:#8250df",
  punct: "color:#57606a",
  unbatched: "color:#953800;background:#eaeef2;border-bottom:1px dashed #57606a",
};

function blockHtml(block: Block, marks: EqnMarks | undefined, base: number): string {
  const rows = block.lines.map((line, i) => {
    const body = line.segs
      .map((s) => {
        if ("nested" in s) {
          const n = s.nested;
          const count = n.lines.filter((l) => l.eqn).length;
          return `<details open style="display:inline-block;vertical-align:top;margin:0"><summary style="cursor:pointer;color:#57606a;list-style-position:inside">jaxpr (${count} equation${count === 1 ? "" : "s"})</summary>${blockHtml(n, marks, n.indent)}</details>`;
        }
        const title = s.title ? ` title="${escapeHtml(s.title)}"` : "";
        const text = escapeHtml(s.text);
        return s.kind
          ? `<span style="${STYLE[s.kind]}"${title}>${text}</span>`
          : title
            ? `<span${title}>${text}</span>`
            : text;
      })
      .join("");
    const mark = marks
      ? `<span style="display:inline-block;width:1.5em;color:#cf222e;font-weight:600">${escapeHtml(line.eqn ? marks.mark(line.eqn) : "")}</span>`
      : "";
    const lineStyle = line.eqn ? marks?.lineStyle?.(line.eqn) : undefined;
    const indent = " ".repeat(Math.max(0, i === 0 ? 0 : line.indent - base));
    return `<div style="white-space:pre${lineStyle ? ";" + lineStyle : ""}">${mark}${indent}${body}</div>`;
  });
  return rows.join("");
}

/** A readable HTML rendering of a jaxpr (optionally marked). */
export function jaxprHtml(jaxpr: Jaxpr | ClosedJaxpr, marks?: EqnMarks, title?: string): string {
  const caption = title
    ? `<div style="font-family:sans-serif;font-weight:600;margin:0 0 4px 0">${escapeHtml(title)}</div>`
    : "";
  return `<div style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.45;overflow-x:auto">${caption}${blockHtml(buildBlock(jaxpr, marks), marks, 0)}</div>`;
}
