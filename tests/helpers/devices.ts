/**
 * Device-parametrised tests: every case runs on the CPU executor (the WebAssembly SIMD one; the
 * reference interpreter is the oracle in tests/wasm-*.test.ts) and on the Dawn WebGPU
 * executor. WebGPU must be there (Mesa's lavapipe on CI): its absence is a failure, not a skip.
 */
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { defaultDevice, devices, init, releaseDevices, webgpuUnavailableReason } from "../../engine/index.js";
import type { WebGpuDevice } from "../../engine/backend/webgpu/webgpu-device.js";

export const DEVICE_KINDS = ["cpu", "webgpu"] as const;
export type DeviceName = (typeof DEVICE_KINDS)[number];

/** Initialises the engine and returns its WebGPU device; a machine without one fails the test. */
export async function requireWebGpu(): Promise<WebGpuDevice> {
  await init();
  const d = devices().find((x) => x.kind === "webgpu");
  assert.ok(
    d,
    `the WebGPU device is required for the tests: ${webgpuUnavailableReason() ?? "not initialised"}`,
  );
  return d as WebGpuDevice;
}

/** Runs `body` once per device with that device as the default. */
export function describeEachDevice(title: string, body: (device: DeviceName) => void): void {
  before(async () => void (await requireWebGpu()));
  after(() => releaseDevices());
  for (const device of DEVICE_KINDS) {
    describe(`${title} [${device}]`, () => {
      before(() => {
        defaultDevice(device);
      });
      body(device);
    });
  }
}
