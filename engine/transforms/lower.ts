/**
 * JAX's ahead-of-time stages: `jit(f).lower(...args)` traces `f` for those arguments' shapes and dtypes
 * and gives a `Lowered` (the closed jaxpr); `.compile(device?)` turns it into that device's program, a
 * `Compiled` that tells how many kernels a call dispatches and shows their source (`asText()`). The
 * executable is the one the jitted function itself runs (same cache), so what is shown is what runs.
 */
import type { Device } from "../backend/device.js";
import { getDevice } from "../backend/devices.js";
import type { Executable } from "../core/executable.js";
import type { ClosedJaxpr } from "../core/jaxpr.js";
import type { ShapedArray } from "../core/aval.js";
import { executableFor } from "../primitives/pjit.js";

/** A traced, not yet compiled, jitted function (JAX's `jax.stages.Lowered`). */
export class Lowered {
  constructor(
    /** The traced program: its constants (closed-over arrays) and equations. */
    readonly jaxpr: ClosedJaxpr,
    /** The traced function's name (`jit(name)` in messages). */
    readonly fnName: string,
    /** The device a call with these arguments would run on. */
    readonly deviceId: string,
  ) {}

  /** The arguments' types the program was traced for (flattened pytree leaves). */
  get inAvals(): ShapedArray[] {
    return this.jaxpr.inAvals;
  }

  get outAvals(): ShapedArray[] {
    return this.jaxpr.outAvals;
  }

  /** The jaxpr's text (JAX prints StableHLO here; our intermediate representation is the jaxpr). */
  asText(): string {
    return this.jaxpr.toString();
  }

  /**
   * The program for `device` (a Device or its name, `"cpu"`, `"webgpu:0"`; by default the device a
   * call with the lowered arguments would use): the device's compiled form, or the interpreter.
   */
  compile(device?: Device | string): Compiled {
    const where = `jit(${this.fnName}).lower(...).compile`;
    let d: Device;
    if (device === undefined) d = getDevice(this.deviceId);
    else if (typeof device === "string") {
      try {
        d = getDevice(device);
      } catch (e) {
        throw new TypeError(`${where}: ${(e as Error).message}`, { cause: e });
      }
    } else if (typeof device === "object" && device !== null && typeof device.execute === "function") {
      d = device;
    } else {
      throw new TypeError(
        `${where}: device must be a Device or a device name such as "cpu" or "webgpu", got ${String(device)}`,
      );
    }
    return new Compiled(this, d, executableFor(this.jaxpr.jaxpr, d));
  }
}

/** A lowered program compiled for one device (JAX's `jax.stages.Compiled`). */
export class Compiled {
  constructor(
    readonly lowered: Lowered,
    readonly device: Device,
    /** What a call of the jitted function on this device runs. */
    readonly executable: Executable,
  ) {}

  /** Kernels (device dispatches) one call runs: fusion makes this smaller than the equation count. */
  get kernelCount(): number {
    return this.executable.kernelCount;
  }

  /**
   * The program's text: on a compiling device (WebGPU) the source of each kernel (WGSL), each after a
   * comment naming it; elsewhere a note that the jaxpr runs equation by equation, then the jaxpr.
   */
  asText(): string {
    const text = this.executable.describe?.();
    if (text !== undefined) return text;
    const n = this.kernelCount;
    return (
      `// ${this.device.id} has no compiler: the jaxpr runs equation by equation, one kernel per ` +
      `primitive (${n} kernel${n === 1 ? "" : "s"} per call)\n${this.lowered.asText()}\n`
    );
  }
}
