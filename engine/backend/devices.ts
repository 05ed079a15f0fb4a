/** Which devices exist and which one new arrays go to (WebGPU when an adapter exists, else CPU). */
import { CpuDevice } from "./cpu/cpu-device.js";
import type { Device, DeviceKind } from "./device.js";
import { createWebGpuDevice, type WebGpuDevice } from "./webgpu/webgpu-device.js";
// [wasm] imports
import { WasmDevice } from "./wasm/wasm-device.js";
// [end wasm]

// [wasm] the CPU device is the WebAssembly SIMD executor (created on first use: compiling its
// kernels takes a moment); the reference interpreter stays available as `cpu-reference`.
// Created on first use too: the module graph has cycles (devices → cpu-device → primitives → ... →
// devices), so a class may not be initialised yet while this module's top level runs.
let cpuReferenceDevice: CpuDevice | undefined;
const cpuReference = (): CpuDevice => (cpuReferenceDevice ??= new CpuDevice("cpu-reference:0"));
let wasm: WasmDevice | undefined;
let wasmUnavailable = false;
/** The WebAssembly SIMD CPU executor (`cpu`, also named `wasm` / `cpu-wasm`). */
export function wasmDevice(): WasmDevice {
  return (wasm ??= new WasmDevice("cpu:0"));
}
/** The CPU device: the wasm executor, or the reference one where WebAssembly SIMD is missing. */
function cpuDevice(): Device {
  if (wasmUnavailable) return cpuReference();
  try {
    return wasmDevice();
  } catch {
    wasmUnavailable = true;
    return cpuReference();
  }
}
// [end wasm]
let webgpu: WebGpuDevice | undefined;
let webgpuUnavailable: string | undefined;
let current: Device | undefined;

export function devices(): Device[] {
  return webgpu ? [webgpu, cpuDevice(), cpuReference()] : [cpuDevice(), cpuReference()];
}

/** Why WebGPU is not in `devices()`, if it was tried and is not. */
export function webgpuUnavailableReason(): string | undefined {
  return webgpuUnavailable;
}

export function getDevice(name: DeviceKind | string): Device {
  const kind = name.split(":")[0];
  // [wasm] device names
  if (kind === "cpu") return cpuDevice();
  if (kind === "wasm" || kind === "cpu-wasm") return wasmDevice();
  if (kind === "cpu-reference") return cpuReference();
  // [end wasm]
  if (kind === "webgpu" || kind === "gpu") {
    if (webgpu) return webgpu;
    throw new Error(
      webgpuUnavailable
        ? `the WebGPU device is not available: ${webgpuUnavailable}`
        : "the WebGPU device is not initialised yet: call `await init()` first",
    );
  }
  throw new Error(`unknown device '${name}': expected 'cpu', 'cpu-reference' or 'webgpu'`);
}

/** The device new arrays are placed on; with a name, makes that device the default. */
export function defaultDevice(name?: DeviceKind | string): Device {
  if (name !== undefined) current = getDevice(name);
  return (current ??= cpuDevice());
}

/**
 * Brings up the WebGPU device (asynchronous, as WebGPU is) and picks the default device:
 * `VMAPLAB_DEVICE` (`cpu` or `webgpu`) when set, else WebGPU when an adapter exists.
 */
export async function init(options: { device?: DeviceKind } = {}): Promise<Device[]> {
  const wanted = options.device ?? (process.env.VMAPLAB_DEVICE as DeviceKind | undefined);
  if (wanted !== undefined && wanted !== "cpu" && wanted !== "webgpu") {
    throw new Error(`VMAPLAB_DEVICE='${wanted}' is not a device: expected 'cpu' or 'webgpu'`);
  }
  if (!webgpu && wanted !== "cpu") {
    try {
      const result = await createWebGpuDevice();
      webgpu = result.device;
      webgpuUnavailable = result.reason;
    } catch (e) {
      webgpuUnavailable = (e as Error).message;
    }
  }
  if (wanted === "webgpu" && !webgpu) throw new Error(`VMAPLAB_DEVICE=webgpu, but ${webgpuUnavailable}`);
  current = wanted === "cpu" || !webgpu ? cpuDevice() : webgpu;
  return devices();
}

/** Frees the WebGPU device so the process can exit; arrays on it become unusable. */
export function releaseDevices(): void {
  if (webgpu) webgpu.destroy();
  // [wasm] worker threads end here (arrays on the wasm device stay usable; the pool restarts on demand)
  wasm?.releaseWorkers();
  // [end wasm]
  webgpu = undefined;
  webgpuUnavailable = "released by releaseDevices()";
  current = undefined;
}
