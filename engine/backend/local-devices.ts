/**
 * `devices(kind)`: the devices of one kind that `pmap` can spread a mapped axis over, as JAX's
 * `jax.devices(backend)`. On the CPU each thread of the executor's worker pool counts as a device
 * (`cpu:0`, `cpu:1`, ...), as JAX's `--xla_force_host_platform_device_count` makes host devices;
 * `VMAPLAB_CPU_DEVICES=N` sets their number (default: the pool's thread count). `cpu:0` is the CPU
 * device itself; the others are views of the same executor (same memory), named for placement.
 */
import { availableParallelism } from "node:os";
import type { Device, DeviceBuffer } from "./device.js";
import { defaultDevice, getDevice } from "./devices.js";

/** One thread of the CPU executor acting as a device: everything runs on `backing`, its executor. */
export class ThreadDevice implements Device {
  readonly kind = "cpu";
  constructor(
    readonly id: string,
    readonly backing: Device,
  ) {}

  upload(...args: Parameters<Device["upload"]>): DeviceBuffer {
    return this.backing.upload(...args);
  }
  execute(...args: Parameters<Device["execute"]>): DeviceBuffer[] {
    return this.backing.execute(...args);
  }
  read(...args: Parameters<Device["read"]>): ReturnType<Device["read"]> {
    return this.backing.read(...args);
  }
  readSync(...args: Parameters<Device["readSync"]>): ReturnType<Device["readSync"]> {
    return this.backing.readSync(...args);
  }
  release(buffer: DeviceBuffer): void {
    this.backing.release(buffer);
  }
  compile(...args: Parameters<NonNullable<Device["compile"]>>): ReturnType<NonNullable<Device["compile"]>> {
    return this.backing.compile?.(...args);
  }
  synchronize(): Promise<void> {
    return this.backing.synchronize();
  }
}

/** The executor a device runs on (itself, or the CPU executor behind a thread device). */
export function executorOf(device: Device): Device {
  return device instanceof ThreadDevice ? device.backing : device;
}

const threadDevices = new WeakMap<Device, ThreadDevice[]>();

/** How many CPU devices `devices("cpu")` lists. */
export function cpuDeviceCount(): number {
  const env = process.env.VMAPLAB_CPU_DEVICES;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`VMAPLAB_CPU_DEVICES='${env}' is not a device count: expected an integer >= 1`);
    return n;
  }
  return Math.max(1, availableParallelism());
}

/** The CPU devices: the CPU executor as `cpu:0`, then one thread device per further thread. */
function cpuDevices(): Device[] {
  const current = defaultDevice();
  const cpu = current.kind === "cpu" ? current : getDevice("cpu");
  const n = cpuDeviceCount();
  let more = threadDevices.get(cpu);
  if (!more) threadDevices.set(cpu, (more = []));
  const prefix = cpu.id.split(":")[0];
  while (more.length < n - 1) more.push(new ThreadDevice(`${prefix}:${more.length + 1}`, cpu));
  return [cpu, ...more.slice(0, n - 1)];
}

/** The devices of a kind (`cpu`, `webgpu`/`gpu`, `cpu-reference`); an unavailable kind lists none. */
export function localDevices(kind: string): Device[] {
  if (kind === "cpu") return cpuDevices();
  if (kind === "webgpu" || kind === "gpu" || kind === "cpu-reference" || kind === "wasm") {
    try {
      return [getDevice(kind)];
    } catch {
      return [];
    }
  }
  throw new Error(`unknown device kind '${kind}': expected 'cpu', 'cpu-reference' or 'webgpu'`);
}
