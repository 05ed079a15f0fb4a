/**
 * The Dawn WebGPU executor (npm `webgpu`): one compute dispatch per primitive in eager mode. Pipelines
 * are cached by WGSL source; freed buffers go to a pool keyed by size; reads are asynchronous.
 */
import { ShapedArray } from "../../core/aval.js";
import { Primitive, type ParamsOf } from "../../core/primitive.js";
import { hostArray, type TypedArray } from "../../dtype.js";
import type { Device, DeviceBuffer, HostStepContext, HostStepFn } from "../device.js";
import type { Executable } from "../../core/executable.js";
import type { Jaxpr } from "../../core/jaxpr.js";
import { kernelRulesOf } from "../../primitives/index.js";
import { WGSL_HELPERS, wgslStorageType } from "./wgsl.js";
import { WorkQueue } from "./work-queue.js";
import { compileWebGpu } from "./compiler/executable.js";
import type { DeviceLimits } from "./compiler/kernels.js";
import { DeviceLostError, WgslKernelError } from "./errors.js";
import { waitGently } from "./dawn-polling.js";

const WORKGROUP_SIZE = 64;
const MAX_WORKGROUPS_PER_DIM = 65535;

// WebGPU's usage flags (the numeric values of GPUBufferUsage / GPUMapMode in the spec).
const USAGE_STORAGE = 0x80;
const USAGE_COPY_SRC = 0x04;
const USAGE_COPY_DST = 0x08;
const USAGE_MAP_READ = 0x01;
const MAP_MODE_READ = 0x01;

/** A failure inside a host-driven step, reported by the next read or synchronize. */
class HostStepError extends Error {}

export class GpuBuffer implements DeviceBuffer {
  constructor(
    readonly device: WebGpuDevice,
    readonly buffer: GPUBuffer,
  ) {}
}

/** Bytes a dtype takes on the device (bool is widened to u32). */
function deviceBytes(aval: ShapedArray): number {
  return Math.max(4, aval.size * 4);
}

export class WebGpuDevice implements Device {
  readonly kind = "webgpu";
  readonly id = "webgpu:0";
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private static readonly MAX_POOLED_BYTES = 256 << 20;
  // [control-flow] ordered work queue
  /**
   * Ordered work (see work-queue.ts): GPU submissions and buffer releases go through `inOrder`, so
   * that while a host-driven step (enqueueHostStep) is pending they wait behind it. `context` is the
   * queue that new work joins: the device's own, or a running step's while that step's synchronous
   * engine code runs (so nested loops and the body's kernels are ordered within the step).
   */
  private readonly queue = new WorkQueue();
  private context = this.queue;

  /**
   * Runs `work` (a `gpu.queue.submit`, returning a buffer to the pool) in queue order: at once when
   * no host-driven step is pending, else behind it. Code that submits GPU work or recycles buffers
   * outside `execute`/`release` (a compiled executable) must go through here too.
   */
  inOrder(work: () => void): void {
    this.context.submit(work);
  }
  // [end control-flow]
  // [webgpu-compiler] device state
  /** Bytes and number of GPU buffers that exist (handed out or pooled). */
  private allocatedBytes = 0;
  private bufferCount = 0;
  /** The first error WebGPU reported asynchronously (rejected kernel, out of memory), not yet thrown. */
  private failure: Error | undefined;
  private readonly pendingChecks = new Set<Promise<void>>();
  private lostError: DeviceLostError | undefined;
  private readonly lostPromise: Promise<void>;
  readonly limits: DeviceLimits;
  /** A CPU adapter (lavapipe, SwiftShader): its "GPU" threads share the cores with ours. */
  readonly software: boolean;
  /** The largest array a kernel can bind (read once: Dawn's `limits` makes a new object per read). */
  private readonly maxBindingBytes: number;
  // [end webgpu-compiler]
  // [webgpu-peers] batched submission
  /**
   * Commands of compiled runs and eager kernels not yet submitted: one shared encoder with one open
   * compute pass, submitted by `flushPending` (before anything that touches the queue timeline
   * otherwise: uploads, reads, host steps, destroying a buffer) and at the latest in a microtask.
   * A submit costs ~20 µs on lavapipe, an encoder and pass ~10 µs more: 1000 tiny calls in a loop
   * become one submit.
   */
  private pendingEncoder: GPUCommandEncoder | undefined;
  private pendingPass: GPUComputePassEncoder | undefined;
  private pendingDispatches = 0;
  private pendingPipeline: GPUComputePipeline | undefined;
  private pendingGroup: GPUBindGroup | undefined;
  private static readonly MAX_PENDING_DISPATCHES = 256;
  private static readonly SCOPED_ALLOCATION_BYTES = 1 << 20;
  /** Submits of pending commands so far (`flushPending`). */
  private submits = 0;
  /** When each pooled buffer went back to the pool, counted in `submits`. */
  private readonly pooledAt = new WeakMap<GPUBuffer, number>();
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();

