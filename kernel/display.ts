/**
 * Rich display: values become Jupyter MIME bundles. Engine arrays are read back from their device and
 * shown as JAX prints them, plus an HTML table; objects may describe themselves through
 * `Symbol.for("Jupyter.display")` (Deno's and tslab's protocol), `_repr_mimebundle_()` (IPython's) or
 * `reprMimebundle()`.
 */
import { inspect } from "node:util";
import { ConcreteArray, tree } from "../engine/index.js";
import { chartBundle, isVegaLiteSpec } from "./charts.js";

export type MimeBundle = Record<string, unknown>;

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");
const MAX_TABLE_ELEMENTS = 400;

type SelfDisplaying = Record<string | symbol, unknown>;

async function selfDescribed(value: unknown): Promise<MimeBundle | undefined> {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as SelfDisplaying;
  for (const key of [JUPYTER_DISPLAY, "_repr_mimebundle_", "reprMimebundle"] as const) {
    const fn = v[key];
    if (typeof fn === "function") {
      const bundle = (await (fn as () => unknown).call(value)) as MimeBundle | undefined;
      if (bundle && typeof bundle === "object") return bundle;
    }
  }
  return undefined;
}

/** Reads back the values of every concrete array reachable in a (pytree-shaped) value. */
async function readArrays(value: unknown): Promise<void> {
  let leaves: unknown[];
  try {
    [leaves] = tree.flatten<unknown>(value);
  } catch {
    return; // not a pytree: inspect will show what it can
  }
  await Promise.all(
    leaves
      .filter((l): l is ConcreteArray => l instanceof ConcreteArray && !l.isDisposed)
      .map((a) => a.data()),
  );
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An HTML table for 1-D and 2-D arrays of modest size (the text form covers the rest). */
async function arrayHtml(a: ConcreteArray): Promise<string | undefined> {
  if (a.ndim < 1 || a.ndim > 2 || a.size > MAX_TABLE_ELEMENTS || a.size === 0) return undefined;
  const values = await a.data();
  const rows = a.ndim === 1 ? 1 : a.shape[0];
  const cols = a.shape[a.ndim - 1];
  const fmt = (v: number) =>
    a.dtype === "bool" ? (v ? "True" : "False") : a.dtype === "float32" ? String(Math.fround(v)) : String(v);
  const body: string[] = [];
  for (let r = 0; r < rows; r++) {
    const cells = Array.from({ length: cols }, (_, c) => `<td>${fmt(values[r * cols + c])}</td>`).join("");
    body.push(`<tr>${a.ndim === 2 ? `<th>${r}</th>` : ""}${cells}</tr>`);
  }
  const header = `<tr>${a.ndim === 2 ? "<th></th>" : ""}${Array.from({ length: cols }, (_, c) => `<th>${c}</th>`).join("")}</tr>`;
  const caption = `Array ${escapeHtml(a.dtype)}[${a.shape.join(", ")}] on ${escapeHtml(a.device.id)}`;
  return `<table class="vmaplab-array"><caption>${caption}</caption><thead>${header}</thead><tbody>${body.join("")}</tbody></table>`;
}

export async function displayData(value: unknown): Promise<MimeBundle> {
  const own = await selfDescribed(value);
  if (own) return own;
  // A Vega-Lite spec (its $schema says so) is shown as the chart.
  if (isVegaLiteSpec(value)) return chartBundle(value);
  if (value instanceof ConcreteArray) {
    const bundle: MimeBundle = { "text/plain": await value.toStringAsync() };
    const html = await arrayHtml(value);
    if (html) bundle["text/html"] = html;
    return bundle;
  }
  await readArrays(value);
  return { "text/plain": inspect(value, { depth: 4, colors: false, maxArrayLength: 100 }) };
}

/** A MIME bundle given by the user as is (`display(bundle, {raw: true})`). */
export function rawBundle(value: unknown): MimeBundle {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      'display(..., {raw: true}) needs an object mapping MIME types to data, e.g. {"text/html": "<b>x</b>"}',
    );
  }
  return value as MimeBundle;
}
