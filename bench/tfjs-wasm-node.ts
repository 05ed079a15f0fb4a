/**
 * TensorFlow.js's wasm backend in Node, with threads when it can: its threaded build starts pthread
 * workers from a blob: URL, which Node's Worker rejects; the worker script (embedded in the bundle)
 * is written to a temp file and `URL.createObjectURL` hands out that path while the backend starts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TfjsWasm {
  tf: typeof import("@tensorflow/tfjs");
  threads: number;
  note: string;
}

export async function loadTfjsWasm(threads: number): Promise<TfjsWasm> {
  const require = createRequire(import.meta.url);
  const tf = await import("@tensorflow/tfjs");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  const bundle = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js");
  const dist = path.dirname(bundle) + "/";
  wasm.setWasmPaths(dist);
  const source = readFileSync(bundle, "utf8");
  const m = /var wasmWorkerContents = ("(?:[^"\\]|\\.)*");/.exec(source);
  let note = "threaded";
  const original = URL.createObjectURL;
  const OriginalBlob = globalThis.Blob;
  if (m && threads > 1) {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "tfjs-wasm-")), "worker.cjs");
    const mainFile = path.join(path.dirname(file), "main.cjs");
    // The embedded script is one line; its only newlines sit inside string literals (as written in
    // the bundle they are escapes that became real newlines), so they are escaped back.
    const prelude = `URL.createObjectURL = () => ${JSON.stringify(mainFile)}; URL.revokeObjectURL = () => {};\n`;
    writeFileSync(file, prelude + (JSON.parse(m[1]) as string).replace(/\n/g, "\\n"));
    URL.createObjectURL = () => file;
    // The main script is handed to the workers as a Blob of the factory's source: a file path
    // instead (the worker then loads it with importScripts).
    globalThis.Blob = function (parts: string[], options?: { type?: string }) {
      const text = parts.join("");
      // The factory refers to the bundle's module variables for fs, path, worker_threads, ...
      const modules = `var require$$0 = require("fs"), require$$1 = require("path"), require$$2 = require("worker_threads"), require$$3 = require("perf_hooks"), require$$4 = require("os"), commonjsGlobal = globalThis;\n`;
      if (text.startsWith("var WasmBackendModuleThreadedSimd")) writeFileSync(mainFile, modules + text);
      return new OriginalBlob(parts, options);
    } as unknown as typeof Blob;
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    wasm.setThreadsCount(threads);
  } else {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    note = "unthreaded";
  }
  tf.env().set("WASM_HAS_SIMD_SUPPORT", true);
  try {
    const ok = await tf.setBackend("wasm");
    await tf.ready();
    if (!ok || tf.getBackend() !== "wasm") throw new Error("tfjs: the wasm backend did not start");
  } finally {
    URL.createObjectURL = original;
    globalThis.Blob = OriginalBlob;
  }
  let count: number;
  try {
    count = wasm.getThreadsCount();
  } catch {
    count = 1;
  }
  return { tf, threads: count, note: `${note}, ${count} thread(s)` };
}
