/**
 * The magics and charts of issue 8 through the real kernel protocol (tests/python/kernel_magics.py
 * drives the kernel with Debian's jupyter_client, parses the charts' SVGs and validates their
 * Vega-Lite specs against vega-lite's JSON schema; we assert on what it observed).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

interface Out {
  msg_type: string;
  content: Record<string, unknown>;
}
interface Chart {
  keys: string[];
  svg_root: string;
  schema_errors?: string[];
}
interface Observed {
  reply: (Record<string, unknown> & { status: string }) | null;
  iopub: Out[];
  charts?: Chart[];
}
type Transcript = Record<string, unknown>;

const VEGA_LITE = "application/vnd.vegalite.v5+json";
const SVG_ROOT = "{http://www.w3.org/2000/svg}svg";
const script = path.resolve(import.meta.dirname, "../../tests/python/kernel_magics.py");
let t: Transcript;
const o = (k: string) => t[k] as Observed;
const outputs = (k: string, type: string) =>
  o(k)
    .iopub.filter((m) => m.msg_type === type)
    .map((m) => m.content);
const bundles = (k: string) =>
  o(k)
    .iopub.filter((m) => m.msg_type === "display_data" || m.msg_type === "execute_result")
    .map((m) => m.content.data as Record<string, unknown>);
const resultText = (k: string) =>
  (outputs(k, "execute_result")[0]?.data as Record<string, string> | undefined)?.["text/plain"];
const stdout = (k: string) =>
  outputs(k, "stream")
    .filter((c) => c.name === "stdout")
    .map((c) => String(c.text))
    .join("");
const reply = (k: string) => o(k).reply as Record<string, unknown>;

function assertUsageError(k: string, pattern: RegExp): void {
  assert.equal(reply(k).status, "error", k);
  assert.equal(reply(k).ename, "UsageError", `${k}: ${String(reply(k).evalue)}`);
  assert.match(String(reply(k).evalue), pattern);
}

function assertCharts(k: string, count: number): void {
  const charts = o(k).charts ?? [];
  assert.equal(charts.length, count, `${k}: ${count} chart(s)`);
  assert.equal(t.schema_unavailable, undefined);
  for (const c of charts) {
    assert.deepEqual(c.keys, [VEGA_LITE, "image/svg+xml", "text/plain"], "no text/html in a chart bundle");
    assert.equal(c.svg_root, SVG_ROOT);
    assert.deepEqual(c.schema_errors, [], "the spec is valid Vega-Lite 5");
  }
}

describe("magics and charts via jupyter_client", () => {
  before(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-magics-"));
    const r = await run(JUPYTER_PYTHON, [script, path.join(dir, "kernel.log")], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `magics driver failed:\n${r.stderr}`);
    t = JSON.parse(r.stdout) as Transcript;
    assert.equal(t.exception, undefined, String(t.exception));
    assert.equal(reply("setup").status, "ok");
  });

  it("lists the new magics with one-line help, and shows help for %name?", () => {
    const ls = stdout("lsmagic");
    assert.match(ls, /Available line magics:\n.*%vmapbench {2}%env {2}%who {2}%reset/);
    assert.match(ls, /Available cell magics:\n.*%%typecheck/);
    for (const name of ["vmapbench", "env", "who", "reset"])
      assert.match(ls, new RegExp(`^%${name}.*: `, "m"));
    assert.match(stdout("help"), /^%vmapbench f xs \[--batch 1,8,64,512,4096\] \[--hand g\]/);
  });

  it("%jaxpr shows JAX's text exactly, and an HTML rendering beside it", () => {
    const expected: Record<string, string> = {
      jaxpr_f: "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n    c:f32[3] = mul b 2.0:f32[]\n  in (c,) }",
      jaxpr_g:
        "{ lambda ; a:f32[3] b:f32[3]. let\n    c:f32[] = dot_general[dimension_numbers=(([0], [0]), ([], [])) preferred_element_type=float32] a b\n  in (c,) }",
      jaxpr_vmap:
        "{ lambda ; a:f32[4,3]. let\n    b:f32[4,3] = sin a\n    c:f32[4,3] = mul b 2.0:f32[]\n  in (c,) }",
    };
    for (const [k, text] of Object.entries(expected)) {
      const [data] = bundles(k);
      assert.deepEqual(Object.keys(data).sort(), ["text/html", "text/plain"]);
      assert.equal(data["text/plain"], text, k);
      const html = String(data["text/html"]);
      assert.doesNotMatch(html, /<script/i);
      // Highlighted primitives and types, every line of the jaxpr present.
      assert.match(html, /<span style="color:#0550ae;font-weight:600">sin<\/span>|dot_general<\/span>/);
      assert.match(html, /f32\[(3|4,3)\]<\/span>/);
      const visible = html
        .replace(/<[^>]+>/g, "")
        .replace(/&gt;/g, ">")
        .replace(/&lt;/g, "<");
      for (const line of text.split("\n")) assert.ok(visible.includes(line.trim()), `${k}: ${line}`);
    }
  });

  it("%jaxpr --compare shows one example's jaxpr beside the batched one, with batch marks", () => {
    const [data] = bundles("compare");
    const text = String(data["text/plain"]);
    assert.ok(
      text.includes(
        "{ lambda ; a:f32[3] b:f32[3]. let\n    c:f32[] = dot_general[dimension_numbers=(([0], [0]), ([], [])) preferred_element_type=float32] a b\n  in (c,) }",
      ),
      text,
    );
    assert.match(text, /args\[0\]: axis 0 of \[4,3\] removed, one example is \[3\]/);
    assert.ok(
      text.includes(
        "  { lambda ; a:f32[4,3] b:f32[3]. let\nB     c:f32[4] = dot_general[dimension_numbers=(([1], [0]), ([], [])) preferred_element_type=float32] a b\n    in (c,) }",
      ),
      text,
    );
    assert.match(text, /Operands that stayed unbatched.*\n {2}c = dot_general a b: b$/);
    const html = String(data["text/html"]);
    assert.match(html, /title="f32\[3\] \(unbatched\)">b<\/span>/);
    assert.match(html, />B<\/span>/);
    // Through a wrapper (as jit(vmap(f))): the vmapped function is found inside.
    const wrapped = String(bundles("compare_wrapped")[0]["text/plain"]);
    assert.match(wrapped, /^f on one example/);
    assert.match(wrapped, /\nB {5}b:f32\[4,3\] = sin a\nB {5}c:f32\[4,3\] = mul b 2\.0:f32\[\]\n/);
    assertUsageError("compare_not_vmap", /--compare needs a call of a vmapped function/);
    assertUsageError("jaxpr_bad_flag", /unknown option --bogus/);
  });

  it("%vmapbench shows a table of every batch size and a Vega-Lite throughput chart", () => {
    assert.equal(reply("bench").status, "ok");
    const [table, chart] = bundles("bench");
    const text = String(table["text/plain"]);
    assert.match(text, /^%vmapbench f on cpu:0: examples of shape \[3\] float32\n/);
    assert.match(
      text,
      /batch +loop \(ex\/s\) +vmap\(f\) \(ex\/s\) +jit\(vmap\(f\)\) \(ex\/s\) +hb \(ex\/s\)/,
    );
    for (const b of [1, 2, 8]) assert.match(text, new RegExp(`^ +${b}  .*×$`, "m"));
    assert.match(String(table["text/html"]), /<table/);
    assert.deepEqual(Object.keys(chart).sort(), [VEGA_LITE, "image/svg+xml", "text/plain"]);
    const spec = chart[VEGA_LITE] as { layer: { data: { values: Record<string, unknown>[] } }[] };
    const points = spec.layer[0].data.values;
    assert.deepEqual([...new Set(points.map((p) => p.batch))], [1, 2, 8]);
    assert.ok(points.every((p) => typeof p.throughput === "number" && (p.throughput as number) > 0));
    const variants = new Set(points.map((p) => p.variant));
    for (const v of ["loop", "vmap(f)", "jit(vmap(f))", "hb"]) assert.ok(variants.has(v), v);
    assert.match(String(spec.layer[1].data.values[0].label), /× the loop$/);
    assertCharts("bench", 1);
  });

  it("%vmapbench rejects bad arguments with a UsageError", () => {
    assertUsageError("bench_no_xs", /needs a function and a batch of examples/);
    assertUsageError("bench_bad_batch", /--batch needs positive integers .* got '0,2'/);
    assertUsageError("bench_bad_flag", /unknown option '--frobnicate'/);
    assertUsageError("bench_not_fn", /count is not a function/);
    assertUsageError("bench_bad_device", /--device takes cpu or webgpu, got 'tpu'/);
  });

  it("plot helpers and display(spec) give chart bundles: Vega-Lite, SVG and text, no HTML", () => {
    assert.equal(reply("plot_line").status, "ok");
    const [line] = bundles("plot_line");
    assert.equal(line["text/plain"], "<Vega-Lite chart: line 'squares', 4 data points>");
    const spec = line[VEGA_LITE] as { data: { values: unknown[] }; encoding: { y: { scale: unknown } } };
    assert.deepEqual(spec.data.values, [
      { x: 0, y: 1 },
      { x: 1, y: 4 },
      { x: 2, y: 9 },
      { x: 3, y: 16 },
    ]);
    assert.deepEqual(spec.encoding.y.scale, { type: "log" });
    assertCharts("plot_line", 1);
    assertCharts("plot_others", 4);
    const [scatter, hist, heat] = outputs("plot_others", "display_data").map(
      (c) => (c.data as Record<string, unknown>)[VEGA_LITE] as { data: { values: unknown[] } },
    );
    assert.deepEqual(scatter.data.values, [
      { x: 1, y: 3 },
      { x: 2, y: 1 },
      { x: 3, y: 2 },
    ]);
    assert.equal(hist.data.values.length, 10);
    assert.deepEqual(heat.data.values[5], { row: 1, col: 2, value: 5 });
    assert.deepEqual(outputs("plot_others", "execute_result"), [], "a trailing `;` after a URL still counts");
    assert.equal(reply("plot_bad").ename, "TypeError");
    assert.match(String(reply("plot_bad").evalue), /plot\.line: xs has 2 values but ys has 3/);
  });

  it("%env lists, gets and sets variables as IPython's", () => {
    assert.equal(stdout("env_set"), "env: VMAPLAB_MAGIC_TEST=hello world\n");
    assert.equal(resultText("env_get"), "'hello world'");
    assert.equal(resultText("env_process"), "'hello world'");
    assert.match(String(resultText("env_list")), /VMAPLAB_MAGIC_TEST: 'hello world'/);
    assertUsageError("env_missing", /^Environment does not have key: VMAPLAB_NOT_SET_ANYWHERE$/);
  });

  it("%who lists the user's names with array shapes and dtypes", () => {
    const who = stdout("who");
    assert.match(who, /^Variable {3}Type {7}Data\/Info\n-+\n/);
    assert.match(who, /^xs {9}Array {6}float32\[4, 3\] on (cpu|webgpu):0$/m);
    assert.match(who, /^f {10}function {3}f\(1 argument\)$/m);
    assert.match(who, /^count {6}number {5}3$/m);
    assert.doesNotMatch(who, /^jnp /m, "the prelude is not the user's");
    const typed = stdout("who_typed").split("\n").slice(2).filter(Boolean);
    assert.deepEqual(
      typed.map((l) => l.split(/\s+/)[0]),
      ["xs", "w"],
    );
  });

  it("%reset -f clears the user's names and keeps the engine's", () => {
    assertUsageError("reset_bad", /unknown option -x/);
    assertUsageError("reset_unconfirmed", /use %reset -f/);
    assert.equal(reply("reset").status, "ok");
    // `tree` had been shadowed by a cell: the prelude's value comes back.
    assert.equal(resultText("after_reset"), "[ 'undefined', 'undefined', 'object', [ 2 ] ]");
    assert.equal(stdout("who_after_reset"), "Interactive namespace is empty.\n");
    assert.equal(resultText("redeclare_after_reset"), "[ 2 ]");
  });

  it("%%typecheck checks a cell without running it", () => {
    assert.equal(reply("typecheck_bad").status, "error");
    assert.deepEqual(reply("typecheck_bad").traceback, [
      "TypeScript: line 2, column 7: Type 'string' is not assignable to type 'number'. (TS2322)",
    ]);
    assert.equal(stdout("typecheck_bad"), "", "the cell did not run");
    assert.equal(reply("typecheck_ok").status, "ok");
    assert.equal(stdout("typecheck_ok"), "No type errors.\n");
    assertUsageError("typecheck_args", /takes no arguments, got 'now'/);
  });

  it("stays alive after all the bad arguments", () => {
    assert.equal(resultText("alive"), "42");
  });
});
