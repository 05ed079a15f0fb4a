/**
 * The wasm device's memory: one growable shared `WebAssembly.Memory`, carved up by a size-class
 * allocator. Freed blocks go to a free list per class and are reused first, so a loop of eager ops
 * on same-sized arrays runs in bounded memory; classes are 16-byte multiples up to 4 KiB, then four
 * per power of two (at most 25% waste).
 */
import { wasmApi, type WasmMemory } from "./wasm-api.js";

const PAGE = 65536;
const ALIGN = 16;

export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class Heap {
  readonly memory: WasmMemory;
  /** Bump pointer: everything below was handed out at least once. Address 0..63 stays unused. */
  private top = 64;
  private readonly free = new Map<number, number[]>();
  private live = 0;
  /** Releases put off until `releaseHeld` (while recorded work that may read them is pending). */
  private held: [number, number][] | undefined;
  private paused: [number, number][] | undefined;

  constructor(
    readonly maxPages: number,
    initialPages = 16,
  ) {
    this.memory = new wasmApi.Memory({ initial: initialPages, maximum: maxPages, shared: true });
  }

  /** A block of at least `bytes` bytes, 16-byte aligned. */
  alloc(bytes: number): number {
    const cls = sizeClass(bytes);
    const list = this.free.get(cls);
    if (list && list.length > 0) {
      this.live += cls;
      return list.pop()!;
    }
    const ptr = this.top;
    const end = ptr + cls;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least a quarter of the current size, to keep grow calls rare.
      const need = Math.ceil((end - have) / PAGE);
      const pages = Math.min(Math.max(need, Math.ceil(have / PAGE / 4)), this.maxPages - have / PAGE);
      if (pages < need) throw new RangeError(`wasm heap: out of memory allocating ${bytes} bytes`);
      this.memory.grow(pages);
    }
    this.top = end;
    this.live += cls;
    return ptr;
  }

  release(ptr: number, bytes: number): void {
    if (this.held) {
      this.held.push([ptr, bytes]);
      return;
    }
    const cls = sizeClass(bytes);
    this.live -= cls;
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push(ptr);
  }

  /**
   * From now until `releaseHeld`, released blocks are not reused: recorded shard programs run later,
   * side by side, and a block one shard freed at recording time may still be read when they run.
   */
  hold(): void {
    this.held ??= [];
  }

  /** Releases go to the free lists again for a while (the blocks held so far stay held). */
  pauseHold(): void {
    this.paused = this.held;
    this.held = undefined;
  }

  resumeHold(): void {
    this.held = this.paused;
    this.paused = undefined;
  }

  /** Releases the blocks held since `hold` and ends holding. */
  releaseHeld(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [ptr, bytes] of held) this.release(ptr, bytes);
  }

  /** Bytes handed out and not released, and the high-water mark of the heap. */
  stats(): { liveBytes: number; heapBytes: number } {
    return { liveBytes: this.live, heapBytes: this.top };
  }

  /** The current backing buffer (a new object after each grow). */
  get buffer(): SharedArrayBuffer {
    return this.memory.buffer as unknown as SharedArrayBuffer;
  }
}