  /** Whether work may join the pending pass: no host-driven step queued, and not inside one. */
  get canBatch(): boolean {
    return this.context === this.queue && this.queue.idle;
  }

  /** The shared pending compute pass (only while `canBatch`); dispatches go through `batchDispatch`. */
  batchPass(): GPUComputePassEncoder {
    if (!this.pendingEncoder) {
      this.pendingEncoder = this.gpu.createCommandEncoder();
      queueMicrotask(() => this.flushPending());
    }
    if (!this.pendingPass) {
      this.pendingPass = this.pendingEncoder.beginComputePass();
      this.pendingPipeline = this.pendingGroup = undefined;
    }
    return this.pendingPass;
  }

  /** The pending encoder outside any pass (for buffer copies between dispatches). */
  batchEncoder(): GPUCommandEncoder {
    this.batchPass().end();
    this.pendingPass = undefined;
    return this.pendingEncoder!;
  }

  /**
   * Records one dispatch into the pending pass, skipping the pipeline and bind group when they are
   * those of the previous dispatch (a loop of small calls: each call costs one N-API call then).
   */
  batchDispatch(pipeline: GPUComputePipeline, group: GPUBindGroup, groups: [number, number, number]): void {
    const pass = this.batchPass();
    if (this.pendingPipeline !== pipeline) pass.setPipeline(pipeline);
    if (this.pendingGroup !== group) pass.setBindGroup(0, group);
    this.pendingPipeline = pipeline;
    this.pendingGroup = group;
    pass.dispatchWorkgroups(...groups);
    if (++this.pendingDispatches >= WebGpuDevice.MAX_PENDING_DISPATCHES) this.flushPending();
  }

  /** Executables' own command encoders not yet submitted (their buffers are not destroyed meanwhile). */
  private openEncoders = 0;
  private readonly retired: GPUBuffer[] = [];

  /** A command encoder of an executable's own; `closeEncoder` once its submit is queued (or dropped). */
  openEncoder(): GPUCommandEncoder {
    const encoder = this.gpu.createCommandEncoder();
    this.openEncoders++;
    return encoder;
  }

  closeEncoder(): void {
    if (--this.openEncoders > 0 || this.retired.length === 0) return;
    const retired = this.retired.splice(0);
    this.inOrder(() => {
      for (const b of retired) b.destroy();
    });
  }

  /** Submits the pending commands (if any) now. */
  flushPending(): void {
    const encoder = this.pendingEncoder;
    if (!encoder) return;
    this.pendingPass?.end();
    this.pendingEncoder = this.pendingPass = undefined;
    this.pendingDispatches = 0;
    this.gpu.queue.submit([encoder.finish()]);
    this.submits++;
  }

  /** A pipeline's bind group layout (Dawn makes a new object on every `getBindGroupLayout`). */
  layoutOf(pipeline: GPUComputePipeline): GPUBindGroupLayout {
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    return layout;
  }
  // [end webgpu-peers]

