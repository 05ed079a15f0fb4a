/** What an executor offers the engine: memory on a device and running one primitive at a time. */
import type { ShapedArray } from "../core/aval.js";
import type { ParamsOf, Primitive } from "../core/primitive.js";
import type { Executable } from "../core/executable.js";
import type { Jaxpr } from "../core/jaxpr.js";
import type { TypedArray } from "../dtype.js";

export type DeviceKind = "cpu" | "webgpu";

/** A device's own storage for one array; only the device that made it looks inside. */
export interface DeviceBuffer {
  readonly device: Device;
}

export interface Device {
  readonly kind: DeviceKind;
  /** `cpu:0`, `webgpu:0`: how devices are named to users. */
  readonly id: string;
  upload(host: TypedArray, aval: ShapedArray): DeviceBuffer;
  execute<P extends Primitive>(
    prim: P,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    params: ParamsOf<P>,
  ): DeviceBuffer[];
  /** Host copy of a buffer (a fresh TypedArray the caller may keep). */
  read(buffer: DeviceBuffer, aval: ShapedArray): Promise<TypedArray>;
  /** Host copy without waiting, when the device can give one (the CPU always can). */
  readSync(buffer: DeviceBuffer, aval: ShapedArray): TypedArray | undefined;
  release(buffer: DeviceBuffer): void;
  /**
   * Compiles a jaxpr (constvars then invars as inputs) into one program for this device, as `jit`
   * does; devices without a compiler leave it out and get the equation-by-equation interpreter.
   */
  compile?(jaxpr: Jaxpr): Executable | undefined;
  /** Resolves when all work submitted so far has finished. */
  synchronize(): Promise<void>;
}
