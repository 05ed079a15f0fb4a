/**
 * The fast CPU executor: arrays live in one shared WebAssembly heap; elementwise maps, reductions and
 * dot_general run as SIMD128 kernels (split across worker threads when large), and every other
 * primitive runs the reference CPU implementation on views of the heap, its results copied back in.
 */
import v8 from "node:v8";
import type { ShapedArray } from "../../core/aval.js";
import { Primitive, type ParamsOf } from "../../core/primitive.js";
import { hostArray, type DType, type TypedArray } from "../../dtype.js";
import { kernelRulesOf } from "../../primitives/index.js";
import { stridesOf } from "../../shape.js";
import type { Executable } from "../../core/executable.js";
import type { Jaxpr } from "../../core/jaxpr.js";
import type { Device, DeviceBuffer } from "../device.js";
import { compileWasm } from "./compiler/executable.js";
import { Heap } from "./heap.js";
import {
  TRIG_LIMIT,
  binaryName,
  buildKernelModule,
  hasBinary,
  type BinaryOp,
  type CompareOp,
  type Lane,
  type ReduceOp,
  UNARY_F32_OF,
} from "./kernels.js";
import { GEMM } from "./matmul-kernel.js";
import { WorkerPool, loadedName } from "./pool.js";
import { Recording } from "./shard-recording.js";
import { runShardsConcurrently } from "./concurrent-shards.js";
import type { ConcreteArray } from "../../core/concrete-array.js";
import { wasmApi, type WasmModule } from "./wasm-api.js";

/** 2 GiB of address space at most (32768 pages of 64 KiB); committed only as the heap grows. */
const MAX_PAGES = 32768;
/** Elements (or multiply-adds for matmul) below which a kernel stays on the calling thread. */
export const SPLIT_ELEMENTS = 1 << 17;
const SPLIT_FLOPS = 1 << 21;

const BYTES: Record<DType, number> = { float32: 4, int32: 4, uint32: 4, bool: 1, float16: 2 };

export class WasmBuffer implements DeviceBuffer {
  released = false;
  constructor(
    readonly device: WasmDevice,
    readonly ptr: number,
    readonly bytes: number,
  ) {}
}

export type Kernel = (...args: number[]) => number | undefined;

/** A compiled program's kernels: another module over the same memory, loaded into the pool as `prefix:`. */
export interface ProgramKernels {
  kernels: Record<string, Kernel>;
  module: WasmModule;
  prefix: string;
  names: string[];
}

const BINARY_PRIMS: Partial<Record<Primitive, BinaryOp>> = {
  [Primitive.Add]: "add",
  [Primitive.Sub]: "sub",
  [Primitive.Mul]: "mul",
  [Primitive.Div]: "div",
  [Primitive.Max]: "max",
  [Primitive.Min]: "min",
};
const COMPARE_PRIMS: Partial<Record<Primitive, CompareOp>> = {
  [Primitive.Eq]: "eq",
  [Primitive.Ne]: "ne",
  [Primitive.Lt]: "lt",
  [Primitive.Le]: "le",
  [Primitive.Gt]: "gt",
  [Primitive.Ge]: "ge",
};
const REDUCE_PRIMS: Partial<Record<Primitive, ReduceOp>> = {
  [Primitive.ReduceSum]: "sum",
  [Primitive.ReduceMax]: "max",
  [Primitive.ReduceMin]: "min",
};

function laneOf(dtype: DType): Lane | undefined {
  return dtype === "float32" ? "f32" : dtype === "int32" ? "i32" : dtype === "uint32" ? "u32" : undefined;
}

/** Counts of kernel dispatches by path, for tests (which kernels really ran). */
export interface WasmStats {
  simd: number;
  fallback: number;
  parallel: number;
  /** Program runs of pmap shards that ran side by side on the pool's threads. */
  concurrentShards: number;
}

let sharedModule: WasmModule | undefined;