  constructor(
    readonly gpu: GPUDevice,
    readonly adapterDescription: string,
    // Dawn's instance and adapter must outlive the device: if they are collected, the device crashes.
    private instance: GPU | null,
    private adapter: GPUAdapter | null,
  ) {
    // [webgpu-compiler] limits and loss
    const l = gpu.limits;
    this.maxBindingBytes = l.maxStorageBufferBindingSize;
    const software = /llvmpipe|lavapipe|swiftshader|cpu/i.test(adapterDescription);
    this.software = software;
    this.limits = {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      // Software (CPU) adapters run workgroup-memory tiling slower than direct register blocking,
      // and pay per workgroup: fewer, longer-lived invocations.
      matmulTiling: software ? "registers" : "workgroup",
      maxGridGroups: software ? 1024 : 16384,
      // 2^23 (e.g. 256³) multiply-adds: from 2^21 (128³, or 512x64x128) the textures already won
      // 1.5-2x on lavapipe, but their two copies would show in notebook 02's kernel count.
      matmulTextureMinMacs: software ? 1 << 23 : Infinity,
      maxTextureDimension2D: l.maxTextureDimension2D,
    };
    // Errors outside any error scope become the next call's exception instead of a console warning.
    gpu.onuncapturederror = (ev: GPUUncapturedErrorEvent) =>
      this.fail(new Error(`${this.id}: WebGPU reported an error: ${ev.error.message}`));
    this.lostPromise = gpu.lost.then((info) => {
      this.lostError = new DeviceLostError(this.id, String(info.reason ?? "unknown"), info.message ?? "");
    });
    // [end webgpu-compiler]
  }

  // [webgpu-compiler] compiler support
  /** Compiles a jaxpr into fused WGSL kernels (engine/backend/webgpu/compiler). */
  compile(jaxpr: Jaxpr): Executable {
    this.checkUsable();
    return compileWebGpu(this, jaxpr);
  }

  /** Bytes in buffers handed out (live), bytes waiting in the pool, and how many GPU buffers exist. */
  memoryStats(): { liveBytes: number; pooledBytes: number; buffers: number } {
    return {
      liveBytes: this.allocatedBytes - this.pooledBytes,
      pooledBytes: this.pooledBytes,
      buffers: this.bufferCount,
    };
  }

  /** Throws if the device was lost, or the error WebGPU reported since the last call (once). */
  checkUsable(): void {
    if (this.lostError) throw this.lostError;
    const f = this.failure;
    if (f) {
      this.failure = undefined;
      throw f;
    }
  }

  /** Records an error reported asynchronously; a rejected kernel wins over its consequences. */
  fail(e: Error): void {
    if (!this.failure || (e instanceof WgslKernelError && !(this.failure instanceof WgslKernelError)))
      this.failure = e;
  }

  /** Keeps track of an asynchronous error check, so that `synchronize` can wait for it. */
  watch(check: Promise<void>): void {
    const p = check.catch((e: unknown) => this.fail(e as Error)).finally(() => this.pendingChecks.delete(p));
    this.pendingChecks.add(p);
  }

  /** Waits for the pending error checks, then throws what they found. */
  async settle(): Promise<void> {
    while (this.pendingChecks.size) await Promise.all([...this.pendingChecks]);
    this.checkUsable();
  }

  /** Resolves when the device is lost (never, normally). */
  get lost(): Promise<void> {
    return this.lostPromise;
  }
  // [end webgpu-compiler]

  upload(host: TypedArray, aval: ShapedArray): DeviceBuffer {
    if (aval.dtype === "float16")
      throw new TypeError(`${this.id}: float16 needs the shader-f16 feature, which this adapter lacks`);
    const buffer = this.allocate(deviceBytes(aval));
    // bool is one byte on the host and a u32 on the device.
    const words = aval.dtype === "bool" ? Uint32Array.from(host) : host;
    // [webgpu-peers] writes happen on the queue timeline, before commands not yet submitted: a buffer
    // pooled since the last submit may still be used by those, so they go first. Fresh buffers and
    // ones pooled before it need no submit (an eager op with a scalar operand stays in the batch).
    // This relies on no upload happening while an executable's own encoder is open (executables
    // flush it before anything that may upload) and on retired buffers never returning to the pool.
    if (this.pooledAt.get(buffer) === this.submits) this.flushPending();
    // [end webgpu-peers]
    if (words.byteLength > 0)
      this.gpu.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
    return new GpuBuffer(this, buffer);
  }

  execute<P extends Primitive>(
    prim: P,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    params: ParamsOf<P>,
  ): DeviceBuffer[] {
    this.checkUsable();
    if (prim === Primitive.Concatenate && inputs.length + 1 > this.limits.maxStorageBuffersPerShaderStage)
      return [
        this.concatenateInGroups(inputs, inAvals, outAvals[0], params as ParamsOf<Primitive.Concatenate>),
      ];
    const kernel = kernelRulesOf(prim).wgsl(inAvals, outAvals, params);
    const outputs = outAvals.map((a) => this.allocate(deviceBytes(a)));
    const threads = kernel.threads ?? outAvals[0].size;
    if (threads > 0) {
      const code = this.shaderSource(kernel.body, inAvals, outAvals, threads);
      const pipeline = this.pipeline(code, `${prim} kernel`);
      this.dispatch(pipeline, [...inputs.map((b) => this.own(b).buffer), ...outputs], threads);
    }
    return outputs.map((b) => new GpuBuffer(this, b));
  }

