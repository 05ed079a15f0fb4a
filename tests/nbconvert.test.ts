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

  it("vmaplab run writes the executed copy", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vmaplab-run-"));
    const file = twoCellNotebook(dir);
    const bin = path.resolve(import.meta.dirname, "../bin/vmaplab.js");
    const r = await run(process.execPath, [bin, "run", file], { timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    checkOutputs(path.join(dir, "two-cells.executed.ipynb"));
  });
});