/**
 * Compiles with V8's optimising tier right away: a kernel runs as one long call, and a call that
 * starts in the baseline tier (Liftoff) stays there (about 4x slower on matmul). The flag is restored
 * at once so other modules in the process are compiled as usual.
 */
export function compileOptimized(bytes: Uint8Array): WasmModule {
  v8.setFlagsFromString("--no-liftoff");
  try {
    return new wasmApi.Module(bytes);
  } finally {
    v8.setFlagsFromString("--liftoff");
  }
}

export class WasmDevice implements Device {
  readonly kind = "cpu";
  readonly heap: Heap;
  readonly stats: WasmStats = { simd: 0, fallback: 0, parallel: 0, concurrentShards: 0 };
  private readonly module: WasmModule;
  private readonly kernels: Record<string, Kernel>;
  private readonly names: string[];
  private pool: WorkerPool | undefined;
  private poolFailed = false;
  /** While set, kernel calls are recorded instead of run (shard-recording.ts). */
  private recording: Recording | undefined;

  constructor(
    readonly id = "wasm:0",
    /** Threads for large kernels (the calling thread included); 1 keeps everything on this thread. */
    private threads?: number,
  ) {
    this.heap = new Heap(MAX_PAGES);
    sharedModule ??= compileOptimized(buildKernelModule(MAX_PAGES));
    this.module = sharedModule;
    const instance = new wasmApi.Instance(this.module, { env: { memory: this.heap.memory } });
    this.kernels = instance.exports as Record<string, Kernel>;
    this.names = Object.keys(instance.exports);
  }

  /** Sets the number of threads large kernels use (1 = this thread only); restarts the pool. */
  setThreads(threads: number | undefined): void {
    this.releaseWorkers();
    this.threads = threads;
    this.poolFailed = false;
  }

  /** Terminates the worker threads (started again on the next large kernel). */
  releaseWorkers(): void {
    this.pool?.close();
    this.pool = undefined;
  }

  upload(host: TypedArray): DeviceBuffer {
    const b = this.allocBuffer(host.byteLength);
    this.write(b, host);
    return b;
  }

  /** Copies host values into a buffer. */
  write(b: WasmBuffer, host: TypedArray): void {
    // Buffer.copy is a memcpy; TypedArray.set into shared memory copies element by element in V8.
    if (host.byteLength > 0)
      Buffer.from(host.buffer, host.byteOffset, host.byteLength).copy(
        Buffer.from(this.heap.buffer, b.ptr, host.byteLength),
      );
  }

  execute<P extends Primitive>(
    prim: P,
    inputs: DeviceBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    params: ParamsOf<P>,
  ): DeviceBuffer[] {
    const ins = inputs.map((b) => this.own(b));
    const fast = this.fast(prim, ins, inAvals, outAvals, params);
    if (fast) {
      this.stats.simd++;
      return fast;
    }
    this.stats.fallback++;
    const reference = () =>
      kernelRulesOf(prim).cpu(
        ins.map((b, k) => this.view(b, inAvals[k])),
        inAvals,
        outAvals,
        params,
      );
    if (this.recording) {
      // A JS step between recorded kernel calls: its outputs exist now, its values when it runs.
      const outs = outAvals.map((a) => this.alloc(a));
      this.recordHostStep(() => reference().forEach((a, k) => this.write(outs[k], a)));
      return outs;
    }
    return reference().map((a) => this.upload(a));
  }

  /** pmap's shards side by side on the pool's threads, when the program allows (concurrent-shards.ts). */
  runShards(exe: Executable, shardInputs: ConcreteArray[][]): ConcreteArray[][] | undefined {
    return runShardsConcurrently(this, exe, shardInputs);
  }

