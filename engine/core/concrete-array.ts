/**
 * A concrete array: data on a device. It is a tracer of the bottom (eval) trace, so the same methods
 * work on concrete arrays and on tracers inside transforms. Device memory is released when the array
 * becomes unreachable (FinalizationRegistry) or on `dispose()`; nobody counts references by hand.
 */
import { inspect } from "node:util";
import type { Device, DeviceBuffer } from "../backend/device.js";
import type { TypedArray } from "../dtype.js";
import { formatArray } from "../format.js";
import type { ShapedArray } from "./aval.js";
import { Tracer, baseTrace, type NestedList, type Trace } from "./trace.js";
export type { NestedList };

const releaseOnCollect = new FinalizationRegistry<DeviceBuffer>((buffer) => buffer.device.release(buffer));

export class ConcreteArray extends Tracer {
  #buffer: DeviceBuffer | null;
  #host: TypedArray | undefined;

  constructor(
    readonly aval: ShapedArray,
    readonly device: Device,
    buffer: DeviceBuffer,
    /** A host copy already known (uploaded data), so reads and printing need no device round trip. */
    host?: TypedArray,
  ) {
    super();
    this.#buffer = buffer;
    this.#host = host;
    releaseOnCollect.register(this, buffer, this);
  }

  get _trace(): Trace {
    return baseTrace();
  }

  get isDisposed(): boolean {
    return this.#buffer === null;
  }

  /** The device buffer; reading a disposed array is an error that says so. */
  get buffer(): DeviceBuffer {
    if (this.#buffer === null) {
      throw new Error(
        `this Array (${this.aval.strShort()} on ${this.device.id}) was disposed and cannot be used`,
      );
    }
    return this.#buffer;
  }

  /** The values as a TypedArray (Float32Array, Int32Array, Uint32Array, or Uint8Array for bool). */
  override async data(): Promise<TypedArray> {
    const buffer = this.buffer;
    this.#host ??= await this.device.read(buffer, this.aval);
    return this.#host.slice();
  }

  /** The values without waiting; only when they are on the host already (CPU device, or read before). */
  dataSync(): TypedArray {
    const buffer = this.buffer;
    this.#host ??= this.device.readSync(buffer, this.aval);
    if (!this.#host) {
      throw new Error(
        `this Array lives on ${this.device.id}: read it with \`await x.data()\`, not synchronously`,
      );
    }
    return this.#host.slice();
  }

  /** Host values if known without a device round trip. */
  peekHost(): TypedArray | undefined {
    if (this.#buffer === null) return undefined;
    this.#host ??= this.device.readSync(this.#buffer, this.aval);
    return this.#host;
  }

  override async tolist(): Promise<NestedList> {
    return toNested(await this.data(), this.shape, this.dtype === "bool");
  }

  /** The single element of a size-1 array, as a JS number (or boolean). */
  override async item(): Promise<number | boolean> {
    if (this.size !== 1)
      throw new TypeError(`item() needs an array of size 1, got shape (${this.shape.join(", ")})`);
    const v = (await this.data())[0];
    return this.dtype === "bool" ? v !== 0 : v;
  }

  /** Waits until the device has computed this array. */
  async blockUntilReady(): Promise<this> {
    await this.device.synchronize();
    return this;
  }

  override dispose(): void {
    if (this.#buffer === null) return;
    releaseOnCollect.unregister(this);
    this.device.release(this.#buffer);
    this.#buffer = null;
    this.#host = undefined;
  }

  override toString(): string {
    if (this.#buffer === null)
      return `Array(<disposed>, shape=(${this.shape.join(", ")}), dtype=${this.dtype})`;
    const host = this.peekHost();
    if (!host)
      return `Array(<on ${this.device.id}: await x.data() to read>, shape=(${this.shape.join(", ")}), dtype=${this.dtype})`;
    return formatArray(host, this.shape, this.dtype, this.weakType);
  }

  /** Formats with values, reading them from the device first if needed. */
  async toStringAsync(): Promise<string> {
    if (this.#buffer !== null) await this.data();
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function toNested(values: TypedArray, shape: readonly number[], bool: boolean): NestedList {
  const conv = (v: number) => (bool ? v !== 0 : v);
  if (shape.length === 0) return conv(values[0]);
  const build = (offset: number, dim: number, stride: number): NestedList[] => {
    const n = shape[dim];
    const inner = stride / n;
    const out: NestedList[] = [];
    for (let k = 0; k < n; k++) {
      out.push(
        dim === shape.length - 1 ? conv(values[offset + k]) : build(offset + k * inner, dim + 1, inner),
      );
    }
    return out;
  };
  return build(0, 0, values.length);
}
