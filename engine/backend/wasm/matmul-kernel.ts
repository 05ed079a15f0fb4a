/**
 * The float32 matmul of the CPU executor (C = A . B, A: M x K, B: K x N, any element strides), as three
 * wasm functions in the style of BLIS/GotoBLAS:
 *
 * - `gemm_pack_a`: A into panels of MR rows, each stored k-major (`[panel][k][MR]`, rows past M zero),
 * - `gemm_pack_b`: B into panels of NR columns, k-major (`[panel][k][NR]`, columns past N zero),
 * - `gemm_compute`: for each K block of KC, each block of MC rows, each B panel, each A panel: an
 *   MR x NR register tile (MR * NR / 4 f32x4 accumulators) updated by one `v128.load32_splat` of A and
 *   NR / 4 `v128.load`s of B per k (f32x4 mul + add: no FMA without relaxed SIMD). The B micro-panel
 *   (KC x NR) stays in L1, the A block (MC x KC) in L2.
 *
 * Every function works on a range of panels, so the device splits packing and the tiles over threads
 * (`gemm_compute_shared`: threads take chunks of tiles from a shared counter);
 * each C element is summed in the same order whatever the split (results do not depend on threads).
 */
import type { FunctionBuilder, ModuleBuilder } from "./emitter/module.js";
import { ValType } from "./emitter/opcodes.js";

const { I32, V128 } = { I32: ValType.I32, V128: ValType.V128 };

export interface GemmTiling {
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of 4). */
  nr: number;
  /** K block (the B micro-panel KC x NR stays in L1). */
  kc: number;
  /** Row block (the packed A block MC x KC stays in L2). */
  mc: number;
  /** k steps per iteration of the inner loop. */
  unroll: number;
}

/**
 * 4 x 8, one k step per iteration: 8 accumulators, 2 B vectors and an A splat leave V8 registers to
 * spare on x64 (15 usable xmm registers). Measured on 1024^3, one thread (CPU time, AMD EPYC): 4 x 8
 * ~50 GFLOP/s; 4 x 12, 6 x 8, 8 x 8, 4 x 16 and any unrolling of the k loop 23-32 GFLOP/s (V8 spills
 * or schedules worse); KC in 128..512 and MC in 64..256 within noise.
 */
export const GEMM: GemmTiling = { mr: 4, nr: 8, kc: 256, mc: 128, unroll: 1 };

/** Emits `i32 local = min(a, b)` (unsigned). */
/** dst = base + (index * K + kb * rows) * 4: the byte address of block kb of a packed panel. */
function panelAddress(
  f: FunctionBuilder,
  base: number,
  index: number,
  K: number,
  kb: number,
  rows: number,
  dst: number,
): void {
  f.get(base)
    .get(index)
    .get(K)
    .op("i32_mul")
    .get(kb)
    .i32(rows)
    .op("i32_mul")
    .op("i32_add")
    .i32(2)
    .op("i32_shl")
    .op("i32_add")
    .set(dst);
}

function minU(
  f: FunctionBuilder,
  dst: number,
  a: (f: FunctionBuilder) => void,
  b: (f: FunctionBuilder) => void,
) {
  a(f);
  b(f);
  a(f);
  b(f);
  f.op("i32_lt_u").op("select").set(dst);
}

/**
 * Packs panels [p0, p1) of `count` rows of lines: line i (row of A, column of B) starts at
 * src + i * lineStride, its k-th element at + k * kStride (element strides); dst[p][k][w] for w < width.
 * Lines past `count` are zeros. A full panel with unit line stride and width a multiple of 4 is copied
 * with vector loads (B row-major, or A column-major).
 */
