import { performance } from "node:perf_hooks";

/** What every benchmark suite reports, and how it times things. */

export interface Row {
  workload: string;
  variant: string;
  baseline: string;
  medianMs: number;
  baselineMs: number;
  ratio: number;
}

/** Median time of `fn` over `repeats` runs after one warm-up run (pipelines compiled, caches filled). */
export async function median(fn: () => Promise<void> | void, repeats: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
