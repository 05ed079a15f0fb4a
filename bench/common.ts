import { performance } from "node:perf_hooks";
import { blockUntilReady, jnp, type Array as EngineArray } from "../engine/index.js";

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

/**
 * Medians of two variants timed alternately (a, b, a, b, ...) after one warm-up run each: on a
 * software GPU whose speed drifts between modes over seconds, both see the same conditions.
 */
export async function medianPair(
  a: () => Promise<void> | void,
  b: () => Promise<void> | void,
  repeats: number,
): Promise<[number, number]> {
  await a();
  await b();
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < repeats; i++) {
    for (const [k, fn] of [a, b].entries()) {
      const t0 = performance.now();
      await fn();
      times[k].push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]) as [number, number];
}

/**
 * Waits for a result and frees it, as the peers' harnesses do: its buffers go back to the device's
 * pool at once instead of when the garbage collector finds them (on lavapipe, fresh 2 MB buffers
 * each call made a 1.4 ms program take 8-16 ms).
 */
export async function settle(result: EngineArray | EngineArray[]): Promise<void> {
  await blockUntilReady(result);
  for (const r of Array.isArray(result) ? result : [result]) r.dispose();
}

/** A dense layer's weights (out × in) and bias (out). */
export interface DenseLayer {
  w: EngineArray;
  b: EngineArray;
}

/** The MLP of issue 4 written for one example: h ↦ W·h + b per layer, tanh between layers. */
export function perExampleMlp(layers: readonly DenseLayer[]): (x: EngineArray) => EngineArray {
  return (x) => {
    let h = x;
    layers.forEach(({ w, b }, k) => {
      h = jnp.add(jnp.matmul(w, h), b);
      if (k < layers.length - 1) h = jnp.tanh(h);
    });
    return h;
  };
}