  /**
   * A concatenate with more operands than a shader may bind (e.g. `jnp.stack` of a loop's 64
   * results): concatenate groups of operands first, then the groups' results.
   */
  private concatenateInGroups(
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAval: ShapedArray,
    params: ParamsOf<Primitive.Concatenate>,
  ): DeviceBuffer {
    const group = this.limits.maxStorageBuffersPerShaderStage - 1;
    const parts: DeviceBuffer[] = [];
    const partAvals: ShapedArray[] = [];
    for (let k = 0; k < inputs.length; k += group) {
      const avals = inAvals.slice(k, k + group);
      const shape = [...outAval.shape];
      shape[params.dimension] = avals.reduce((n, a) => n + a.shape[params.dimension], 0);
      const aval = new ShapedArray(shape, outAval.dtype, outAval.weakType);
      parts.push(this.execute(Primitive.Concatenate, inputs.slice(k, k + group), avals, [aval], params)[0]);
      partAvals.push(aval);
    }
    const [out] = this.execute(Primitive.Concatenate, parts, partAvals, [outAval], params);
    for (const p of parts) this.release(p);
    return out;
  }

  async read(buffer: DeviceBuffer, aval: ShapedArray): Promise<TypedArray> {
    this.checkUsable();
    await this.queue.drain();
    return this.readNow(buffer, aval);
  }

  /** Reads without waiting for the work queue (a step's reads, once its own work has run). */
  private async readNow(buffer: DeviceBuffer, aval: ShapedArray): Promise<TypedArray> {
    const src = this.own(buffer).buffer;
    const bytes = deviceBytes(aval);
    this.flushPending(); // [webgpu-peers]
    const staging = this.gpu.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const encoder = this.gpu.createCommandEncoder();
    encoder.copyBufferToBuffer(src, 0, staging, 0, bytes);
    this.gpu.queue.submit([encoder.finish()]);
    await this.dawnWait(() => staging.mapAsync(MAP_MODE_READ));
    const mapped = staging.getMappedRange();
    const host = hostArray(aval.dtype, aval.size);
    if (aval.dtype === "bool") host.set(new Uint32Array(mapped, 0, aval.size));
    else new Uint8Array(host.buffer).set(new Uint8Array(mapped, 0, host.byteLength));
    staging.unmap();
    staging.destroy();
    await this.settle();
    return host;
  }

  readSync(): undefined {
    return undefined;
  }

  release(buffer: DeviceBuffer): void {
    const b = this.own(buffer).buffer;
    // Pooled only once the queued work that may still use it has been submitted.
    this.inOrder(() => this.releaseBuffer(b));
  }

  /**
   * Returns a GPU buffer to the pool (or destroys it when the pool is full) right now: callers
   * outside `release` must be in queue order themselves (`inOrder`).
   */
  releaseBuffer(b: GPUBuffer): void {
    if (this.pooledBytes + b.size > WebGpuDevice.MAX_POOLED_BYTES) {
      this.flushPending(); // [webgpu-peers] pending commands may still use it
      this.allocatedBytes -= b.size;
      this.bufferCount--;
      // An executable's own encoder, not yet submitted, may still use it: destroyed behind that.
      if (this.openEncoders > 0) this.retired.push(b);
      else b.destroy();
      return;
    }
    const list = this.pool.get(b.size) ?? [];
    this.pooledAt.set(b, this.submits);
    list.push(b);
    this.pool.set(b.size, list);
    this.pooledBytes += b.size;
  }

  /**
   * Awaits a Dawn promise: on a software adapter with Dawn polling gently (dawn-polling.ts), so the
   * main thread does not spin on a core the adapter's own threads need.
   */
  private dawnWait<T>(start: () => Promise<T>): Promise<T> {
    return this.software ? waitGently(start) : start();
  }

