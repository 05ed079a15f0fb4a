/**
 * Peer libraries start Web Workers from blob URLs (tfjs-backend-wasm's pthreads, jax-js's wasm worker
 * pool), which Node's worker_threads cannot load. This records the text of string-made Blobs, so a
 * blob URL can be turned back into source text or a file Node can start.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const texts = new WeakMap<Blob, string>();
const urlTexts = new Map<string, string>();

class RecordingBlob extends Blob {
  constructor(
    parts: ConstructorParameters<typeof Blob>[0] = [],
    options?: ConstructorParameters<typeof Blob>[1],
  ) {
    super(parts, options);
    const list = [...parts];
    if (list.every((p) => typeof p === "string")) texts.set(this, list.join(""));
  }
}
globalThis.Blob = RecordingBlob;

const createObjectURL = URL.createObjectURL.bind(URL);
URL.createObjectURL = (blob: Blob): string => {
  const url = createObjectURL(blob);
  const text = texts.get(blob);
  if (text !== undefined) urlTexts.set(url, text);
  return url;
};

/** The source text behind a blob URL (or a Blob) made from strings. */
export function blobText(urlOrBlob: string | Blob): string | undefined {
  return typeof urlOrBlob === "string" ? urlTexts.get(urlOrBlob) : texts.get(urlOrBlob);
}

let dir: string | undefined;
let count = 0;

/** Writes `text` to a fresh file (with `prelude` before it) and returns its absolute path. */
export function textToFile(text: string, prelude = ""): string {
  dir ??= mkdtempSync(path.join(tmpdir(), "vmaplab-peer-"));
  const file = path.join(dir, `blob-${count++}.js`);
  writeFileSync(file, prelude + text);
  return file;
}
