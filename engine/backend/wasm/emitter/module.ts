/**
 * A small WebAssembly binary emitter: one module importing a (shared) memory, with functions built
 * instruction by instruction. Only what the CPU kernels need: i32/f32 scalars, SIMD128 vectors,
 * locals, blocks, loops, branches, loads and stores.
 */
import { f32Bytes, name, sleb, uleb } from "./leb128.js";
import { Op, Simd, ValType, type OpName, type SimdName } from "./opcodes.js";

/** Natural alignment (log2 bytes) of the memory instructions, used when no alignment is given. */
const NATURAL_ALIGN: Partial<Record<number, number>> = {
  [Op.i32_load]: 2,
  [Op.f32_load]: 2,
  [Op.i32_load8_u]: 0,
  [Op.i32_store]: 2,
  [Op.f32_store]: 2,
  [Op.i32_store8]: 0,
};

export class FunctionBuilder {
  readonly code: number[] = [];
  /** Types of the locals declared after the parameters. */
  readonly localTypes: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
    readonly exported = true,
  ) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(name: OpName): this {
    this.code.push(Op[name]);
    return this;
  }

  simd(name: SimdName): this {
    this.code.push(0xfd, ...uleb(Simd[name]));
    return this;
  }

  get(i: number): this {
    this.code.push(Op.local_get, ...uleb(i));
    return this;
  }

  set(i: number): this {
    this.code.push(Op.local_set, ...uleb(i));
    return this;
  }

  tee(i: number): this {
    this.code.push(Op.local_tee, ...uleb(i));
    return this;
  }

  i32(n: number): this {
    this.code.push(Op.i32_const, ...sleb(n));
    return this;
  }

  f32(x: number): this {
    this.code.push(Op.f32_const, ...f32Bytes(x));
    return this;
  }

  /** A v128 constant with four f32 lanes (or four i32 lanes with `ints`). */
  v128(lanes: readonly [number, number, number, number], ints = false): this {
    const bytes = new Uint8Array((ints ? Int32Array : Float32Array).from(lanes).buffer);
    this.code.push(0xfd, ...uleb(Simd.v128_const), ...bytes);
    return this;
  }

  /** A v128 constant with two f64 lanes. */
  v128f64(lanes: readonly [number, number]): this {
    const bytes = new Uint8Array(Float64Array.from(lanes).buffer);
    this.code.push(0xfd, ...uleb(Simd.v128_const), ...bytes);
    return this;
  }

  /** i8x16.shuffle of the two v128 on the stack: output byte j is input byte lanes[j] (0..31). */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31))
      throw new RangeError("shuffle: 16 lanes in 0..31");
    this.code.push(0xfd, ...uleb(Simd.i8x16_shuffle), ...lanes);
    return this;
  }

  /** A scalar memory access; the address is on the stack. */
  mem(
    name: "i32_load" | "f32_load" | "i32_load8_u" | "i32_store" | "f32_store" | "i32_store8",
    offset = 0,
  ): this {
    const code = Op[name];
    this.code.push(code, ...uleb(NATURAL_ALIGN[code] ?? 0), ...uleb(offset));
    return this;
  }

  /** v128.load / v128.store (or a 4-byte load zero-extended or splat); `align` is log2 of the alignment promised (0 = none). */
  vmem(
    name: "v128_load" | "v128_store" | "v128_load32_zero" | "v128_load32_splat",
    offset = 0,
    align = 0,
  ): this {
    this.code.push(0xfd, ...uleb(Simd[name]), ...uleb(align), ...uleb(offset));
    return this;
  }

  /** i32.atomic.rmw.add (address, operand on the stack; pushes the old value): shared counters. */
  atomicAdd(offset = 0): this {
    this.code.push(0xfe, 0x1e, 2, ...uleb(offset));
    return this;
  }

  /** i32x4/f32x4 extract_lane (or i32x4 replace_lane) with its lane immediate. */
  lane(name: "i32x4_extract_lane" | "f32x4_extract_lane" | "i32x4_replace_lane", lane: number): this {
    this.code.push(0xfd, ...uleb(Simd[name]), lane);
    return this;
  }

  block(): this {
    this.code.push(Op.block, 0x40);
    return this;
  }

  loop(): this {
    this.code.push(Op.loop, 0x40);
    return this;
  }

  if(): this {
    this.code.push(Op.if, 0x40);
    return this;
  }

  end(): this {
    this.code.push(Op.end);
    return this;
  }

  br(depth: number): this {
    this.code.push(Op.br, ...uleb(depth));
    return this;
  }

  brIf(depth: number): this {
    this.code.push(Op.br_if, ...uleb(depth));
    return this;
  }

  call(index: number): this {
    this.code.push(Op.call, ...uleb(index));
    return this;
  }

  /** The code section entry: locals (run-length grouped) then the body and its final `end`. */
  encodeBody(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), t])];
    append(body, this.code);
    body.push(Op.end);
    const out = uleb(body.length);
    append(out, body);
    return out;
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  initialPages: number;
  maximumPages: number;
  shared: boolean;
}

/** Appends with a loop (spreading large arrays into push overflows the stack and makes garbage). */
function append(dst: number[], src: readonly number[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]);
}

function section(id: number, contents: number[]): number[] {
  const out = [id, ...uleb(contents.length)];
  append(out, contents);
  return out;
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const item of items) append(out, item);
  return out;
}

export class ModuleBuilder {
  readonly functions: FunctionBuilder[] = [];

  constructor(readonly memory?: MemoryImport) {}

  /** Adds a function; its index is its position (the module imports no functions). */
  func(
    name: string,
    params: readonly ValType[],
    results: readonly ValType[] = [],
    exported = true,
  ): FunctionBuilder {
    const f = new FunctionBuilder(name, params, results, exported);
    this.functions.push(f);
    return f;
  }

  indexOf(name: string): number {
    const i = this.functions.findIndex((f) => f.name === name);
    if (i < 0) throw new Error(`wasm emitter: no function named ${name}`);
    return i;
  }

  encode(): Uint8Array {
    // Function types, deduplicated by their encoding.
    const typeKeys: string[] = [];
    const types: number[][] = [];
    const typeOf = this.functions.map((f) => {
      const t = [0x60, ...uleb(f.params.length), ...f.params, ...uleb(f.results.length), ...f.results];
      const key = t.join(",");
      let i = typeKeys.indexOf(key);
      if (i < 0) {
        i = typeKeys.length;
        typeKeys.push(key);
        types.push(t);
      }
      return i;
    });
    const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    append(bytes, section(1, vec(types)));
    if (this.memory) {
      const m = this.memory;
      // Limits: 0x01 = min and max, 0x03 = shared with min and max.
      const limits = [m.shared ? 0x03 : 0x01, ...uleb(m.initialPages), ...uleb(m.maximumPages)];
      bytes.push(...section(2, vec([[...name(m.module), ...name(m.name), 0x02, ...limits]])));
    }
    append(bytes, section(3, vec(typeOf.map((t) => uleb(t)))));
    const exports = this.functions
      .map((f, i) => (f.exported ? [...name(f.name), 0x00, ...uleb(i)] : undefined))
      .filter((e): e is number[] => e !== undefined);
    append(bytes, section(7, vec(exports)));
    append(bytes, section(10, vec(this.functions.map((f) => f.encodeBody()))));
    return new Uint8Array(bytes);
  }
}