  async synchronize(): Promise<void> {
    this.checkUsable();
    this.flushPending(); // [webgpu-peers]
    await this.queue.drain();
    // A lost device may never report the work done: the loss ends the wait too.
    await this.dawnWait(() => Promise.race([this.gpu.queue.onSubmittedWorkDone(), this.lostPromise]));
    await this.settle();
  }

  // [control-flow] host-driven steps
  /**
   * A host-driven step: `step` runs asynchronously in queue order (after the work submitted before
   * it, before the work submitted after it), reading values back as it needs them; its results are
   * copied into output buffers allocated now, so callers get their arrays immediately. The inputs
   * are copied now (the copies are the step's to own), so the caller may dispose the originals. A
   * failure inside the step is reported by the next `read` or `synchronize`, naming `label`.
   */
  enqueueHostStep(
    label: string,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    step: HostStepFn,
  ): DeviceBuffer[] {
    this.flushPending(); // [webgpu-peers] the step's work goes behind the pending commands
    const outputs = outAvals.map((a) => this.allocate(deviceBytes(a)));
    const copies = inAvals.map((a) => this.allocate(deviceBytes(a)));
    const encoder = this.gpu.createCommandEncoder();
    inputs.forEach((b, k) =>
      encoder.copyBufferToBuffer(this.own(b).buffer, 0, copies[k], 0, deviceBytes(inAvals[k])),
    );
    const copyCommands = encoder.finish();
    this.inOrder(() => this.gpu.queue.submit([copyCommands]));
    this.context.push(async () => {
      const local = new WorkQueue();
      const ctx: HostStepContext = {
        run: <T>(work: () => T): T => {
          const saved = this.context;
          this.context = local;
          try {
            return work();
          } finally {
            this.context = saved;
          }
        },
        read: async (buffer, aval) => {
          await local.drain();
          return this.readNow(buffer, aval);
        },
      };
      try {
        const results = await step(
          ctx,
          copies.map((b) => new GpuBuffer(this, b)),
        );
        await local.drain();
        // The queue that holds this step waits for it, so these copies are in order.
        const encoder = this.gpu.createCommandEncoder();
        results.forEach((r, k) =>
          encoder.copyBufferToBuffer(this.own(r).buffer, 0, outputs[k], 0, deviceBytes(outAvals[k])),
        );
        this.gpu.queue.submit([encoder.finish()]);
      } catch (e) {
        // Work the step queued before failing still runs before anything behind the step.
        await local.drain().catch(() => undefined);
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof HostStepError) throw e; // a nested step's failure, already named
        throw new HostStepError(`${label} failed while running asynchronously on ${this.id}: ${message}`, {
          cause: e,
        });
      }
    });
    return outputs.map((b) => new GpuBuffer(this, b));
  }
  // [end control-flow]

  /** Frees the device so that Node can exit (Dawn keeps the process alive while a device lives). */
  destroy(): void {
    this.flushPending(); // [webgpu-peers]
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.allocatedBytes = this.pooledBytes = this.bufferCount = 0;
    this.pipelines.clear();
    this.gpu.destroy();
    this.instance = null;
    this.adapter = null;
  }

  /** A storage buffer of at least `bytes` bytes, from the pool when one of that size is there. */
  allocate(bytes: number): GPUBuffer {
    if (this.lostError) throw this.lostError;
    const size = Math.ceil(bytes / 4) * 4;
    const limit = this.maxBindingBytes;
    if (size > limit)
      throw new RangeError(
        `${this.id}: an array of ${size} bytes is larger than this adapter's maxStorageBufferBindingSize ` +
          `(${limit} bytes); split it, or put it on the cpu device`,
      );
    const reused = this.pool.get(size)?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    // Large buffers get an error scope of their own, so running out of memory names the size; a
    // small one's failure still surfaces (uncaptured errors become the next call's exception), and
    // skips a scope's promise per allocation (eager ops on small arrays allocate at every call).
    const scoped = size >= WebGpuDevice.SCOPED_ALLOCATION_BYTES;
    if (scoped) this.gpu.pushErrorScope("out-of-memory");
    const b = this.gpu.createBuffer({ size, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
    if (scoped)
      this.watch(
        this.gpu.popErrorScope().then((e) => {
          if (e)
            this.fail(
              new Error(`${this.id}: out of memory allocating a buffer of ${size} bytes: ${e.message}`),
            );
        }),
      );
    this.allocatedBytes += size;
    this.bufferCount++;
    return b;
  }

  private shaderSource(
    body: string,
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    threads: number,
  ): string {
    const bindings = inAvals.map(
      (a, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<${wgslStorageType(a.dtype)}>;`,
    );
    outAvals.forEach((a, k) => {
      const name = outAvals.length === 1 ? "out" : `out${k}`;
      bindings.push(
        `@group(0) @binding(${inAvals.length + k}) var<storage, read_write> ${name}: array<${wgslStorageType(a.dtype)}>;`,
      );
    });
    const helpers = Object.entries(WGSL_HELPERS)
      .filter(([name]) => body.includes(`${name}(`))
      .map(([, code]) => code);
    return `${helpers.join("\n")}
${bindings.join("\n")}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WORKGROUP_SIZE}u;
  if (i >= ${threads}u) { return; }
  ${body}
}
`;
  }

  /**
   * The compute pipeline of a WGSL source (cached by source text). WebGPU reports a rejected
   * kernel asynchronously: it becomes a WgslKernelError carrying the source, thrown by the next call.
   */
  pipeline(code: string, label = "kernel"): GPUComputePipeline {
    let pipeline = this.pipelines.get(code);
    if (!pipeline) {
      this.gpu.pushErrorScope("validation");
      this.gpu.pushErrorScope("internal");
      const module = this.gpu.createShaderModule({ code });
      pipeline = this.gpu.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      const internal = this.gpu.popErrorScope();
      const validation = this.gpu.popErrorScope();
      this.watch(
        Promise.all([internal, validation]).then(async ([a, b]) => {
          const e = a ?? b;
          if (!e) return;
          this.pipelines.delete(code);
          let detail = e.message;
          try {
            const info = await module.getCompilationInfo();
            const errors = info.messages
              .filter((m) => m.type === "error")
              .map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`);
            if (errors.length) detail = errors.join("\n");
          } catch {
            // the scope's message is all there is
          }
          this.fail(new WgslKernelError(label, detail, code));
        }),
      );
      this.pipelines.set(code, pipeline);
    }
    return pipeline;
  }

  private dispatch(pipeline: GPUComputePipeline, buffers: GPUBuffer[], threads: number): void {
    const groups = Math.ceil(threads / WORKGROUP_SIZE);
    const x = Math.min(groups, MAX_WORKGROUPS_PER_DIM);
    const y = Math.ceil(groups / x);
    const bindGroup = this.gpu.createBindGroup({
      layout: this.layoutOf(pipeline),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    // [webgpu-peers] eager kernels join the pending pass too
    if (this.canBatch) return this.batchDispatch(pipeline, bindGroup, [x, y, 1]);
    // [end webgpu-peers]
    const encoder = this.gpu.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    const commands = encoder.finish();
    this.inOrder(() => this.gpu.queue.submit([commands]));
  }

  own(buffer: DeviceBuffer): GpuBuffer {
    if (!(buffer instanceof GpuBuffer))
      throw new Error(`${this.id} was given a buffer of ${buffer.device.id}`);
    return buffer;
  }
}

/** Requests a Dawn adapter and device; undefined (with the reason) when there is none. */
export async function createWebGpuDevice(): Promise<{ device?: WebGpuDevice; reason?: string }> {
  // Dawn's Vulkan loader wants a runtime dir: use (and create) the given one, or a private one.
  const { mkdirSync } = await import("node:fs");
  process.env.XDG_RUNTIME_DIR ??= `/tmp/vmaplab-runtime-${process.getuid?.() ?? "user"}`;
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  let create: (options: string[]) => GPU;
  try {
    ({ create } = await import("webgpu"));
  } catch (e) {
    return { reason: `the npm package 'webgpu' failed to load: ${(e as Error).message}` };
  }
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter)
    return { reason: "Dawn found no WebGPU adapter (is a Vulkan driver such as Mesa >= 25 installed?)" };
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description]
    .filter(Boolean)
    .join(" ");
  // [webgpu-compiler] the adapter's own limits (more bindings and workgroup memory than the defaults)
  const al = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
      maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
      maxBufferSize: al.maxBufferSize,
      maxTextureDimension2D: al.maxTextureDimension2D,
    },
  });
  // [end webgpu-compiler]
  return { device: new WebGpuDevice(device, description || "WebGPU adapter", gpu, adapter) };
}
