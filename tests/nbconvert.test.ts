/**
 * Notebooks run end to end through Jupyter's own executor (nbconvert) and through `vmaplab run`
 * (progress, summary, failures, HTML export). The tutorials themselves: tests/notebooks.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

const bin = path.resolve(import.meta.dirname, "../bin/vmaplab.js");
const TWO_CELLS = [
  "const v = jnp.array([1, 2, 3]);\nconsole.log(defaultDevice().id);",
  "jnp.add(v, jnp.mul(v, 10))",
  // A type error: a warning in the cell's outputs (the kernel type-checks while the cell runs, and
  // its idle waits for the check), and the cell still runs.
  "const label: string = v.size;\nlabel",
];

interface Cell {
  cell_type: string;
  source: string;
  outputs?: { output_type: string; data?: Record<string, string | string[]>; text?: string | string[] }[];
}

function twoCellNotebook(dir: string, sources = TWO_CELLS): string {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "vmaplab", display_name: "TypeScript (vmaplab)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [
      { cell_type: "markdown", id: "m0", metadata: {}, source: "# Two cells" },
      ...sources.map((source, i) => ({
        cell_type: "code",
        id: `c${i + 1}`,
        metadata: {},
        execution_count: null,
        outputs: [],
        source,
      })),
    ],
  };
  const file = path.join(dir, "two-cells.ipynb");
  writeFileSync(file, JSON.stringify(nb));
  return file;
}

function checkOutputs(file: string): void {
  const cells = (JSON.parse(readFileSync(file, "utf8")) as { cells: Cell[] }).cells.slice(1);
  // nbformat may store multi-line strings as lists of lines.
  const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : s);
  assert.deepEqual(
    cells[0].outputs?.map((o) => text(o.text)),
    ["webgpu:0\n"],
  );
  assert.equal(cells[1].outputs?.[0].output_type, "execute_result");
  assert.equal(text(cells[1].outputs?.[0].data?.["text/plain"]), "Array([11., 22., 33.], dtype=float32)");
  const warning = cells[2].outputs?.find((o) => o.output_type === "stream");
  assert.match(
    String(text(warning?.text)),
    /^TypeScript: line 1, column 7: Type 'number' is not assignable to type 'string'/,
  );
  const result = cells[2].outputs?.find((o) => o.output_type === "execute_result");
  assert.equal(text(result?.data?.["text/plain"]), "3");
}

describe("executing notebooks", () => {
  it("jupyter nbconvert --to notebook --execute runs a two-cell notebook", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-nb-"));
    const file = twoCellNotebook(dir);
    const r = await run(
      JUPYTER_PYTHON,
      ["-m", "nbconvert", "--to", "notebook", "--execute", "--output", "out.ipynb", file],
      { timeoutMs: 240_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    checkOutputs(path.join(dir, "out.ipynb"));
  });

  it("vmaplab run writes the executed copy, with a progress line per cell and a summary", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir);
    const r = await run(process.execPath, [bin, "run", file], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    checkOutputs(path.join(dir, "two-cells.executed.ipynb"));
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^vmaplab run: .*two-cells\.ipynb: 3 code cells, kernel 'vmaplab'$/);
    assert.match(lines[1], /^kernel started in \d+\.\d s$/);
    assert.match(lines[2], /^\[1\/3\] ok \d+\.\d s {2}const v = jnp\.array\(\[1, 2, 3\]\);$/);
    assert.match(lines[3], /^\[2\/3\] ok \d+\.\d s {2}jnp\.add\(v, jnp\.mul\(v, 10\)\)$/);
    assert.match(lines[4], /^\[3\/3\] ok \d+\.\d s {2}const label: string = v\.size;$/);
    assert.match(lines[5], /^vmaplab run: all 3 cells ok in \d+\.\d s$/);
    assert.match(lines[6], /^vmaplab run: wrote the executed notebook to .*two-cells\.executed\.ipynb$/);
    assert.equal(lines.length, 7, r.stdout);
  });

  it("vmaplab run --html exports the executed notebook as HTML (with --output too)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir);
    const html = path.join(dir, "page.html");
    const out = path.join(dir, "out.ipynb");
    const r = await run(process.execPath, [bin, "run", file, "--html", html, "--output", out], {
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 0, r.stderr);
    checkOutputs(out);
    assert.match(r.stdout, /wrote the executed HTML to .*page\.html/);
    const page = readFileSync(html, "utf8");
    assert.match(page, /^<!DOCTYPE html>/i);
    assert.match(page, /<h1[^>]*>Two cells/);
    // The result cell's HTML table (the array's text/html) and the stream output are in the page.
    assert.match(page, /<table class="vmaplab-array"><caption>Array float32\[3\] on webgpu:0<\/caption>/);
    assert.match(page, /<td>11<\/td><td>22<\/td><td>33<\/td>/);
    assert.match(page, /webgpu:0/);
    assert.equal(
      existsSync(path.join(dir, "two-cells.executed.ipynb")),
      false,
      "no default copy with --output",
    );
  });

  it("vmaplab run exits non-zero on a failing cell, naming the cell and its error", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir, ["1 + 1", "jnp.reshape(jnp.zeros([2]), [3])", "'never runs'"]);
    const out = path.join(dir, "failed.ipynb");
    const r = await run(process.execPath, [bin, "run", file, "--output", out, "--timeout", "120"], {
      timeoutMs: 240_000,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^\[1\/3\] ok /m);
    assert.match(r.stdout, /^\[2\/3\] FAILED \d+\.\d s {2}jnp\.reshape/m);
    assert.doesNotMatch(r.stdout, /\[3\/3\]/);
    assert.match(
      r.stdout,
      /^vmaplab run: cell 2 of 3 failed: TypeError: jnp\.reshape: cannot reshape array of shape \(2,\)/m,
    );
    assert.match(r.stdout, /^vmaplab run: 1 of 3 cells ok before the failure/m);
    // The notebook is still written, with the error in the failing cell's outputs.
    const cells = (JSON.parse(readFileSync(out, "utf8")) as { cells: Cell[] }).cells;
    assert.equal(cells[2].outputs?.[0].output_type, "error");
    assert.deepEqual(cells[3].outputs, []);
  });

  it("vmaplab run reports a cell that exceeds --timeout, and bad arguments", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir, ["await new Promise((r) => setTimeout(r, 60_000))"]);
    const r = await run(process.execPath, [bin, "run", file, "--timeout", "2"], { timeoutMs: 240_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^\[1\/1\] TIMEOUT after 2\.0 s/m);
    assert.match(r.stdout, /cell 1 of 1 did not finish within 2\.0 s \(--timeout\)/);
    const missing = await run(process.execPath, [bin, "run", path.join(dir, "nope.ipynb")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such notebook: .*nope\.ipynb/);
    const badTimeout = await run(process.execPath, [bin, "run", file, "--timeout", "soon"]);
    assert.equal(badTimeout.code, 2);
    assert.match(badTimeout.stderr, /--timeout needs a positive number of seconds, not 'soon'/);
  });
});