  /**
   * Runs `work` with every kernel call recorded instead of run, and no worker threads: the calls
   * run later through the returned recording (pmap's concurrent shards).
   */
  record<T>(work: () => T): { result: T; recording: Recording } {
    if (this.recording) throw new Error(`${this.id}: already recording`);
    const recording = new Recording();
    this.recording = recording;
    try {
      return { result: work(), recording };
    } catch (e) {
      // Nothing recorded will run: the frees put off for it happen now.
      this.recording = undefined;
      for (const free of recording.afterwards) free();
      throw e;
    } finally {
      this.recording = undefined;
    }
  }

  get isRecording(): boolean {
    return this.recording !== undefined;
  }

  /** While recording: a step of JS to run in order between the recorded calls. */
  recordHostStep(step: () => void): void {
    this.recording!.host(step);
  }

  /** Runs `work` now, or, while recording, once the recorded program has run. */
  afterRecordedRun(work: () => void): void {
    if (this.recording) this.recording.afterwards.push(work);
    else work();
  }

  /** Calls one of the device's own kernels on this thread (a pool job's local share). */
  private readonly runHere = (fn: string, args: number[]) => this.kernels[fn](...args);

  /** Calls a kernel on this thread, or records the call while recording (then returns 0). */
  invoke(fn: string, args: number[], program?: ProgramKernels): number {
    const kernel = (program?.kernels ?? this.kernels)[fn];
    if (this.recording) {
      this.recording.call({ fn: poolName(fn, program), kernel, args, program });
      return 0;
    }
    return kernel(...args) ?? 0;
  }

  /** Fused wasm kernels for the jaxpr's elementwise chains (compiler/), other equations as eager. */
  compile(jaxpr: Jaxpr): Executable {
    return compileWasm(this, jaxpr);
  }

