/**
 * A minimal Web Worker (the browser API) on top of Node's worker_threads, enough for jax-js's wasm
 * worker pool: `new Worker(blobUrl)`, `postMessage`, `onmessage`, `onerror`, `terminate`. With it,
 * jax-js's wasm backend runs multi-threaded in Node as it does in a browser.
 */
import { Worker as ThreadWorker } from "node:worker_threads";
import { blobText } from "./blob-files.js";

// Inside the thread: `self`, `postMessage` and `onmessage` as a Web Worker has them.
const PRELUDE = `
const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
parentPort.on("message", (data) => globalThis.onmessage?.({ data }));
`;

export class NodeWebWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  private readonly thread: ThreadWorker;

  constructor(url: string | URL) {
    const source = blobText(String(url));
    if (source === undefined)
      throw new Error(`NodeWebWorker: can only start workers from string blobs (${url})`);
    this.thread = new ThreadWorker(PRELUDE + source, { eval: true });
    this.thread.unref();
    this.thread.on("message", (data: unknown) => this.onmessage?.({ data }));
    this.thread.on("error", (e: Error) => this.onerror?.({ message: e.message }));
  }

  postMessage(message: unknown): void {
    this.thread.postMessage(message);
  }

  terminate(): void {
    void this.thread.terminate();
  }
}
