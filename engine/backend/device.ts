/** What an executor offers the engine: memory on a device and running one primitive at a time. */
import type { ShapedArray } from "../core/aval.js";
import type { ParamsOf, Primitive } from "../core/primitive.js";
import type { Executable } from "../core/executable.js";
import type { ConcreteArray } from "../core/concrete-array.js";
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
   * A new buffer holding `byteLength` bytes of `buffer` from `byteOffset`, copied on the device
   * (pmap's shards of a leading axis); devices that leave it out are split through the host.
   */
  copyBytes?(buffer: DeviceBuffer, byteOffset: number, byteLength: number): DeviceBuffer;
  /**
   * Compiles a jaxpr (constvars then invars as inputs) into one program for this device, as `jit`
   * does; devices without a compiler leave it out and get the equation-by-equation interpreter.
   */
  compile?(jaxpr: Jaxpr): Executable | undefined;
  /**
   * pmap: runs one compiled program per shard (`shardInputs[k]` are shard k's inputs) side by side,
   * when the device can (the CPU executor's worker threads); undefined means the caller runs them
   * one after another.
   */
  runShards?(exe: Executable, shardInputs: ConcreteArray[][]): ConcreteArray[][] | undefined;
  /** Resolves when all work submitted so far has finished. */
  synchronize(): Promise<void>;
  /**
   * Devices that read back asynchronously (WebGPU) run host-driven work (a while loop's predicate
   * read each iteration, a cond's branch index) as an ordered step: the outputs' buffers exist at
   * once, and work submitted later waits behind the step. The step gets its own copies of `inputs`
   * (taken now, in order), so callers may dispose theirs; it owns those copies. Devices whose values
   * are on the host (the CPU) leave it out and such loops run directly.
   */
  enqueueHostStep?(
    label: string,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    step: HostStepFn,
  ): DeviceBuffer[];
}

/** The body of a host-driven step: device work through `run`, host reads through `read`. */
export type HostStepFn = (ctx: HostStepContext, inputs: DeviceBuffer[]) => Promise<DeviceBuffer[]>;

export interface HostStepContext {
  /** Runs synchronous engine code whose device work (and nested steps) belongs to this step. */
  run<T>(work: () => T): T;
  /** The host values of a buffer once the step's work so far has run. */
  read(buffer: DeviceBuffer, aval: ShapedArray): Promise<TypedArray>;
}
