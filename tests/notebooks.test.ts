/**
 * Every tutorial in notebooks/ runs top to bottom through the real kernel (`vmaplab run`: nbclient with
 * the installed kernelspec named in the notebook) with no error and no stderr output, and shows the
 * key outputs listed for it below.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { run } from "./helpers/jupyter.js";
import { readNotebook, shownText, textOf, type NotebookCell } from "./helpers/notebook.js";

/**
 * The key outputs of each notebook: a piece of a code cell's source (identifying exactly one cell)
 * mapped to what that cell's text output must contain (a string) or match (a RegExp).
 * Adding a notebook means adding one entry here.
 */
const CHECKS: Record<string, Record<string, string | RegExp>> = {
  "00-first-steps.ipynb": {
    "devices().map": "[ 'webgpu:0', 'cpu:0', 'cpu-reference:0' ]",
    "[x.shape, x.dtype": "[ [ 2, 3 ], 'float32', 2, 6 ]",
    "jnp.sin(jnp.add(x, 1))": "[-1.9178486, -0.558831 ,  1.3139732]",
    "makeJaxpr((a": /reduce_sum\[axes=\(1,\)\]/,
  },
  "01-vmap-basics.ipynb": {
    "const x0 =": "Array([-0.9562375,  0.9939632], dtype=float32)",
    "const batched": "[ 0.09966801,  0.3799489 ]",
    "vmapVsLoop:": "{ vmapVsLoop: 0, vmapVsManual: 0 }",
    "outAxes: 1 })(xs.T)": "[ 0.9939632 ,  0.3799489 , -0.09966801,  0.9939632 ]",
    "inAxes: [null, 0, 0]": "[ 0.7615942,  0.9051482]",
    "const D = pairwise": "[0.       , 3.3166249, 3.4641016, 1.4142135]",
    "%jaxpr predict(x0)": "dot_general[dimension_numbers=(([1], [0]), ([], []))",
    "%jaxpr vmap(predict)(xs)":
      /d:f32\[2,4\] = dot_general\[dimension_numbers=\(\(\[1\], \[1\]\), \(\[\], \[\]\)\)/,
    "%jaxpr pairwise": "reduce_sum[axes=(2,)]",
  },
  "02-jit-and-batched-performance.ipynb": {
    "const mlp = makeMlp()": "[ 'webgpu:0', [ 10 ], [ 512, 64 ] ]",
    "const jmlp = jit(mlp)": /^0$/,
    "%jaxpr jmlp(x0)":
      /pjit\[jaxpr=\{ lambda c:f32\[64,128\] d:f32\[128\] e:f32\[128,10\] f:f32\[10\]; g:f32\[64\]\. let[\s\S]*name=mlp\] a/,
    "1st call: trace": /^CPU times: user .*\nWall time: [\d.]+ (ns|µs|ms|s)\n$/,
    "2nd call: run only": /^CPU times: user .*\nWall time: [\d.]+ (ns|µs|ms|s)\n$/,
    "childProcess.execFileSync": /^\{ firstMs: \d+, secondMs: [\d.]+, firstOverSecond: \d+ \}$/,
    "traces: batched.traceCount": "{ traces: 2, signatures: 2 }",
    "const loopMlp": "{ shape: [ 512, 10 ], loopVsJit: 0, vmapVsJit: 0 }",
    "eagerKernels:": "{ eagerKernels: 7, jitKernels: 2 }",
    "%timeit -n 1 -r 3 loopMlp(xs)": /per loop \(mean ± std\. dev\. of 3 runs, 1 loop each\)/,
    "%timeit -n 20 -r 3 batched(xs)": /per loop \(mean ± std\. dev\. of 3 runs, 20 loops each\)/,
    "%vmapbench mlp xs":
      /jit\(vmap\(mlp\)\) vs loop\n[\s\S]*\n {2}512 [\s\S]*<Vega-Lite chart: layer '%vmapbench mlp on webgpu:0/,
    "const mlpCpu": "[ 'cpu:0', 'webgpu:0', true ]",
    "async function tenSteps":
      /device: 'webgpu:0',\s+queuedMs: [\d.]+,\s+doneMs: [\d.]+,\s+returnedEarly: (true|false)/,
    "const onCpu = await tenSteps()":
      /device: 'cpu:0',\s+queuedMs: [\d.]+,\s+doneMs: [\d.]+,\s+returnedEarly: false/,
  },
  "05-under-the-hood.ipynb": {
    "console.log(`f got": "f got Array([0.5, 1. , 2. ], dtype=float32)",
    "makeJaxpr(f)(x);":
      "f got Traced<ShapedArray(float32[3])>with<JaxprTrace>\nf got Traced<ShapedArray(float32[3])>with<BatchTrace>",
    "const jf = jit(f)": /^f got Traced<ShapedArray\(float32\[3\]\)>with<JaxprTrace>\n1$/,
    "%jaxpr --compare vmap(normalise)": "B     b:f32[4] = reduce_sum[axes=(1,)] a",
    "const rows =": /^0$/,
    "%jaxpr --compare vmap(dense)": "B     d:f32[2,4] = dot_general[dimension_numbers=(([1], [1]), ([], []))",
    "await runningMean(seq).tolist()": "[ [ 1, 1.5, 2, 3 ], [ 1, 1.5, 2, 3 ] ]",
    "%jaxpr --compare vmap(runningMean)": "B     d:f32[3] e:f32[] f:f32[4,3] = scan[",
    "const means": "[ 4.        ,  2.        ,  1.3333334 ,  1.        ]",
    "%jaxpr --compare vmap(flipOrDouble)": /\+ {5}h:f32\[4,3\] = select_n g e f/,
    "const picked":
      "[ [ 1, 2, 4 ], [ 0, -2, 6 ], [ 2, 2, 2 ], [ -2, -0, 2 ] ],\n  [ [ 1, 2, 4 ], [ 0, -2, 6 ], [ 2, 2, 2 ], [ -2, -0, 2 ] ]",
    "const scaleIf": "[ 'convert_element_type', 'cond' ]",
    "const lowered = jit(chain)": "{ equations: 5, device: 'webgpu:0', kernels: 1 }",
    "console.log(compiled.asText())":
      /^\/\/ kernel 1 of 1: fused elementwise kernel for f32\[3\][\s\S]*exp\([\s\S]*@compute[\s\S]*out\[i\] = v5;/,
    'lowered.compile("cpu")': "// kernel 1 of 1: fused wasm SIMD elementwise kernel",
    "const layerCompiled": "kernels: 1",
    "jit(runningMean).lower": "// host step: scan",
  },
  "03-per-example-gradients.ipynb": {
    "positives:": "{ xs: [ 64, 3 ], ys: [ 64 ], positives: 34 }",
    "grad(loss)(w, x0, y0)": /\[-0\.58293\d*\s*,\s+0\.52622\d*,\s+0\.43439\d*\]/,
    "jnp.dot(w, x0)), y0), x0)": /\[-0\.58293\d*\s*,\s+0\.52622\d*,\s+0\.43439\d*\]/, // the hand formula
    "const g = perExampleGrads": "shape: [ 64, 3 ]",
    "vsHandFormula:": /vsHandFormula: (0|[\d.]+e-[6-9]), vsLoopOfGrad: (0|[\d.]+e-[6-9]) \}/,
    "const batchGrad":
      /gradOfMeanLoss: \[ -0\.2188\d+, 0\.2097\d+, 0\.0206\d+ \][\s\S]*maxDiff: (0|[\d.]+e-[6-9])\n/,
    "const norms =":
      /max difference: (0|[\d.]+e-[6-9])\n[\s\S]*<Vega-Lite chart: bar 'Per-example gradient norms', 64 data points>/,
    "plot.scatter(errors, norms":
      "<Vega-Lite chart: point 'Gradient norm against prediction error', 64 data points>",
    "const top =": "examples: [ 21, 9, 22, 34, 46 ]",
    "const clipped = clipEach":
      /clippedExamples: 39,[\s\S]*maxNormAfter: 0\.(5|4999)\d*,\s+unclippedUnchanged: 0\s/,
    "plot.scatter(norms, clippedNorms": "<Vega-Lite chart: point 'Clipping at C = 0.5', 64 data points>",
    "const privateGrad":
      /clippedMean: \[ -0\.1606\d+, 0\.0675\d+, -0\.0269\d+ \],\s+private: \[ -0\.1505\d+, 0\.0780\d+, -0\.0301\d+ \]/,
    "const dpGrad = jit":
      /lossGradientDescent: 0\.397\d+,\s+lossDpSgd: 0\.41\d+,\s+accuracyGradientDescent: 0\.8125,/,
    'title: "Mean loss during training"':
      "<Vega-Lite chart: line 'Mean loss during training', 120 data points>",
    "%jaxpr vmap(grad(loss)":
      /d:f32\[64\] = dot_general[\s\S]*logistic d[\s\S]*f32\[64,3\] = dot_general\[dimension_numbers=\(\(\[\], \[\]\), \(\[0\], \[0\]\)\)\]/,
    "const fastGrads = jit": /^(0|[\d.]+e-\d+)$/,
    "%timeit -n 1 -r 3 loopGrads":
      /[\d.]+ (ms|s) ± [\d.]+ (µs|ms|s) per loop \(mean ± std\. dev\. of 3 runs, 1 loop each\)/,
    "%timeit -n 20 -r 3 fastGrads":
      /[\d.]+ (µs|ms) ± [\d.]+ (ns|µs|ms) per loop \(mean ± std\. dev\. of 3 runs, 20 loops each\)/,
  },
  "04-training-a-batched-mlp.ipynb": {
    'defaultDevice("cpu")': "'cpu:0'",
    "twoMoons(kTrain, 128, 0.2)": "[ 256, 2 ] [ 256 ] int32",
    "const moonPoints": "<Vega-Lite chart: point 'Training data: two moons', 256 data points>",
    "const params0 = initParams": /\{ w: \[ 16, 2 \], b: \[ 2 \] \}[\s\S]*\n354$/,
    "initialLoss:": /initialLoss: 0\.4995\d*, initialAccuracy: 0\.789\d* \}/,
    "%jaxpr predictBatch":
      /h:f32\[256,16\] = dot_general\[dimension_numbers=\(\(\[1\], \[0\]\), \(\[\], \[\]\)\)/,
    "const lossAndGrad = jit(valueAndGrad(loss))": /gradient tree: \[[\s\S]*\{ w: \[ 16, 2 \], b: \[ 2 \] \}/,
    // the live chart's last state (21 points: steps 0, 10, ..., 200), then the summary line
    "for (let t = 1; t <= 200":
      /<Vega-Lite chart: line 'Training loss', 21 data points>200 steps in [\d.]+ s; loss 0\.500 → 0\.0[0-4]\d/,
    "trainAccuracy:": /trainAccuracy: (0\.9[5-9]\d*|1), testAccuracy: (0\.9\d*|1) \}/,
    "const probs = jnp.reshape": "[ 24, 32 ] P(class 1) ranges over",
    'title: "Decision boundary':
      "<Vega-Lite chart: layer 'Decision boundary: P(class 1) and the training points'>",
  },
  "06-parallelism.ipynb": {
    // [pmap] notebook checks
    'devices("cpu").map': "[ 'cpu:0', 'cpu:1' ]",
    "const viaPmap": /^(0|[\d.]+e-\d+)$/, // pmap(vmap(layer)) = vmap, to float32 rounding
    "const shareAll": /^(0|[\d.]+e-\d+)$/, // psum over devices and batch = vmap's psum
    // [end pmap]
    "const shards": /^(0|[\d.]+e-\d+)$/, // pmap by hand = vmap, to float32 rounding
    "jnp.sum(shares, 0)": "[ 1, 1, 1 ]",
    "%jaxpr vmap(share": "reduce_sum[axes=(0,)]",
    "const partial": "[ 8.399999618530273, 9.199999809265137, 10 ]",
  },
};

const notebooksDir = path.resolve(import.meta.dirname, "../../notebooks");
const bin = path.resolve(import.meta.dirname, "../bin/vmaplab.js");
const names = readdirSync(notebooksDir)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();

/** The one code cell whose source contains `snippet`. */
function cellWith(cells: NotebookCell[], snippet: string, name: string): NotebookCell {
  const found = cells.filter((c) => c.cell_type === "code" && textOf(c.source).includes(snippet));
  assert.equal(found.length, 1, `${name}: ${found.length} code cells contain ${JSON.stringify(snippet)}`);
  return found[0];
}

describe("the tutorials in notebooks/ run through the real kernel", () => {
  it("every check names a notebook that exists", () => {
    assert.deepEqual(
      Object.keys(CHECKS).filter((n) => !names.includes(n)),
      [],
      "CHECKS in tests/notebooks.test.ts lists notebooks missing from notebooks/",
    );
  });

  for (const name of names) {
    it(name, async () => {
      const checks = CHECKS[name];
      assert.ok(
        checks,
        `notebooks/${name} has no checks: add an entry for it to CHECKS in tests/notebooks.test.ts ` +
          `(a piece of a code cell's source -> a string or RegExp its output must show)`,
      );
      const saved = readNotebook(path.join(notebooksDir, name));
      const unexecuted = saved.cells.filter((c) => c.cell_type === "code" && c.execution_count == null);
      assert.equal(
        unexecuted.length,
        0,
        `notebooks/${name} is saved without outputs: run \`vmaplab run\` on it`,
      );

      const out = path.join(mkdtempSync(path.join(tmpdir(), "vmaplab-tutorial-")), name);
      const r = await run(process.execPath, [bin, "run", path.join(notebooksDir, name), "--output", out], {
        timeoutMs: 240_000,
      });
      assert.equal(r.code, 0, `vmaplab run ${name} failed:\n${r.stdout}\n${r.stderr}`);
      const cells = readNotebook(out).cells;
      for (const cell of cells) {
        for (const o of cell.outputs ?? []) {
          assert.notEqual(
            o.output_type,
            "error",
            `${name}: cell ${JSON.stringify(textOf(cell.source))} failed`,
          );
          assert.ok(
            !(o.output_type === "stream" && o.name === "stderr"),
            `${name}: cell ${JSON.stringify(textOf(cell.source))} wrote to stderr: ${textOf(o.text)}`,
          );
        }
      }
      for (const [snippet, expected] of Object.entries(checks)) {
        const shown = shownText(cellWith(cells, snippet, name));
        if (typeof expected === "string")
          assert.ok(shown.includes(expected), `${name}, cell with ${JSON.stringify(snippet)}: ${shown}`);
        else assert.match(shown, expected, `${name}, cell with ${JSON.stringify(snippet)}`);
      }
    });
  }
});