function packKernel(mod: ModuleBuilder, name: string, width: number) {
  const f = mod.func(name, [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, lineStride, kStride, dst, count, K, p0, p1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const p = f.local(I32);
  const k = f.local(I32);
  const d = f.local(I32);
  const line0 = f.local(I32);
  const kStep = f.local(I32);
  const ptrs = Array.from({ length: width }, () => f.local(I32));
  const steps = Array.from({ length: width }, () => f.local(I32));
  const inb = Array.from({ length: width }, () => f.local(I32));
  f.get(kStride).i32(2).op("i32_shl").set(kStep);
  f.get(p0).set(p);
  f.block().loop(); // panels
  f.get(p).get(p1).op("i32_ge_u").brIf(1);
  // d = dst + p * K * width * 4
  f.get(dst)
    .get(p)
    .get(K)
    .op("i32_mul")
    .i32(width * 4)
    .op("i32_mul")
    .op("i32_add")
    .set(d);
  f.get(p).i32(width).op("i32_mul").set(line0);
  f.i32(0).set(k);
  const vectorCopy = width % 4 === 0;
  if (vectorCopy) {
    // Full panel and contiguous lines: NR / 4 vector copies per k.
    f.get(lineStride).i32(1).op("i32_eq");
    f.get(line0).i32(width).op("i32_add").get(count).op("i32_le_u");
    f.op("i32_and").if();
    f.get(src).get(line0).i32(2).op("i32_shl").op("i32_add").set(ptrs[0]);
    f.block().loop();
    f.get(k).get(K).op("i32_ge_u").brIf(1);
    for (let v = 0; v < width / 4; v++) {
      f.get(d)
        .get(ptrs[0])
        .vmem("v128_load", v * 16)
        .vmem("v128_store", v * 16);
    }
    f.get(ptrs[0]).get(kStep).op("i32_add").set(ptrs[0]);
    f.get(d)
      .i32(width * 4)
      .op("i32_add")
      .set(d);
    f.get(k).i32(1).op("i32_add").set(k).br(0).end().end();
    f.op("else");
  }
  // General case: a pointer per line (lines past the end read src with step 0; the value is dropped).
  for (let w = 0; w < width; w++) {
    f.get(line0).i32(w).op("i32_add").get(count).op("i32_lt_u").set(inb[w]);
    f.get(src)
      .get(line0)
      .i32(w)
      .op("i32_add")
      .get(lineStride)
      .op("i32_mul")
      .i32(2)
      .op("i32_shl")
      .op("i32_add")
      .get(src)
      .get(inb[w])
      .op("select")
      .set(ptrs[w]);
    f.get(kStep).i32(0).get(inb[w]).op("select").set(steps[w]);
  }
  f.block().loop();
  f.get(k).get(K).op("i32_ge_u").brIf(1);
  for (let w = 0; w < width; w++) {
    f.get(d)
      .get(ptrs[w])
      .mem("f32_load")
      .f32(0)
      .get(inb[w])
      .op("select")
      .mem("f32_store", w * 4);
    f.get(ptrs[w]).get(steps[w]).op("i32_add").set(ptrs[w]);
  }
  f.get(d)
    .i32(width * 4)
    .op("i32_add")
    .set(d);
  f.get(k).i32(1).op("i32_add").set(k).br(0).end().end();
  if (vectorCopy) f.end();
  f.get(p).i32(1).op("i32_add").set(p).br(0).end().end();
}

/**
 * gemm_compute(pa, pb, c, ldc, M, N, K, i0, i1, j0, j1, scratch): C[i, j] = sum_k A[i, k] B[k, j] for
 * rows [i0, i1) (multiples of MR) and columns [j0, j1) (multiples of NR) of the packed operands, into C
 * with row stride ldc (elements). Tiles crossing the edge of C go through `scratch` (MR * NR floats).
 */
function computeKernel(mod: ModuleBuilder, t: GemmTiling) {
  const { mr, nr, kc: KC, mc: MC, unroll } = t;
  const nv = nr / 4;
  const f = mod.func("gemm_compute", [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [pa, pb, c, ldc, M, N, K, i0, i1, j0, j1, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const kb = f.local(I32);
  const kl = f.local(I32);
  const kl4 = f.local(I32);
  const ib = f.local(I32);
  const ie = f.local(I32);
  const j = f.local(I32);
  const i = f.local(I32);
  const kk = f.local(I32);
  const ap = f.local(I32);
  const bp = f.local(I32);
  const b0 = f.local(I32);
  const cb = f.local(I32);
  const cs = f.local(I32);
  const full = f.local(I32);
  const rows = f.local(I32);
  const cols = f.local(I32);
  const r = f.local(I32);
  const q = f.local(I32);
  const acc = Array.from({ length: mr * nv }, () => f.local(V128));
  const bv = Array.from({ length: nv }, () => f.local(V128));
  const av = f.local(V128);

  /** Copies the valid rows x cols of the tile between C (at i, j) and scratch. */
  const copyEdge = (toScratch: boolean) => {
    f.i32(0).set(r);
    f.block().loop();
    f.get(r).get(rows).op("i32_ge_u").brIf(1);
    f.i32(0).set(q);
    f.block().loop();
    f.get(q).get(cols).op("i32_ge_u").brIf(1);
    const cAddr = (g: FunctionBuilder) =>
      g
        .get(c)
        .get(i)
        .get(r)
        .op("i32_add")
        .get(ldc)
        .op("i32_mul")
        .get(j)
        .op("i32_add")
        .get(q)
        .op("i32_add")
        .i32(2)
        .op("i32_shl")
        .op("i32_add");
    const sAddr = (g: FunctionBuilder) =>
      g.get(scratch).get(r).i32(nr).op("i32_mul").get(q).op("i32_add").i32(2).op("i32_shl").op("i32_add");
    if (toScratch) {
      sAddr(f);
      cAddr(f);
    } else {
      cAddr(f);
      sAddr(f);
    }
    f.mem("f32_load").mem("f32_store");
    f.get(q).i32(1).op("i32_add").set(q).br(0).end().end();
    f.get(r).i32(1).op("i32_add").set(r).br(0).end().end();
  };

  /** One k step at A offset `ao` and B offset `bo` (bytes from ap, bp). */
  const step = (ao: number, bo: number) => {
    for (let v = 0; v < nv; v++)
      f.get(bp)
        .vmem("v128_load", bo + 16 * v)
        .set(bv[v]);
    for (let rr = 0; rr < mr; rr++) {
      f.get(ap)
        .vmem("v128_load32_splat", ao + 4 * rr)
        .set(av);
      for (let v = 0; v < nv; v++) {
        const a = acc[rr * nv + v];
        f.get(a).get(av).get(bv[v]).simd("f32x4_mul").simd("f32x4_add").set(a);
      }
    }
  };

  /** The address of row `rr` of the C tile (cb + rr * cs) on the stack. */
  const tileRow = (rr: number) => f.get(cb).get(cs).i32(rr).op("i32_mul").op("i32_add");

  /** k steps `steps` at a time while kk < `limit`, advancing the A and B panel pointers. */
  const kLoop = (limit: number, steps: number) => {
    f.block().loop();
    f.get(kk).get(limit).op("i32_ge_u").brIf(1);
    for (let u = 0; u < steps; u++) step(u * mr * 4, u * nr * 4);
    f.get(ap)
      .i32(steps * mr * 4)
      .op("i32_add")
      .set(ap);
    f.get(bp)
      .i32(steps * nr * 4)
      .op("i32_add")
      .set(bp);
    f.get(kk).i32(steps).op("i32_add").set(kk).br(0).end().end();
  };

  f.block().loop(); // kb
  f.get(kb).get(K).op("i32_ge_u").brIf(1);
  minU(
    f,
    kl,
    (g) => g.i32(KC),
    (g) => g.get(K).get(kb).op("i32_sub"),
  );
  f.get(kl).i32(-unroll).op("i32_and").set(kl4);
  f.get(i0).set(ib);
  f.block().loop(); // ib
  f.get(ib).get(i1).op("i32_ge_u").brIf(1);
  minU(
    f,
    ie,
    (g) => g.get(ib).i32(MC).op("i32_add"),
    (g) => g.get(i1),
  );
  f.get(j0).set(j);
  f.block().loop(); // j (B panels)
  f.get(j).get(j1).op("i32_ge_u").brIf(1);
  // Panel j / NR starts at j * K floats.
  panelAddress(f, pb, j, K, kb, nr, b0);
  minU(
    f,
    cols,
    (g) => g.i32(nr),
    (g) => g.get(N).get(j).op("i32_sub"),
  );
  f.get(ib).set(i);
  f.block().loop(); // i (A panels)
  f.get(i).get(ie).op("i32_ge_u").brIf(1);
  panelAddress(f, pa, i, K, kb, mr, ap);
  f.get(b0).set(bp);
  minU(
    f,
    rows,
    (g) => g.i32(mr),
    (g) => g.get(M).get(i).op("i32_sub"),
  );
  f.get(rows).i32(mr).op("i32_eq").get(cols).i32(nr).op("i32_eq").op("i32_and").set(full);
  f.get(full).if();
  f.get(c).get(i).get(ldc).op("i32_mul").get(j).op("i32_add").i32(2).op("i32_shl").op("i32_add").set(cb);
  f.get(ldc).i32(2).op("i32_shl").set(cs);
  f.op("else");
  f.get(scratch).set(cb);
  f.i32(nr * 4).set(cs);
  f.get(kb).if();
  copyEdge(true);
  f.end();
  f.end();
  // Accumulators: zero on the first K block, else the partial sums in C.
  f.get(kb).op("i32_eqz").if();
  for (const a of acc) f.v128([0, 0, 0, 0]).set(a);
  f.op("else");
  for (let rr = 0; rr < mr; rr++)
    for (let v = 0; v < nv; v++)
      tileRow(rr)
        .vmem("v128_load", 16 * v)
        .set(acc[rr * nv + v]);
  f.end();
  // k loop, `unroll` steps per iteration, then the remainder.
  f.i32(0).set(kk);
  kLoop(kl4, unroll);
  kLoop(kl, 1);
  for (let rr = 0; rr < mr; rr++)
    for (let v = 0; v < nv; v++)
      tileRow(rr)
        .get(acc[rr * nv + v])
        .vmem("v128_store", 16 * v);
  f.get(full).op("i32_eqz").if();
  copyEdge(false);
  f.end();
  f.get(i).i32(mr).op("i32_add").set(i).br(0).end().end();
  f.get(j).i32(nr).op("i32_add").set(j).br(0).end().end();
  f.get(ie).set(ib).br(0).end().end();
  f.get(kb).i32(KC).op("i32_add").set(kb).br(0).end().end();
}

/**
 * gemm_pack(srcA, rowStrideA, kStrideA, pa, M, srcB, colStrideB, kStrideB, pb, N, K, w, t): share w of
 * t of the packing of both operands (A panels [P w / t, P (w + 1) / t) and likewise for B).
 */
function packBothKernel(mod: ModuleBuilder, t: GemmTiling) {
  const packA = mod.indexOf("gemm_pack_a");
  const packB = mod.indexOf("gemm_pack_b");
  const f = mod.func("gemm_pack", [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [srcA, rsA, csA, pa, M, srcB, nsB, ksB, pb, N, K, w, th] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const panels = f.local(I32);
  const share = (part: (g: FunctionBuilder) => void) => {
    f.get(panels);
    part(f);
    f.op("i32_mul").get(th).op("i32_div_u");
  };
  for (const [src, ls, ks, dst, count, width, fn] of [
    [srcA, rsA, csA, pa, M, t.mr, packA],
    [srcB, nsB, ksB, pb, N, t.nr, packB],
  ]) {
    f.get(count)
      .i32(width - 1)
      .op("i32_add")
      .i32(width)
      .op("i32_div_u")
      .set(panels);
    f.get(src).get(ls).get(ks).get(dst).get(count).get(K);
    share((g) => g.get(w));
    share((g) => g.get(w).i32(1).op("i32_add"));
    f.call(fn);
  }
}

/**
 * gemm_compute_shared(pa, pb, c, ldc, M, N, K, counter, chunk, byRows, scratch): the threads of a job
 * take chunks of `chunk` A panels (byRows) or B panels from a shared counter (an atomic add at
 * `counter`) until none are left, so a thread the OS slows down takes fewer chunks.
 */
function sharedComputeKernel(mod: ModuleBuilder, t: GemmTiling) {
  const compute = mod.indexOf("gemm_compute");
  const f = mod.func("gemm_compute_shared", [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [pa, pb, c, ldc, M, N, K, counter, chunk, byRows, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const panels = f.local(I32);
  const start = f.local(I32);
  const end = f.local(I32);
  const width = f.local(I32);
  // panels = ceil(rows / MR) or ceil(cols / NR); width = MR or NR.
  f.i32(t.mr).i32(t.nr).get(byRows).op("select").set(width);
  f.get(M).get(N).get(byRows).op("select").get(width).op("i32_add").i32(1).op("i32_sub");
  f.get(width).op("i32_div_u").set(panels);
  f.block().loop();
  f.get(counter).i32(1).atomicAdd().get(chunk).op("i32_mul").set(start);
  f.get(start).get(panels).op("i32_ge_u").brIf(1);
  minU(
    f,
    end,
    (g) => g.get(start).get(chunk).op("i32_add"),
    (g) => g.get(panels),
  );
  f.get(start).get(width).op("i32_mul").set(start);
  f.get(end).get(width).op("i32_mul").set(end);
  f.get(pa).get(pb).get(c).get(ldc).get(M).get(N).get(K);
  // Rows [start, end) and all columns, or all rows and columns [start, end).
  f.get(start).i32(0).get(byRows).op("select");
  f.get(end)
    .get(M)
    .i32(t.mr - 1)
    .op("i32_add")
    .i32(t.mr)
    .op("i32_div_u")
    .i32(t.mr)
    .op("i32_mul");
  f.get(byRows).op("select");
  f.i32(0).get(start).get(byRows).op("select");
  f.get(N)
    .i32(t.nr - 1)
    .op("i32_add")
    .i32(t.nr)
    .op("i32_div_u")
    .i32(t.nr)
    .op("i32_mul")
    .get(end)
    .get(byRows)
    .op("select");
  f.get(scratch).call(compute);
  f.br(0).end().end();
}

/**
 * Adds `gemm_pack_a(src, rowStride, kStride, dst, M, K, p0, p1)`,
 * `gemm_pack_b(src, colStride, kStride, dst, N, K, p0, p1)`, `gemm_pack` (both, one thread's share)
 * and `gemm_compute` (above) to a module.
 */
export function addGemmKernels(mod: ModuleBuilder, t: GemmTiling = GEMM): void {
  if (t.nr % 4 !== 0) throw new Error(`gemm: NR must be a multiple of 4, got ${t.nr}`);
  packKernel(mod, "gemm_pack_a", t.mr);
  packKernel(mod, "gemm_pack_b", t.nr);
  packBothKernel(mod, t);
  computeKernel(mod, t);
  sharedComputeKernel(mod, t);
}