  read(buffer: DeviceBuffer, aval: ShapedArray): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buffer, aval));
  }

  readSync(buffer: DeviceBuffer, aval: ShapedArray): TypedArray {
    // An ordinary (unshared) copy. TypedArray.slice/set out of shared memory copy element by
    // element in V8 (slow); Buffer.copy is a memcpy.
    const b = this.own(buffer);
    const out = hostArray(aval.dtype, aval.size);
    if (out.byteLength > 0)
      Buffer.from(this.heap.buffer, b.ptr, out.byteLength).copy(
        Buffer.from(out.buffer, out.byteOffset, out.byteLength),
      );
    return out;
  }

  copyBytes(buffer: DeviceBuffer, byteOffset: number, byteLength: number): DeviceBuffer {
    const src = this.own(buffer);
    if (byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > src.bytes)
      throw new RangeError(
        `${this.id}: bytes ${byteOffset}..${byteOffset + byteLength} are outside a buffer of ${src.bytes}`,
      );
    const b = this.allocBuffer(byteLength);
    this.copyInto(b, src, byteOffset, byteLength);
    return b;
  }

  /**
   * Copies `byteLength` bytes of `src` from `byteOffset` (by default all that fit) to the start of
   * `dst`: copyWithin inside the heap is a memmove (no host copy, no fresh host pages).
   */
  copyInto(
    dst: WasmBuffer,
    src: WasmBuffer,
    byteOffset = 0,
    byteLength = Math.min(dst.bytes, src.bytes - byteOffset),
  ): void {
    const from = src.ptr + byteOffset;
    new Uint8Array(this.heap.buffer).copyWithin(dst.ptr, from, from + byteLength);
  }

  release(buffer: DeviceBuffer): void {
    // Released already (a dispose, then the finalizer): nothing to do, and no error from a finalizer.
    if (buffer instanceof WasmBuffer && buffer.device === this && buffer.released) return;
    const b = this.own(buffer);
    b.released = true;
    this.heap.release(b.ptr, b.bytes);
  }

  synchronize(): Promise<void> {
    return Promise.resolve();
  }

  /** A typed-array view of a buffer on the heap (valid until the heap grows). */
  view(b: WasmBuffer, aval: ShapedArray): TypedArray {
    const buf = this.heap.buffer;
    switch (aval.dtype) {
      case "float32":
        return new Float32Array(buf, b.ptr, aval.size);
      case "int32":
        return new Int32Array(buf, b.ptr, aval.size);
      case "uint32":
        return new Uint32Array(buf, b.ptr, aval.size);
      case "bool":
        return new Uint8Array(buf, b.ptr, aval.size);
      case "float16":
        return new Uint16Array(buf, b.ptr, aval.size);
    }
  }

  private allocBuffer(bytes: number): WasmBuffer {
    return new WasmBuffer(this, this.heap.alloc(bytes), bytes);
  }

  /** A fresh buffer for an array of this type (for compiled programs). */
  alloc(aval: ShapedArray): WasmBuffer {
    return this.allocBuffer(aval.size * BYTES[aval.dtype]);
  }

  own(buffer: DeviceBuffer): WasmBuffer {
    if (!(buffer instanceof WasmBuffer) || buffer.device !== this)
      throw new Error(`${this.id} was given a buffer of ${buffer.device.id}`);
    if (buffer.released) throw new Error(`${this.id}: a released buffer was used`);
    return buffer;
  }

  workerPool(): WorkerPool | undefined {
    // Recorded calls are whole-range calls, each run later on one thread.
    if (this.recording) return undefined;
    if (this.pool || this.poolFailed) return this.pool;
    const threads = this.threads ?? undefined;
    if (threads === 1) return undefined;
    try {
      this.pool = new WorkerPool(this.module, this.heap.memory, this.names, threads);
      if (this.pool.threads === 1) {
        this.pool.close();
        this.pool = undefined;
        this.poolFailed = true;
      }
    } catch {
      this.poolFailed = true;
    }
    return this.pool;
  }

  /**
   * Calls a kernel over [0, n) split into aligned chunks, in parallel when `work` is large; returns
   * whether any call returned nonzero (the sin/cos kernels' out-of-range flag).
   */
  split(
    n: number,
    work: number,
    threshold: number,
    call: (start: number, count: number) => [string, number[]],
    /** Another module's kernels (a compiled program's), loaded into the pool under `prefix:`. */
    program?: ProgramKernels,
  ): boolean {
    const kernels = program?.kernels ?? this.kernels;
    const pool = work >= threshold ? this.workerPool() : undefined;
    if (!pool) {
      const [fn, args] = call(0, n);
      return this.invoke(fn, args, program) !== 0;
    }
    if (program) pool.load(program.module, program.prefix, program.names);
    this.stats.parallel++;
    const t = pool.threads;
    const chunk = Math.ceil(n / t / 4) * 4;
    const calls: [string, number[]][] = [];
    for (let s = 0; s < n; s += chunk) calls.push(call(s, Math.min(chunk, n - s)));
    const jobs = calls.map(([fn, args]) => ({ fn: poolName(fn, program), args }));
    // This thread's share is the first call.
    return pool.run(jobs, () => kernels[calls[0][0]](...calls[0][1])).some((r) => r !== 0);
  }

  /** The SIMD path when one applies, else undefined (the caller falls back). */
  private fast(
    prim: Primitive,
    ins: WasmBuffer[],
    inAvals: ShapedArray[],
    outAvals: ShapedArray[],
    params: unknown,
  ): WasmBuffer[] | undefined {
    const out = outAvals[0];
    const unary = UNARY_F32_OF[prim];
    if (unary) {
      const lane = laneOf(out.dtype);
      const fn =
        lane === "f32"
          ? `un_${unary}_f32`
          : lane === "i32" && (unary === "neg" || unary === "abs")
            ? `un_${unary}_i32`
            : undefined;
      if (!fn) return undefined;
      const y = this.alloc(out);
      const [x] = ins;
      const flagged = this.split(out.size, out.size, SPLIT_ELEMENTS / 4, (s, c) => [
        fn,
        [x.ptr + 4 * s, y.ptr + 4 * s, c],
      ]);
      if (flagged) {
        // Arguments too large for the vector range reduction: the exact result from Math.
        const xs = this.view(x, inAvals[0]);
        const ys = this.view(y, out);
        const f = unary === "sin" ? Math.sin : Math.cos;
        for (let i = 0; i < xs.length; i++) if (Math.abs(xs[i]) > TRIG_LIMIT) ys[i] = f(xs[i]);
      }
      return [y];
    }
    const binary = BINARY_PRIMS[prim];
    if (binary) {
      const lane = laneOf(out.dtype);
      if (!lane || !hasBinary(lane, binary) || inAvals[0].dtype !== inAvals[1].dtype) return undefined;
      const mode = this.mode(inAvals, out);
      if (!mode) return undefined;
      const fn = binaryName(lane, binary, mode);
      const [a, b] = ins;
      const y = this.alloc(out);
      const sa = mode === "sv" ? 0 : 4;
      const sb = mode === "vs" ? 0 : 4;
      this.split(out.size, out.size, SPLIT_ELEMENTS, (s, c) => [
        fn,
        [a.ptr + sa * s, b.ptr + sb * s, y.ptr + 4 * s, c],
      ]);
      return [y];
    }
    const compare = COMPARE_PRIMS[prim];
    if (compare) {
      const lane = laneOf(inAvals[0].dtype);
      if (!lane || inAvals[0].dtype !== inAvals[1].dtype) return undefined;
      const mode = this.mode(inAvals, out);
      if (!mode) return undefined;
      const [a, b] = ins;
      const y = this.alloc(out);
      const sa = mode === "sv" ? 0 : 4;
      const sb = mode === "vs" ? 0 : 4;
      this.split(out.size, out.size, SPLIT_ELEMENTS, (s, c) => [
        `cmp_${compare}_${lane}`,
        [a.ptr + sa * s, sa, b.ptr + sb * s, sb, y.ptr + s, c],
      ]);
      return [y];
    }
    if (prim === Primitive.SelectN) {
      const [pred, c0, c1] = inAvals;
      if (inAvals.length !== 3 || pred.dtype !== "bool" || BYTES[c0.dtype] !== 4) return undefined;
      const sp = pred.size === out.size ? 1 : 0;
      const [p, x0, x1] = ins;
      const y = this.alloc(out);
      void c1;
      this.split(out.size, out.size, SPLIT_ELEMENTS, (s, c) => [
        "select32",
        [p.ptr + sp * s, sp, x0.ptr + 4 * s, x1.ptr + 4 * s, y.ptr + 4 * s, c],
      ]);
      return [y];
    }
    const reduce = REDUCE_PRIMS[prim];
    if (reduce)
      return this.reduce(reduce, ins[0], inAvals[0], out, (params as { axes: readonly number[] }).axes);
    if (prim === Primitive.DotGeneral)
      return this.dot(ins, inAvals, out, params as ParamsOf<Primitive.DotGeneral>);
    return undefined;
  }

  /** Which operand is a broadcast scalar (the reference map2 semantics: size 1 against full size). */
  private mode(inAvals: ShapedArray[], out: ShapedArray): "vv" | "vs" | "sv" | undefined {
    const [a, b] = inAvals.map((x) => x.size);
    if (a === out.size && b === out.size) return "vv";
    if (a === out.size && b === 1) return "vs";
    if (a === 1 && b === out.size) return "sv";
    return undefined;
  }

  /** Reductions over a trailing run of axes (rows x n), including all axes. */
  private reduce(op: ReduceOp, x: WasmBuffer, xa: ShapedArray, out: ShapedArray, axes: readonly number[]) {
    const lane = laneOf(xa.dtype);
    if (!lane) return undefined;
    const sorted = [...axes].sort((p, q) => p - q);
    const r = xa.ndim;
    if (sorted.length === 0 || !sorted.every((d, j) => d === r - sorted.length + j)) return undefined;
    const fn = `red_${op}_${lane === "u32" && op === "sum" ? "i32" : lane}`;
    const rows = out.size;
    const n = rows === 0 ? 0 : xa.size / rows;
    const y = this.alloc(out);
    const pool = xa.size >= SPLIT_ELEMENTS ? this.workerPool() : undefined;
    if (pool && rows >= pool.threads) {
      this.split(rows, xa.size, SPLIT_ELEMENTS, (s, c) => [fn, [x.ptr + 4 * s * n, y.ptr + 4 * s, c, n]]);
    } else if (pool && rows === 1) {
      // One long row: partial results per thread into scratch, then one more pass over them.
      this.stats.parallel++;
      const t = pool.threads;
      const scratch = this.heap.alloc(4 * t);
      const chunk = Math.ceil(n / t / 4) * 4;
      const jobs: { fn: string; args: number[] }[] = [];
      for (let w = 0; w < t; w++) {
        const s = Math.min(n, w * chunk);
        jobs.push({ fn, args: [x.ptr + 4 * s, scratch + 4 * w, 1, Math.min(chunk, n - s)] });
      }
      pool.run(jobs, this.runHere);
      this.kernels[fn](scratch, y.ptr, 1, t);
      this.heap.release(scratch, 4 * t);
    } else {
      this.invoke(fn, [x.ptr, y.ptr, rows, n]);
    }
    return [y];
  }

  /**
   * dot_general on float32 as batches of (M x K) . (K x N): each operand's free and contracting dims
   * must collapse to one stride each (any order, so transposed operands need no copy); both are packed
   * into panels (in parallel), then the register tiles are split by rows (or columns) across threads.
   */
  private dot(
    ins: WasmBuffer[],
    [lhs, rhs]: ShapedArray[],
    out: ShapedArray,
    params: ParamsOf<Primitive.DotGeneral>,
  ) {
    if (lhs.dtype !== "float32" || out.dtype !== "float32") return undefined;
    const [[lc, rc], [lb, rb]] = params.dimension_numbers;
    const sl = stridesOf(lhs.shape);
    const sr = stridesOf(rhs.shape);
    const lFree = lhs.shape.map((_, d) => d).filter((d) => !lc.includes(d) && !lb.includes(d));
    const rFree = rhs.shape.map((_, d) => d).filter((d) => !rc.includes(d) && !rb.includes(d));
    const am = collapse(lFree, lhs.shape, sl);
    const ak = collapse(lc, lhs.shape, sl);
    const bk = collapse(rc, rhs.shape, sr);
    const bn = collapse(rFree, rhs.shape, sr);
    if (!am || !ak || !bk || !bn) return undefined;
    const [M, rsA] = am;
    const [K, csA] = ak;
    const [, ksB] = bk;
    const [N, nsB] = bn;
    const y = this.alloc(out);
    const batchShape = lb.map((d) => lhs.shape[d]);
    const batches = batchShape.reduce((p, q) => p * q, 1);
    if (out.size === 0) return [y];
    if (K === 0) {
      new Float32Array(this.heap.buffer, y.ptr, out.size).fill(0);
      return [y];
    }
    const sl0 = stridesOf(lhs.shape);
    const sr0 = stridesOf(rhs.shape);
    const offsets = (bi: number): [number, number] => {
      let offA = 0;
      let offB = 0;
      const bs0 = stridesOf(batchShape);
      for (let j = 0; j < lb.length; j++) {
        const c = Math.floor(bi / bs0[j]) % batchShape[j];
        offA += c * sl0[lb[j]];
        offB += c * sr0[rb[j]];
      }
      return [offA, offB];
    };
    // Matrix-vector products with contiguous rows: dot products of rows, no packing.
    if ((M === 1 || N === 1) && (csA === 1 || K === 1) && (ksB === 1 || K === 1)) {
      const [mat, rs, vec, rowsN] = M === 1 ? [1, nsB, 0, N] : [0, rsA, 1, M];
      for (let bi = 0; bi < batches; bi++) {
        const off = offsets(bi);
        const mp = ins[mat].ptr + 4 * off[mat];
        const vp = ins[vec].ptr + 4 * off[vec];
        const yp = y.ptr + 4 * bi * M * N;
        this.split(rowsN, rowsN * K, SPLIT_FLOPS, (s, c) => ["dot_rows", [mp, rs, vp, yp, s, s + c, K]]);
      }
      return [y];
    }
    // Packed panels (matmul-kernel.ts), then register tiles; large products split over the pool.
    const { mr, nr } = GEMM;
    const panelsA = Math.ceil(M / mr);
    const panelsB = Math.ceil(N / nr);
    const pool = M * N * K >= SPLIT_FLOPS ? this.workerPool() : undefined;
    const t = pool?.threads ?? 1;
    const paBytes = 4 * panelsA * mr * K;
    const pbBytes = 4 * panelsB * nr * K;
    const scratchBytes = 4 * mr * nr * t;
    const pa = this.heap.alloc(paBytes);
    const pb = this.heap.alloc(pbBytes);
    const scratch = this.heap.alloc(scratchBytes);
    const counter = this.heap.alloc(4);
    for (let bi = 0; bi < batches; bi++) {
      const [offA, offB] = offsets(bi);
      const c = y.ptr + 4 * bi * M * N;
      const pack = (w: number, of: number) => [
        ...[ins[0].ptr + 4 * offA, rsA, csA, pa, M],
        ...[ins[1].ptr + 4 * offB, nsB, ksB, pb, N, K, w, of],
      ];
      // Threads take chunks of whole register tiles from a shared counter: rows of A panels, or
      // columns of B panels if those are more.
      const byRows = panelsA >= panelsB;
      const panels = byRows ? panelsA : panelsB;
      if (pool) {
        this.stats.parallel++;
        pool.run(
          Array.from({ length: t }, (_, w) => ({ fn: "gemm_pack", args: pack(w, t) })),
          this.runHere,
        );
        new Int32Array(this.heap.buffer, counter, 1)[0] = 0;
        const chunk = Math.max(1, Math.floor(panels / (4 * t)));
        const jobs = Array.from({ length: t }, (_, w) => ({
          fn: "gemm_compute_shared",
          args: [pa, pb, c, N, M, N, K, counter, chunk, byRows ? 1 : 0, scratch + 4 * mr * nr * w],
        }));
        pool.run(jobs, this.runHere);
      } else {
        this.invoke("gemm_pack", pack(0, 1));
        this.invoke("gemm_compute", [pa, pb, c, N, M, N, K, 0, panelsA * mr, 0, panelsB * nr, scratch]);
      }
    }
    this.heap.release(pa, paBytes);
    this.heap.release(pb, pbBytes);
    this.heap.release(scratch, scratchBytes);
    this.heap.release(counter, 4);
    return [y];
  }
}

/** A kernel's name in the worker pool: a compiled program's kernels are loaded as `prefix:name`. */
function poolName(fn: string, program: ProgramKernels | undefined): string {
  return program ? loadedName(program.prefix, fn) : fn;
}

/**
 * The size and single element stride of a group of dims read in the given order, if they collapse
 * (each stride equals the next one's stride times its size; size-1 dims are ignored).
 */
function collapse(
  dims: readonly number[],
  shape: readonly number[],
  strides: readonly number[],
): [number, number] | undefined {
  const ds = dims.filter((d) => shape[d] !== 1);
  const size = dims.reduce((p, d) => p * shape[d], 1);
  if (ds.length === 0) return [size, 0];
  for (let j = 0; j + 1 < ds.length; j++) {
    if (strides[ds[j]] !== strides[ds[j + 1]] * shape[ds[j + 1]]) return undefined;
  }
  return [size, strides[ds[ds.length - 1]]];
}
