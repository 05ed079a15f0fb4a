/**
 * pmap over two CPU devices against vmap on one (issue 10), on the MLP workload of issue 6
 * (784-512-512-10 tanh, batch 4096) and on a small MLP (128-128-128-10, batch 512): `pmap(vmap(mlp))`
 * over 2 shards against `jit(vmap(mlp))` over the whole batch, against `jit(vmap(mlp))` called once
 * per shard, and against the same pmap with its shards one after another instead of side by side.
 * Every timing waits for the device.
 */
import { blockUntilReady, defaultDevice, devices, jit, jnp, pmap, vmap } from "../engine/index.js";
import type { WasmDevice } from "../engine/backend/wasm/wasm-device.js";
import { median, medianPair, perExampleMlp, settle, type Row } from "./common.js";
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
  return [
    ...(await mlpRows(SIZES.mlp.sizes, SIZES.mlp.batch)),
    // Mid-sized kernels, where a kernel split over the pool gains least.
    ...(await mlpRows([128, 128, 128, 10], 512)),
  ];
}

async function mlpRows(sizes: readonly number[], batch: number): Promise<Row[]> {
  const layers = sizes.slice(1).map((out, k) => ({
    w: jnp.array(values(out * sizes[k], 10 + k, 1 / Math.sqrt(sizes[k]))).reshape([out, sizes[k]]),
    b: jnp.array(values(out, 20 + k, 0.1)),
  }));
  const mlp = perExampleMlp(layers);
  const cpus = twoCpuDevices();
  const shards = cpus.length;
  const last = sizes[sizes.length - 1];
  const xs = jnp.array(values(batch * sizes[0], 3)).reshape([batch, sizes[0]]);
  const sharded = xs.reshape([shards, batch / shards, sizes[0]]);
  const pieces = [...sharded];
  await blockUntilReady([xs, sharded, pieces]);

  const vmapped = jit(vmap(mlp));
  const pmapped = pmap(vmap(mlp), { devices: cpus });
  // Same values both ways (checked once, outside the timings).
  const a = await pmapped(sharded).reshape([batch, last]).data();
  const b = await vmapped(xs).data();
  const maxDiff = Float32Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  if (!(maxDiff < 1e-3)) throw new Error(`bench pmap: pmap and vmap disagree by ${maxDiff}`);

  // Alternately, each result freed once ready (as the other suites do).
  const repeats = batch >= 4096 ? 7 : 31;
  const [pmapMs, vmapMs] = await medianPair(
    () => settle(pmapped(sharded)),
    () => settle(vmapped(xs)),
    repeats,
  );
  const perShardMs = await median(() => settle(pieces.map((p) => vmapped(p))), repeats);
  // The same pmap with its shards one after another (each kernel split over the pool instead):
  // what running them side by side gains. The bench switches the CPU executor's side-by-side path
  // off for these calls only.
  const cpu = cpus[0] as WasmDevice;
  const sequential = async () => {
    const runShards = cpu.runShards;
    cpu.runShards = () => undefined;
    try {
      await settle(pmapped(sharded));
    } finally {
      cpu.runShards = runShards;
    }
  };
  const [sideBySideMs, oneByOneMs] = await medianPair(() => settle(pmapped(sharded)), sequential, repeats);
  const workload = `MLP ${sizes.join("-")} tanh, batch ${batch} = ${shards} shards of ${batch / shards} (cpu)`;
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
    row(
      workload,
      `pmap(vmap(mlp)), shards side by side on the pool's threads`,
      "the same pmap with its shards one after another",
      sideBySideMs,
      oneByOneMs,
    ),
  ];
}
