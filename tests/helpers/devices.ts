/**
 * Device-parametrised tests: every case runs on the CPU executor (the WebAssembly SIMD one; the
 * reference interpreter is the oracle in tests/wasm-*.test.ts) and on the Dawn WebGPU
 * executor. WebGPU must be there (Mesa's lavapipe on CI): its absence is a failure, not a skip.
 */
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { defaultDevice, devices, init, releaseDevices, webgpuUnavailableReason } from "../../engine/index.js";

export const DEVICE_KINDS = ["cpu", "webgpu"] as const;
export type DeviceName = (typeof DEVICE_KINDS)[number];

/** Runs `body` once per device with that device as the default. */
export function describeEachDevice(title: string, body: (device: DeviceName) => void): void {
  before(async () => {
    await init();
    assert.ok(
      devices().some((d) => d.kind === "webgpu"),
      `the WebGPU device is required for the tests: ${webgpuUnavailableReason() ?? "not initialised"}`,
    );
  });
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
