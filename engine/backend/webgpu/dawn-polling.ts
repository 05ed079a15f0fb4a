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
 * work; the swap is undone when the last pending wait ends. Other code's `setImmediate` callbacks
 * run at most a millisecond later meanwhile.
 */

/** How long Dawn's loop stays immediate after a wait starts. */
const SPIN_MS = 0.5;

let waits = 0;
let original: typeof setImmediate | undefined;
let spinUntil = 0;

function gentleImmediate(immediate: typeof setImmediate): typeof setImmediate {
  const gentle = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    performance.now() < spinUntil ? immediate(callback, ...args) : setTimeout(callback, 0, ...args);
  return gentle as unknown as typeof setImmediate;
}

/** Awaits the promise `start` makes (a Dawn wait), with Dawn polling gently meanwhile. */
export async function waitGently<T>(start: () => Promise<T>): Promise<T> {
  spinUntil = performance.now() + SPIN_MS;
  if (waits++ === 0) {
    original = globalThis.setImmediate;
    globalThis.setImmediate = gentleImmediate(original);
  }
  try {
    return await start();
  } finally {
    if (--waits === 0) {
      globalThis.setImmediate = original!;
      original = undefined;
    }
  }
}
