/**
 * The six workloads of the jit/executor benchmark (issue 6), with deterministic host data, so every
 * library (vmaplab, jax-js, TensorFlow.js) computes exactly the same thing.
 */
export type WorkloadName = "matvec" | "mlp" | "elementwise" | "perExampleGrad" | "matmul" | "sum";

export const WORKLOADS: Record<WorkloadName, string> = {
  matvec: "(a) matvec W[256,256] shared × 1024 examples",
  mlp: "(b) MLP 784-512-512-10 tanh, batch 4096",
  elementwise: "(c) sin(x)·2 + exp(−x·x), 4M floats",
  perExampleGrad: "(d) per-example grads, logistic regression 1024×512",
  matmul: "(e) matmul 1024×1024×1024",
  sum: "(f) sum over 16M floats",
};

/** Reproducible values in [-scale, scale) (a small LCG: the same data in every process). */
export function values(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

export const SIZES = {
  matvec: { n: 256, batch: 1024 },
  mlp: { sizes: [784, 512, 512, 10], batch: 4096 },
  elementwise: { n: 4 << 20 },
  perExampleGrad: { examples: 1024, features: 512 },
  matmul: { n: 1024 },
  sum: { n: 16 << 20 },
} as const;

/** Median of `repeats` timed runs after one warm-up run; `run` must wait for the device itself. */
export async function medianMs(run: () => Promise<void>, repeats: number): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
