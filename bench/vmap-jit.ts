/**
 * jit(vmap(f)) against hand-batched jitted code and against a loop of jit(f) over examples (issue 4's
 * performance section): vmap should cost nothing over writing the batched function by hand, and beat
 * a per-example loop by far. Both executors; every timing waits for the device (blockUntilReady), and results are freed once ready (settle).
 */
import { blockUntilReady, defaultDevice, jit, jnp, vmap, type Array } from "../engine/index.js";
import { median, medianPair, settle, perExampleMlp, type Row } from "./common.js";

/** A deterministic matrix with entries in [-scale, scale). */
function matrix(rows: number, cols: number, seed: number, scale: number): Array {
  const host = Float32Array.from(
    { length: rows * cols },
    (_, i) => ((((i * 2654435761 + seed * 97) >>> 0) % 2001) / 1000 - 1) * scale,
  );
  return jnp.array(host).reshape([rows, cols]);
}

function row(workload: string, variant: string, baseline: string, ms: number, baseMs: number): Row {
  return { workload, variant, baseline, medianMs: ms, baselineMs: baseMs, ratio: ms / baseMs };
}

async function matvecRows(device: "cpu" | "webgpu"): Promise<Row[]> {
  const d = 256;
  const n = 1024;
  const W = matrix(d, d, 1, 1 / 16);
  const xs = matrix(n, d, 2, 1);
  const f = (x: Array) => jnp.tanh(jnp.matmul(W, x));
  const vmapped = jit(vmap(f));
  const WT = W.T;
  const byHand = jit((b: Array) => jnp.tanh(jnp.matmul(b, WT)));
  const perExample = jit(f);
  // The examples are split off beforehand: the loop times the per-example calls only.
  const examples = [...xs];
  await blockUntilReady(examples);

  const [vmapMs, handMs] = await medianPair(
    () => settle(vmapped(xs)),
    () => settle(byHand(xs)),
    15,
  );
  const loopMs = await median(async () => {
    await settle(examples.map((x) => perExample(x)));
  }, 2);
  const workload = `tanh(W·x), W 256×256 shared, 1024 examples (${device})`;
  return [
    row(workload, "jit(vmap(f))", "hand-batched jit(xs => tanh(xs @ Wᵀ))", vmapMs, handMs),
    row(workload, "jit(vmap(f))", "loop of jit(f) over 1024 examples", vmapMs, loopMs),
  ];
}

/** The MLP's batch: 4096 as in issue 4 (`VMAPLAB_BENCH_MLP_BATCH` picks another size). */
function mlpBatch(): number {
  const n = Number(process.env.VMAPLAB_BENCH_MLP_BATCH ?? 4096);
  return Number.isInteger(n) && n > 0 ? n : 4096;
}

async function mlpRows(device: "cpu" | "webgpu"): Promise<Row[]> {
  const sizes = [784, 512, 512, 10];
  const layers = sizes.slice(1).map((out, k) => ({
    w: matrix(out, sizes[k], 10 + k, 1 / Math.sqrt(sizes[k])),
    b: matrix(1, out, 20 + k, 0.1).reshape([out]),
  }));
  const batch = mlpBatch();
  const loopCount = Math.min(256, batch);
  const xs = matrix(batch, 784, 3, 1);
  // One example: x (784,) -> logits (10,), tanh between layers.
  const mlp = perExampleMlp(layers);
  // The same network written for a batch (B, 784) -> (B, 10).
  const mlpBatched = (b: Array) => {
    let h = b;
    layers.forEach(({ w, b: bias }, k) => {
      h = jnp.add(jnp.matmul(h, w.T), bias);
      if (k < layers.length - 1) h = jnp.tanh(h);
    });
    return h;
  };
  const vmapped = jit(vmap(mlp));
  const byHand = jit(mlpBatched);
  const perExample = jit(mlp);
  // The first 256 rows of xs (the same generator).
  const examples = [...matrix(loopCount, 784, 3, 1)];
  await blockUntilReady(examples);

  const [vmapMs, handMs] = await medianPair(
    () => settle(vmapped(xs)),
    () => settle(byHand(xs)),
    5,
  );
  const loopMs =
    (await median(async () => {
      await settle(examples.map((x) => perExample(x)));
    }, 1)) *
    (batch / loopCount);
  const workload = `MLP 784-512-512-10 tanh, batch ${batch} (${device})`;
  return [
    row(workload, "jit(vmap(mlp))", "hand-batched jit(mlp)", vmapMs, handMs),
    row(
      workload,
      "jit(vmap(mlp))",
      `loop of jit(mlp) per example (${loopCount} examples timed, scaled ×${batch / loopCount})`,
      vmapMs,
      loopMs,
    ),
  ];
}

export async function vmapJitRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const device of ["cpu", "webgpu"] as const) {
    defaultDevice(device);
    rows.push(...(await matvecRows(device)));
    rows.push(...(await mlpRows(device)));
  }
  return rows;
}
