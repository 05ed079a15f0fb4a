/**
 * Worker threads sharing the heap. A job is one kernel call per thread (the calling thread takes the
 * first share); workers are woken through `Atomics.notify` and the caller blocks in `Atomics.wait`
 * until the pending count drops to zero, so `execute` stays synchronous. Workers are unref'd (they
 * never keep Node alive) and terminated by `close()`.
 */
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { WasmMemory, WasmModule } from "./wasm-api.js";
import { CTRL, LOAD_MODULE, MAX_ARGS, RESULT, RUN_CALLS, SLOT_WORDS, slotBase } from "./pool-protocol.js";

/** The name a kernel of a module loaded with `WorkerPool.load(module, prefix, ...)` has in jobs. */
export function loadedName(prefix: string, name: string): string {
  return `${prefix}:${name}`;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly ctrl: Int32Array;
  private seq = 0;
  /** Function index of each exported name (`module:name` for modules loaded later). */
  private readonly index = new Map<string, number>();
  private readonly loaded = new Set<WasmModule>();
  /** Threads that take part in a job, the calling thread included. */
  readonly threads: number;

  constructor(module: WasmModule, memory: WasmMemory, names: string[], threads = availableParallelism()) {
    this.threads = Math.max(1, threads);
    names.forEach((n, k) => this.index.set(n, k));
    const sab = new SharedArrayBuffer(4 * SLOT_WORDS * (this.threads + 1));
    this.ctrl = new Int32Array(sab);
    for (let w = 1; w < this.threads; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: { module, memory, ctrl: sab, names, slot: w, port: port2 },
        transferList: [port2],
      });
      this.ports.push(port1);
      worker.unref();
      this.workers.push(worker);
    }
    // Workers start on their own threads; wait (bounded) until each has instantiated the module.
    const deadline = Date.now() + 10000;
    let ready: number;
    while ((ready = Atomics.load(this.ctrl, CTRL.ready)) < this.threads - 1) {
      if (Date.now() > deadline) {
        this.close();
        throw new Error(`wasm worker pool: only ${ready} of ${this.threads - 1} workers started`);
      }
      Atomics.wait(this.ctrl, CTRL.ready, ready, 50);
    }
  }

  /**
   * Makes the exports of another module over the same memory (a compiled program's kernels) callable
   * in jobs, as `prefix:name`; each worker instantiates it once (a no-op when already loaded).
   */
  load(module: WasmModule, prefix: string, names: string[]): void {
    if (this.loaded.has(module)) return;
    this.loaded.add(module);
    for (const n of names) this.index.set(loadedName(prefix, n), this.index.size);
    for (const p of this.ports) p.postMessage({ module, names });
    this.run(
      Array.from({ length: this.threads }, (_, w) => ({ fn: w === 0 ? "" : LOAD_MODULE, args: [] })),
      () => 0,
    );
  }

  /** A kernel's function index in the workers (`prefix:name` for a loaded program's kernels). */
  indexOf(fn: string): number {
    const k = this.index.get(fn);
    if (k === undefined) throw new Error(`wasm worker pool: no kernel '${fn}' is loaded`);
    return k;
  }

  /**
   * Runs `jobs[w]` (a function and its arguments) on thread w, job 0 on the calling thread via
   * `local`; returns when all are done, with each job's return value (0 for none). Fewer jobs than
   * threads, or a job named "", leaves a thread idle.
   */
  run(
    jobs: { fn: string; args: number[] }[],
    local: (fn: string, args: number[]) => number | void,
  ): number[] {
    if (jobs.length > this.threads) throw new Error("wasm worker pool: more jobs than threads");
    const ctrl = this.ctrl;
    for (let w = 1; w < this.threads; w++) {
      const base = slotBase(w);
      const job = jobs[w];
      if (job && job.args.length > MAX_ARGS) throw new Error("wasm worker pool: too many arguments");
      ctrl[base] =
        !job || job.fn === ""
          ? -1
          : job.fn === LOAD_MODULE
            ? -2
            : job.fn === RUN_CALLS
              ? -3
              : this.indexOf(job.fn);
      if (job) {
        ctrl[base + 1] = job.args.length;
        ctrl.set(job.args, base + 2);
      }
    }
    Atomics.store(ctrl, CTRL.error, 0);
    Atomics.store(ctrl, CTRL.pending, this.threads - 1);
    Atomics.store(ctrl, CTRL.seq, ++this.seq);
    Atomics.notify(ctrl, CTRL.seq);
    let first: number;
    try {
      first = jobs[0] ? (local(jobs[0].fn, jobs[0].args) ?? 0) : 0;
    } finally {
      // Even when this thread's share throws, the workers' shares are still running: wait for them
      // before anyone frees or reuses the memory they write.
      let p: number;
      while ((p = Atomics.load(ctrl, CTRL.pending)) !== 0) Atomics.wait(ctrl, CTRL.pending, p);
    }
    if (Atomics.load(ctrl, CTRL.error) !== 0)
      throw new Error("wasm worker pool: a kernel trapped in a worker");
    // An idle thread's result word still holds an earlier job's value: it reports 0.
    return jobs.map((job, w) => (w === 0 ? first : !job || job.fn === "" ? 0 : ctrl[slotBase(w) + RESULT]));
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers.length = 0;
  }
}
