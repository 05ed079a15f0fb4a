/**
 * A program recorded instead of run, so that pmap's shards can run side by side on the CPU
 * executor's threads. While a WasmDevice records, every buffer is allocated at once (the avals are
 * static) and each kernel call is kept with its arguments; the calls then run later, on any thread
 * of the pool, in order. Steps that are JS rather than wasm (the reference kernels of primitives
 * without a wasm kernel) are kept as host steps: they cut the calls into runs and execute on the
 * calling thread between them. Higher-order steps (cond, while, scan) are host steps too: their impl
 * runs then, on values the runs before them computed.
 */
import type { Kernel, ProgramKernels } from "./wasm-device.js";

export interface RecordedCall {
  /** The kernel's name in the worker pool: `name`, or `prefix:name` for a compiled program's. */
  readonly fn: string;
  readonly kernel: Kernel;
  readonly args: readonly number[];
  /** The compiled program the kernel belongs to (the pool loads its module before running). */
  readonly program?: ProgramKernels;
}

export class Recording {
  /** Runs of kernel calls; host step k runs after run k and before run k + 1. */
  readonly runs: RecordedCall[][] = [[]];
  readonly hostSteps: (() => void)[] = [];
  /** Work put off until every run and host step is done (freeing what they read). */
  readonly afterwards: (() => void)[] = [];

  call(c: RecordedCall): void {
    this.runs[this.runs.length - 1].push(c);
  }

  host(step: () => void): void {
    this.hostSteps.push(step);
    this.runs.push([]);
  }
}

/**
 * Runs calls on this thread, in order; whether any returned nonzero (the sin/cos kernels' flag for
 * arguments beyond their vector range reduction).
 */
export function runCalls(calls: readonly RecordedCall[]): boolean {
  let flagged = false;
  for (const c of calls) if ((c.kernel(...c.args) ?? 0) !== 0) flagged = true;
  return flagged;
}

/** Calls as words for a pool worker: per call, the function's pool index, the argument count, the arguments. */
export function encodeCalls(calls: readonly RecordedCall[], indexOf: (fn: string) => number): Int32Array {
  const words = new Int32Array(calls.reduce((n, c) => n + 2 + c.args.length, 0));
  let i = 0;
  for (const c of calls) {
    words[i++] = indexOf(c.fn);
    words[i++] = c.args.length;
    for (const a of c.args) words[i++] = a;
  }
  return words;
}
