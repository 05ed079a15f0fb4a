/**
 * Waiting on Dawn without taking a core from a CPU adapter.
 *
 * dawn.node settles its promises (onSubmittedWorkDone, mapAsync) by calling ProcessEvents from a
 * loop it keeps going through the global `setImmediate`: the main thread spins for the whole wait.
 * On a software adapter (lavapipe) the "GPU" runs on the same cores, so the spin takes one of them
 * away from the work being waited for: a 16M-float sum took 19 ms with the main thread burning
 * 14.5 ms of CPU, 9.7 ms when the main thread slept instead.
 *
 * While such a wait is pending, the global `setImmediate` is swapped for one that keeps Dawn's loop
 * immediate for the first half millisecond (short waits stay short), then lets it poll once per
 * timer tick (1 ms). dawn.node looks the global up each time it schedules, which is what makes this
 * work; the swap is undone when the last pending wait ends. Other code's `setImmediate` calls pass
 * through to the real one unchanged, during a wait and after it (a reference kept from then).
 */

/** How long Dawn's loop stays immediate after a wait starts. */
const SPIN_MS = 0.5;

let waits = 0;
let original: typeof setImmediate | undefined;
let installed: typeof setImmediate | undefined;
let spinUntil = 0;

/**
 * dawn.node's own tick: a native function with no name, scheduled without arguments. Everything
 * else goes to the real `setImmediate` untouched (its handles stay immediates, so `clearImmediate`
 * keeps working); a tick this test misses only polls as before.
 */
function isDawnTick(callback: unknown, args: unknown[]): boolean {
  return (
    typeof callback === "function" &&
    args.length === 0 &&
    callback.name === "" &&
    /\{ \[native code\] \}$/.test(Function.prototype.toString.call(callback))
  );
}

function gentleImmediate(immediate: typeof setImmediate): typeof setImmediate {
  const gentle = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    waits > 0 && performance.now() >= spinUntil && isDawnTick(callback, args)
      ? setTimeout(callback, 0)
      : immediate(callback, ...args);
  return gentle as unknown as typeof setImmediate;
}

/** Awaits the promise `start` makes (a Dawn wait), with Dawn polling gently meanwhile. */
export async function waitGently<T>(start: () => Promise<T>): Promise<T> {
  spinUntil = performance.now() + SPIN_MS;
  if (waits++ === 0) {
    original = globalThis.setImmediate;
    installed = gentleImmediate(original);
    globalThis.setImmediate = installed;
  }
  try {
    return await start();
  } finally {
    if (--waits === 0) {
      // Put back only our own swap: whoever replaced the global since keeps theirs.
      if (globalThis.setImmediate === installed) globalThis.setImmediate = original!;
      original = installed = undefined;
    }
  }
}
