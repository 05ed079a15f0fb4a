/**
 * pmap over two CPU devices against vmap on one (issue 10), on the MLP workload of issue 6
 * (784-512-512-10 tanh, batch 4096): `pmap(vmap(mlp))` over 2 shards of 2048 examples against
 * `jit(vmap(mlp))` over all 4096, and against `jit(vmap(mlp))` called once per shard (what pmap's
 * own overhead costs: slicing, stacking). Every timing waits for the device.
 */
import { blockUntilReady, defaultDevice, devices, jit, jnp, pmap, vmap } from "../engine/index.js";
import { median, perExampleMlp, type Row } from "./common.js";
import { SIZES, values } from "./peers/workloads.js";

function row(workload: string, variant: string, baseline: string, ms: number, baseMs: number): Row {
  return { workload, variant, baseline, medianMs: ms, baselineMs: baseMs, ratio: ms / baseMs };
}

/** Two CPU devices, whatever the machine's thread count (`VMAPLAB_CPU_DEVICES`, as JAX's flag). */
function twoCpuDevices() {
  const before = process.env.VMAPLAB_CPU_DEVICES;
  process.env.VMAPLAB_CPU_DEVICES = "2";
  try {
    return devices("cpu");
  } finally {
    if (before === undefined) delete process.env.VMAPLAB_CPU_DEVICES;
    else process.env.VMAPLAB_CPU_DEVICES = before;
  }
}

export async function pmapRows(): Promise<Row[]> {
  defaultDevice("cpu");
  const { sizes, batch } = SIZES.mlp;
  const layers = sizes.slice(1).map((out, k) => ({
    w: jnp.array(values(out * sizes[k], 10 + k, 1 / Math.sqrt(sizes[k]))).reshape([out, sizes[k]]),
    b: jnp.array(values(out, 20 + k, 0.1)),
  }));
  const mlp = perExampleMlp(layers);
  const cpus = twoCpuDevices();
  const shards = cpus.length;
  const xs = jnp.array(values(batch * sizes[0], 3)).reshape([batch, sizes[0]]);
  const sharded = xs.reshape([shards, batch / shards, sizes[0]]);
  const pieces = [...sharded];
  await blockUntilReady([xs, sharded, pieces]);

  const vmapped = jit(vmap(mlp));
  const pmapped = pmap(vmap(mlp), { devices: cpus });
  // Same values both ways (checked once, outside the timings).
  const a = await pmapped(sharded).reshape([batch, sizes[3]]).data();
  const b = await vmapped(xs).data();
  const maxDiff = Float32Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  if (!(maxDiff < 1e-3)) throw new Error(`bench pmap: pmap and vmap disagree by ${maxDiff}`);

  const pmapMs = await median(async () => void (await blockUntilReady(pmapped(sharded))), 5);
  const vmapMs = await median(async () => void (await blockUntilReady(vmapped(xs))), 5);
  const perShardMs = await median(async () => void (await blockUntilReady(pieces.map((p) => vmapped(p)))), 5);
  const workload = `MLP 784-512-512-10 tanh, batch ${batch} = ${shards} shards of ${batch / shards} (cpu)`;
  return [
    row(
      workload,
      `pmap(vmap(mlp)) over ${shards} CPU devices`,
      "jit(vmap(mlp)) on one device",
      pmapMs,
      vmapMs,
    ),
    row(
      workload,
      `pmap(vmap(mlp)) over ${shards} CPU devices`,
      `jit(vmap(mlp)) once per shard, one after another`,
      pmapMs,
      perShardMs,
    ),
  ];
}
