/** Notebooks run end to end through Jupyter's own executor (nbconvert) and through `vmaplab run`. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { JUPYTER_PYTHON, run } from "./helpers/jupyter.js";

interface Cell {
  cell_type: string;
  source: string;
  outputs?: { output_type: string; data?: Record<string, string | string[]>; text?: string | string[] }[];
}

function twoCellNotebook(dir: string): string {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "vmaplab", display_name: "TypeScript (vmaplab)", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [
      {
        cell_type: "code",
        id: "c1",
        metadata: {},
        execution_count: null,
        outputs: [],
        source: "const v = jnp.array([1, 2, 3]);\nconsole.log(defaultDevice().id);",
      },
      {
        cell_type: "code",
        id: "c2",
        metadata: {},
        execution_count: null,
        outputs: [],
        source: "jnp.add(v, jnp.mul(v, 10))",
      },
      {
        cell_type: "code",
        id: "c3",
        metadata: {},
        execution_count: null,
        outputs: [],
        // A type error: a warning in the cell's outputs (the kernel type-checks while the cell runs,
        // and its idle waits for the check), and the cell still runs.
        source: "const label: string = v.size;\nlabel",
      },
    ],
  };
  const file = path.join(dir, "two-cells.ipynb");
  writeFileSync(file, JSON.stringify(nb));
  return file;
}

function checkOutputs(file: string): void {
  const cells = (JSON.parse(readFileSync(file, "utf8")) as { cells: Cell[] }).cells;
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

/**
 * Executes a notebook of notebooks/ with `vmaplab run`, checks that no cell failed, and returns the
 * text/plain result of each code cell.
 */
async function executeTutorial(name: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-tutorial-"));
  const src = path.resolve(import.meta.dirname, "../../notebooks", name);
  const out = path.join(dir, name);
  const bin = path.resolve(import.meta.dirname, "../bin/vmaplab.js");
  const r = await run(process.execPath, [bin, "run", src, "-o", out], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const cells = (JSON.parse(readFileSync(out, "utf8")) as { cells: Cell[] }).cells.filter(
    (c) => c.cell_type === "code",
  );
  const text = (s: string | string[] | undefined) => (Array.isArray(s) ? s.join("") : (s ?? ""));
  const results = cells.map((c) =>
    text(c.outputs?.find((o) => o.output_type === "execute_result")?.data?.["text/plain"]),
  );
  const errors = cells.flatMap((c) => c.outputs?.filter((o) => o.output_type === "error") ?? []);
  assert.deepEqual(errors, [], `${name} has failing cells`);
  return results;
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

  it("runs notebooks/01-first-steps.ipynb without errors, on the WebGPU device", async () => {
    const results = await executeTutorial("01-first-steps.ipynb");
    assert.equal(results[0], "[ 'webgpu:0', 'cpu:0' ]");
    assert.equal(results[2], "[ [ 2, 3 ], 'float32', 2, 6 ]");
    // 2 sin(x + 1) for x = 1..6
    assert.equal(
      results[3],
      "Array([[ 1.8185948,  0.28224  , -1.513605 ],\n       [-1.9178486, -0.558831 ,  1.3139732]], dtype=float32)",
    );
    assert.match(results[5], /reduce_sum\[axes=\(1,\)\]/);
  });

  it("runs notebooks/02-vmap-basics.ipynb: vmap agrees with the loop, and its jaxpr is batched", async () => {
    const results = await executeTutorial("02-vmap-basics.ipynb");
    assert.equal(results[3], "true", "vmap equals the loop");
    assert.match(results[5], /dot_general\[dimension_numbers=\(\(\[1\], \[1\]\), \(\[\], \[\]\)\)/);
    assert.doesNotMatch(results[5], /broadcast_in_dim/);
    // The batch mean of the rows [1,0] [0,1] [1,1] [2,-1] is [1, 0.25].
    assert.match(results[7], /\[ 1\. {2}, -1\.25\]/);
  });

  it("vmaplab run writes the executed copy", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir);
    const bin = path.resolve(import.meta.dirname, "../bin/vmaplab.js");
    const r = await run(process.execPath, [bin, "run", file], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    checkOutputs(path.join(dir, "two-cells.executed.ipynb"));
  });
});
