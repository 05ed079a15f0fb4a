/** Layout of the pool's control words (an Int32Array on a SharedArrayBuffer). */
export const CTRL = { seq: 0, pending: 1, ready: 2, error: 3 } as const;
export const SLOT_WORDS = 16;
export const MAX_ARGS = SLOT_WORDS - 3;
/** Word of a slot where the worker leaves the kernel's return value. */
export const RESULT = SLOT_WORDS - 1;
/** Slot of worker `w` (1-based; the calling thread is worker 0): function index, arg count, args. */
export function slotBase(w: number): number {
  return SLOT_WORDS * w;
}
/** The job that makes a worker take the next module from its port (function index -2). */
export const LOAD_MODULE = "\u0000load";
/**
 * The job that makes a worker run a list of recorded kernel calls (function index -3); its two
 * arguments are the list's address and length in words on the heap (shard-recording.ts encodeCalls).
 * The worker leaves 1 in its result word if any call returned nonzero.
 */
export const RUN_CALLS = "\u0000calls";
