/** The CPU reference executor: every primitive on typed arrays, synchronously. */
import type { ShapedArray } from "../../core/aval.js";
import type { ParamsOf, Primitive } from "../../core/primitive.js";
import type { TypedArray } from "../../dtype.js";
import type { Device, DeviceBuffer } from "../device.js";
import { kernelRulesOf } from "../../primitives/index.js";

class CpuBuffer implements DeviceBuffer {
  constructor(
    readonly device: CpuDevice,
    readonly array: TypedArray,
  ) {}
}

export class CpuDevice implements Device {
  readonly kind = "cpu";

  /** `cpu-reference:0` when the wasm executor is the CPU device. */
  constructor(readonly id = "cpu:0") {}

  upload(host: TypedArray): DeviceBuffer {
    return new CpuBuffer(this, host.slice());
  }

  execute<P extends Primitive>(
    prim: P,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    params: ParamsOf<P>,
  ): DeviceBuffer[] {
    const outs = kernelRulesOf(prim).cpu(
      inputs.map((b) => this.own(b).array),
      inAvals,
      outAvals,
      params,
    );
    return outs.map((a) => new CpuBuffer(this, a));
  }

  read(buffer: DeviceBuffer): Promise<TypedArray> {
    return Promise.resolve(this.own(buffer).array.slice());
  }

  readSync(buffer: DeviceBuffer): TypedArray {
    return this.own(buffer).array.slice();
  }

  release(): void {
    // Typed arrays are reclaimed by the garbage collector.
  }

  synchronize(): Promise<void> {
    return Promise.resolve();
  }

  private own(buffer: DeviceBuffer): CpuBuffer {
    if (!(buffer instanceof CpuBuffer))
      throw new Error(`${this.id} was given a buffer of ${buffer.device.id}`);
    return buffer;
  }
}
