/**
 * The protocol thread's handle on the language thread: starts it on first use, replays the cells it
 * must know, and turns its answers back into promises.
 */
import { Worker } from "node:worker_threads";
import type { CompleteResult } from "./language-tools.js";
import type { LanguageRequest, LanguageResponse, LanguageThreadData } from "./language-messages.js";
import { log } from "./log.js";

/** As many cells as the language service keeps (newest first). */
const MAX_CELLS = 200;

type Pending = { resolve: (r: LanguageResponse) => void; reject: (e: Error) => void };

export class LanguageClient {
  private worker: Worker | undefined;
  private loaded: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Cells that ran successfully, replayed to a (re)started language thread. */
  private cells: string[] = [];

  constructor(private readonly data: LanguageThreadData) {}

  /** Starts the language thread (if needed); resolves once it has loaded and warmed up. */
  start(): Promise<void> {
    if (this.loaded) return this.loaded;
    const worker = new Worker(new URL("./language-thread.js", import.meta.url), {
      workerData: this.data,
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    for (const code of this.cells) this.post({ kind: "addCell", code });
    this.loaded = new Promise<void>((resolve, reject) => {
      worker.on("message", (m: LanguageResponse) => {
        if (m.kind === "ready") {
          resolve();
          return;
        }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m);
      });
      const lost = (why: string) => {
        log(`language thread: ${why}`);
        const error = new Error(`the language service stopped (${why})`);
        reject(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
        // The next request starts a fresh one.
        if (this.worker === worker) {
          this.worker = undefined;
          this.loaded = undefined;
        }
      };
      worker.on("error", (e) => lost(e.stack ?? String(e)));
      worker.on("exit", (code) => lost(`exited (${code})`));
    });
    // The language thread must not keep the process alive.
    worker.unref();
    return this.loaded;
  }

  addCell(code: string): void {
    this.cells = [...this.cells, code].slice(-MAX_CELLS);
    if (this.worker) this.post({ kind: "addCell", code });
  }

  /** Type errors of a cell, given the cells before it. */
  async typeErrors(code: string): Promise<string[]> {
    const r = await this.request({ kind: "check", code });
    return r.kind === "check" ? r.errors : [];
  }

  async complete(code: string, cursor: number): Promise<CompleteResult> {
    const r = await this.request({ kind: "complete", code, cursor });
    if (r.kind === "complete") return r.result;
    return {
      matches: [],
      cursor_start: cursor,
      cursor_end: cursor,
      metadata: { _jupyter_types_experimental: [] },
    };
  }

  async inspect(code: string, cursor: number, detailLevel: number): Promise<string | undefined> {
    const r = await this.request({ kind: "inspect", code, cursor, detailLevel });
    return r.kind === "inspect" ? r.text : undefined;
  }

  close(): Promise<number> | undefined {
    const w = this.worker;
    this.worker = undefined;
    return w?.terminate();
  }

  private async request(
    m: DistributiveOmit<LanguageRequest & { id: number }, "id">,
  ): Promise<LanguageResponse> {
    await this.start();
    const id = this.nextId++;
    const answer = new Promise<LanguageResponse>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    this.post({ ...m, id } as LanguageRequest);
    const r = await answer;
    if (r.kind === "failed") throw new Error(r.message);
    return r;
  }

  private post(m: LanguageRequest): void {
    this.worker?.postMessage(m);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
