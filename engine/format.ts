/** Printing arrays the way numpy and JAX do: `Array([[1., 2.], [3., 4.]], dtype=float32)`. */
import type { DType, TypedArray } from "./dtype.js";
import type { Shape } from "./shape.js";

const SUMMARY_THRESHOLD = 1000; // numpy's printoptions threshold
const EDGE_ITEMS = 3;
const PRECISION = 8;

/** Shortest decimal that reads back as the same float32 (numpy's repr of float32). */
export function shortestFloat32(x: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

function formatFloats(values: number[]): (x: number) => string {
  const finite = values.filter(Number.isFinite);
  const special = (x: number) => (Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf");
  const maxAbs = Math.max(0, ...finite.map(Math.abs));
  const minAbs = Math.min(Infinity, ...finite.filter((v) => v !== 0).map(Math.abs));
  const scientific =
    maxAbs >= 1e16 || (minAbs < 1e-4 && minAbs !== Infinity) || (maxAbs / minAbs > 1e3 && minAbs < 1e-4);
  if (scientific) {
    const digits = Math.min(
      PRECISION,
      Math.max(
        0,
        ...finite.map((v) => {
          const m = shortestFloat32(v).replace(/e.*$/, "").replace("-", "");
          return Math.max(0, m.replace(".", "").replace(/^0+/, "").length - 1);
        }),
      ),
    );
    return (x) =>
      Number.isFinite(x) ? x.toExponential(digits).replace(/e([+-])(\d)$/, "e$10$2") : special(x);
  }
  // Fixed notation: shortest round-trip digits, at most 8 after the point, padded to a common width.
  const frac = (v: number) => {
    const s = shortestFloat32(v);
    const dot = s.indexOf(".");
    return dot < 0 ? 0 : Math.min(PRECISION, s.length - dot - 1);
  };
  const fracDigits = Math.max(0, ...finite.map(frac));
  return (x) => {
    if (!Number.isFinite(x)) return special(x);
    let s = shortestFloat32(x);
    if (s.includes("e")) s = x.toFixed(PRECISION);
    if (!s.includes(".")) s += ".";
    if (s.length - s.indexOf(".") - 1 > PRECISION) s = x.toFixed(PRECISION).replace(/0+$/, "");
    return s + " ".repeat(Math.max(0, fracDigits - (s.length - s.indexOf(".") - 1)));
  };
}

function elementFormatter(dtype: DType, values: number[]): (x: number) => string {
  if (dtype === "bool") return (x) => (x ? "True" : "False");
  if (dtype === "float32" || dtype === "float16") return formatFloats(values);
  return (x) => String(x);
}

/** The body of an array's repr (the part inside `Array(...)`), with `indent` spaces on continued lines. */
export function formatArrayBody(
  values: TypedArray | number[],
  shape: Shape,
  dtype: DType,
  indent: number,
): string {
  const size = values.length;
  const summarise = size > SUMMARY_THRESHOLD;
  const shown: number[] = [];
  // Collect the values that will be printed, so the width is computed over them only.
  const visit = (offset: number, dim: number, stride: number) => {
    if (dim === shape.length) {
      shown.push(Number(values[offset]));
      return;
    }
    const n = shape[dim];
    const inner = stride / n;
    for (const k of visibleIndices(n, summarise)) if (k >= 0) visit(offset + k * inner, dim + 1, inner);
  };
  visit(0, 0, size);
  const fmt = elementFormatter(dtype, shown);
  const width = Math.max(0, ...shown.map((v) => fmt(v).length));
  const cell = (v: number) => fmt(v).padStart(width);
  if (shape.length === 0) return fmt(Number(values[0])).trim();

  const render = (offset: number, dim: number, stride: number, pad: number): string => {
    const n = shape[dim];
    const inner = stride / n;
    const parts: string[] = [];
    for (const k of visibleIndices(n, summarise)) {
      if (k < 0) parts.push("...");
      else if (dim === shape.length - 1) parts.push(cell(Number(values[offset + k])));
      else parts.push(render(offset + k * inner, dim + 1, inner, pad + 1));
    }
    if (dim === shape.length - 1) return `[${wrapLine(parts, pad + 1)}]`;
    const sep = "," + "\n".repeat(shape.length - dim - 1) + " ".repeat(pad + 1);
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, size, indent);
}

/** numpy wraps a long innermost row at 75 columns. */
function wrapLine(parts: string[], pad: number): string {
  const lines: string[] = [];
  let line = "";
  for (const p of parts) {
    const piece = line === "" ? p : `${line}, ${p}`;
    if (piece.length + pad > 75 && line !== "") {
      lines.push(line + ",");
      line = p;
    } else line = piece;
  }
  lines.push(line);
  return lines.join("\n" + " ".repeat(pad));
}

function visibleIndices(n: number, summarise: boolean): number[] {
  if (!summarise || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  return [
    ...Array.from({ length: EDGE_ITEMS }, (_, i) => i),
    -1,
    ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i),
  ];
}

/** `Array([1., 2.], dtype=float32)`, JAX's repr. */
export function formatArray(
  values: TypedArray | number[],
  shape: Shape,
  dtype: DType,
  weakType = false,
): string {
  const body = formatArrayBody(values, shape, dtype, "Array(".length);
  const empty =
    values.length === 0 && shape.length > 0
      ? `, shape=(${shape.join(", ")}${shape.length === 1 ? "," : ""})`
      : "";
  return `Array(${body}${empty}, dtype=${dtype}${weakType ? ", weak_type=True" : ""})`;
}
