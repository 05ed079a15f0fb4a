/**
 * pmap's shards side by side on the CPU executor: each shard's compiled program is recorded
 * (shard-recording.ts: every buffer allocated up front, kernel calls kept), then thread w of the
 * worker pool runs the calls of shards w, w + t, ... while the calling thread runs its own share.
 * Host steps (JS reference kernels) are barriers: every shard's calls before one run first, then the
 * step runs for every shard on the calling thread. Blocks freed while recording are held until the
 * runs end, so no shard's intermediates overlap another's.
 *
 * Higher-order steps (cond, while, scan) are host steps as well: their impl runs between the
 * threads' runs, for each shard in turn, its own kernels split over the whole pool as usual.
 *
 * The caller runs the shards one by one when this returns undefined: a pool of one thread, a run
 * where a sin/cos kernel met arguments beyond its vector range reduction (the exact fallback needs
 * the sequential path; the recorded results are thrown away), or shards whose intermediates do
 * not all fit in the heap at once.
 */
import type { ConcreteArray } from "../../core/concrete-array.js";
import type { Executable } from "../../core/executable.js";
import { WasmExecutable } from "./compiler/executable.js";
import { RUN_CALLS } from "./pool-protocol.js";
import { encodeCalls, runCalls, type RecordedCall, type Recording } from "./shard-recording.js";
import type { WasmDevice } from "./wasm-device.js";

export function runShardsConcurrently(
  device: WasmDevice,
  exe: Executable,
  shardInputs: ConcreteArray[][],
): ConcreteArray[][] | undefined {
  if (!(exe instanceof WasmExecutable) || exe.device !== device) return undefined;
  if (shardInputs.length < 2) return undefined;
  const pool = device.workerPool();
  if (!pool) return undefined;
  const results: ConcreteArray[][] = [];
  const dispose = () => {
    const keep = new Set(shardInputs.flat());
    for (const x of new Set(results.flat())) if (!keep.has(x)) x.dispose();
  };
  const recordings: Recording[] = [];
  // Frees put off while recording (what the steps read), done once, however the run ends.
  const finish = () => {
    for (const r of recordings.splice(0)) for (const work of r.afterwards) work();
  };
  device.heap.hold();
  try {
    for (const inputs of shardInputs) {
      const { result, recording } = device.record(() => exe.run(inputs));
      results.push(result);
      recordings.push(recording);
    }
    // The same program on the same avals records the same steps; anything else is a bug here.
    const runs = recordings[0].runs.length;
    if (recordings.some((r) => r.runs.length !== runs))
      throw new Error("pmap: the shards of one program recorded different host steps");
    for (const r of recordings)
      for (const run of r.runs)
        for (const c of run) if (c.program) pool.load(c.program.module, c.program.prefix, c.program.names);
    const t = Math.min(pool.threads, shardInputs.length);
    let flagged = false;
    for (let k = 0; k < runs; k++) {
      const perThread = Array.from({ length: t }, (_, w) =>
        recordings.filter((_, s) => s % t === w).flatMap((r) => r.runs[k]),
      );
      flagged = runOnThreads(device, perThread);
      // Inexact values from here on (a while loop's predicate among them): stop, redo one by one.
      if (flagged || k === runs - 1) break;
      // Host steps may allocate and free as usual: blocks held for the recordings stay out of reach.
      device.heap.pauseHold();
      try {
        for (const r of recordings) r.hostSteps[k]();
      } finally {
        device.heap.resumeHold();
      }
    }
    finish();
    if (flagged) {
      dispose();
      return undefined;
    }
    device.stats.concurrentShards++;
    return results;
  } catch (e) {
    finish();
    dispose();
    // Nothing is reused while shards are recorded, so every shard's intermediates are live at once:
    // when that does not fit in the heap, the shards run one after another instead.
    if (e instanceof RangeError && /wasm heap: out of memory/.test(e.message)) return undefined;
    throw e;
  } finally {
    device.heap.releaseHeld();
  }
}

/** Runs `perThread[w]` on thread w (0: this one); whether any call returned nonzero. */
function runOnThreads(device: WasmDevice, perThread: RecordedCall[][]): boolean {
  const pool = device.workerPool()!;
  const encoded = perThread.map((calls, w) =>
    w === 0 || calls.length === 0 ? undefined : encodeCalls(calls, (fn) => pool.indexOf(fn)),
  );
  const lists: { ptr: number; words: Int32Array }[] = [];
  try {
    // A job named "" leaves its worker idle; thread 0 runs its calls through `local`.
    const jobs = encoded.map((words) => {
      if (!words) return { fn: "", args: [] };
      const ptr = device.heap.alloc(words.byteLength);
      lists.push({ ptr, words });
      new Int32Array(device.heap.buffer, ptr, words.length).set(words);
      return { fn: RUN_CALLS, args: [ptr, words.length] };
    });
    const flags = pool.run(jobs, () => (runCalls(perThread[0]) ? 1 : 0));
    return flags.some((f) => f !== 0);
  } finally {
    for (const l of lists) device.heap.release(l.ptr, l.words.byteLength);
  }
}
