/** How cells become persistent-scope JavaScript: checked by running them, as the kernel does. */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { Evaluator } from "../kernel/evaluator.js";
import { transformCell } from "../kernel/cell-transform.js";

const engineEntry = path.resolve(import.meta.dirname, "../engine/index.js");
const ev = new Evaluator(engineEntry);
let n = 0;
const cell = async (src: string) => (await ev.run(src, `cell[${++n}]`)).value;

describe("TypeScript cells", () => {
  it("strips types and returns the last expression", async () => {
    assert.equal(await cell("const a: number = 40;\nconst b = (x: number): number => x + 2;\nb(a)"), 42);
  });

  it("persists destructured bindings, functions and classes across cells", async () => {
    await cell(
      "const { p, q: [r, s = 7] } = { p: 1, q: [2] };\nfunction twice(x: number) { return 2 * x; }\nclass Box { constructor(public v: number) {} }",
    );
    assert.deepEqual(await cell("[p, r, s, twice(5), new Box(3).v]"), [1, 2, 7, 10, 3]);
  });

  it("runs a re-run cell's remembered rewrite with the names declared since (and its errors' lines)", async () => {
    const src = "const rerunA = 1;\nlet rerunB = rerunA + 1;\nrerunB * 10";
    const first = transformCell(src, "first.ts", new Set());
    assert.match(first.code, /^let rerunA, rerunB;/);
    const again = transformCell(src, "again.ts", new Set(["rerunA", "rerunB"]));
    assert.doesNotMatch(again.code, /^let /, "names declared by the first run are not declared twice");
    assert.equal(again.code.split("\n").slice(1).join("\n"), first.code.split("\n").slice(1).join("\n"));
    assert.equal(await cell(src), 20);
    assert.equal(await cell(src), 20);
    // A remembered cell that throws still reports the cell's own line.
    const throwing = "const t1 = 1;\n\nthrow new Error('third line');";
    for (let k = 0; k < 2; k++) {
      const err = await cell(throwing).catch((e: unknown) => e);
      assert.match(
        ev.describeError(err).traceback.join("\n"),
        new RegExp(`cell\\[${n}\\]:3:`),
        `run ${k + 1}`,
      );
    }
  });

  it("shares one binding per top-level name across cells, also for functions that read it", async () => {
    await cell("let counter = 1;\nfunction readCounter() { return counter; }");
    await cell("counter = 5");
    assert.equal(await cell("readCounter()"), 5);
    await cell("const counter = 10");
    assert.equal(await cell("readCounter()"), 10);
    await cell("function readCounter() { return -counter; }");
    assert.equal(await cell("readCounter()"), -10);
  });

  it("hoists functions within a cell", async () => {
    assert.equal(
      await cell("const early = later(1);\nfunction later(x: number) { return x + 1; }\nearly"),
      2,
    );
  });

  it("supports top-level await and imports", async () => {
    await cell(
      'import { jnp as np2 } from "vmaplab";\nimport * as os from "node:os";\nconst t = await Promise.resolve(typeof os.cpus);',
    );
    assert.deepEqual(await cell("[t, typeof np2.add]"), ["function", "function"]);
  });

  it("lets a re-run cell redeclare a const with another type", async () => {
    await cell("const z = 1");
    await cell('const z = "now a string"');
    assert.equal(await cell("z"), "now a string");
  });

  it("reports syntax errors with the cell's line", async () => {
    await assert.rejects(
      () => cell("const ok = 1;\nconst = 2;"),
      (e: Error & { line?: number }) => e.name === "SyntaxError" && e.line === 2,
    );
  });

  it("maps runtime errors to the cell's line and column", async () => {
    const err = await cell("type T = { a: number };\nconst o: T = { a: 1 };\n(o as any).b.c").catch(
      (e: unknown) => e,
    );
    const d = ev.describeError(err);
    assert.equal(d.ename, "TypeError");
    assert.match(d.traceback.join("\n"), new RegExp(`cell\\[${n}\\]:3:`));
  });
});
