/**
 * One fused elementwise kernel of a compiled program as a wasm function. The root value's cone is
 * expanded through inlined elementwise equations and index-only ones (broadcast_in_dim, reshape,
 * squeeze, transpose, slice, rev) down to materialised leaves; each leaf is then read at an affine
 * index of the root's coordinates (a stride per root axis and an offset).
 *
 * The root is iterated as rows x inner (its last axis, after merging axes contiguous for every
 * leaf): per row, each leaf's base address; along the row, four elements at a time (a leaf with
 * inner stride 1 is one v128 load, stride 0 one splat hoisted out of the row, any other stride a
 * four-lane gather), then a one-element tail through the same vector code. The function is
 * `(leaf pointers..., out, row0, row1, col0, col1) -> flag` so the pool can split rows or columns;
 * the flag reports sin/cos arguments beyond the vector code's accurate range.
 */
import { Literal, type Atom, type JaxprEqn, type Var } from "../../../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../../../core/primitive.js";
import { INDEX_PRIMITIVES } from "../../../compiler/fusion.js";
import type { DType } from "../../../dtype.js";
import { stridesOf } from "../../../shape.js";
import type { FunctionBuilder, ModuleBuilder } from "../emitter/module.js";
import { ValType } from "../emitter/opcodes.js";
import * as m from "../simd-math.js";
import type { V } from "../simd-math.js";
import { constant, emitOp, trigArgument, trigFlag } from "./ops.js";

const { I32, V128 } = { I32: ValType.I32, V128: ValType.V128 };
type SimdName = Parameters<FunctionBuilder["simd"]>[0];

/** A value's index could not be expressed affinely: the caller materialises `v` and plans again. */
export class NeedsMaterialise extends Error {
  constructor(readonly v: Var) {
    super(`wasm compiler: materialise ${v.aval.strShort()}`);
  }
}

/** Where a value is read, as a function of the root's coordinates. */
/** Value coordinate = m * root[r] + b (r = -1: the constant b). */
interface Axis {
  r: number;
  m: number;
  b: number;
}
type IndexMap =
  | { kind: "axes"; axes: Axis[] }
  /** The value's flat index = offset + sum over root axes r of root[r] * strides[r] (below a reshape). */
  | { kind: "linear"; strides: number[]; offset: number };

const bytesOf = (d: DType) => (d === "bool" ? 1 : 4);

export interface LeafRead {
  v: Var;
  /** Element stride per (merged) kernel axis, and the offset in elements. */
  strides: number[];
  offset: number;
}

type Node =
  | { kind: "leaf"; leaf: number }
  | { kind: "literal"; value: number | boolean; dtype: DType }
  | { kind: "op"; eqn: JaxprEqn; args: Node[] };

export interface FusedKernel {
  name: string;
  root: Var;
  leaves: LeafRead[];
  /** The kernel's iteration space: rows x inner. */
  rows: number;
  inner: number;
  /** Inlined equations of the cone in jaxpr order (the fallback runs them one by one). */
  cone: JaxprEqn[];
  hasTrig: boolean;
  /** A reduction kernel (its rows are output elements; columns cannot be split). */
  reduces: boolean;
}

/** The root's cone as a DAG of nodes over leaf reads (root axes not yet merged). */
function expand(
  root: Var,
  /** Whether `root` is the kernel's output (computed here) rather than a reduction's operand. */
  computeRoot: boolean,
  isMaterialised: (v: Var) => boolean,
  producer: Map<Var, JaxprEqn>,
): { node: Node; leaves: { v: Var; strides: number[]; offset: number }[]; cone: Set<JaxprEqn> } {
  const rootShape = root.aval.shape;
  const leaves: { v: Var; strides: number[]; offset: number }[] = [];
  const memo = new Map<Var, Map<string, Node>>();
  const cone = new Set<JaxprEqn>();
  const identity: IndexMap = { kind: "axes", axes: rootShape.map((_, r) => ({ r, m: 1, b: 0 })) };
  /** The flat-index form of a map on a value of `shape`. */
  const linearOf = (map: IndexMap, shape: readonly number[]): { strides: number[]; offset: number } => {
    if (map.kind === "linear") return map;
    const strides = rootShape.map(() => 0);
    let offset = 0;
    const st = stridesOf(shape);
    map.axes.forEach((e, a) => {
      if (e.r >= 0) strides[e.r] += e.m * st[a];
      offset += e.b * st[a];
    });
    return { strides, offset };
  };
  /**
   * Per-axis form of a linear map on `v`: each root axis must step within one axis of v (its stride
   * a multiple of that axis's stride, staying in range), at most one root axis per axis of v.
   */
  const axesOf = (map: IndexMap, v: Var): Axis[] => {
    if (map.kind === "axes") return map.axes;
    const shape = v.aval.shape;
    const st = stridesOf(shape);
    if (map.offset < 0 || map.offset >= Math.max(1, v.aval.size)) throw new NeedsMaterialise(v);
    const axes: Axis[] = shape.map((n, a) => ({ r: -1, m: 0, b: Math.floor(map.offset / st[a]) % n }));
    map.strides.forEach((s, r) => {
      if (s === 0 || rootShape[r] === 1) return;
      const a = shape.findIndex((n, k) => n > 1 && Math.abs(s) >= st[k] && s % st[k] === 0);
      if (a < 0 || axes[a].r >= 0) throw new NeedsMaterialise(v);
      const e = axes[a];
      e.r = r;
      e.m = s / st[a];
      const last = e.b + e.m * (rootShape[r] - 1);
      if (last < 0 || last >= shape[a]) throw new NeedsMaterialise(v);
    });
    return axes;
  };
  const leafRead = (v: Var, map: IndexMap): Node => {
    const { strides, offset } = linearOf(map, v.aval.shape);
    const key = `${strides.join(",")}@${offset}`;
    let k = leaves.findIndex((l) => l.v === v && `${l.strides.join(",")}@${l.offset}` === key);
    if (k < 0) {
      k = leaves.length;
      leaves.push({ v, strides, offset });
    }
    return { kind: "leaf", leaf: k };
  };
  const visit = (a: Atom, map: IndexMap): Node => {
    if (a instanceof Literal) return { kind: "literal", value: a.value, dtype: a.aval.dtype };
    const v = a;
    const key =
      map.kind === "linear"
        ? `L${map.strides.join(",")}@${map.offset}`
        : map.axes.map((e) => `${e.r}:${e.m}:${e.b}`).join(",");
    let byMap = memo.get(v);
    if (!byMap) memo.set(v, (byMap = new Map()));
    const hit = byMap.get(key);
    if (hit) return hit;
    let node: Node;
    if (isMaterialised(v) && !(computeRoot && v === root)) node = leafRead(v, map);
    else {
      const eqn = producer.get(v)!;
      cone.add(eqn);
      if (INDEX_PRIMITIVES.has(eqn.primitive)) node = visit(eqn.inputs[0], inputMap(eqn, map, v));
      else {
        const size = v.aval.size;
        node = {
          kind: "op",
          eqn,
          args: eqn.inputs.map((x) =>
            // A rank-0 (size-1) operand of a larger result is read at its one element.
            x.aval.ndim !== v.aval.ndim || (x.aval.size === 1 && size !== 1)
              ? visit(x, { kind: "axes", axes: x.aval.shape.map(() => ({ r: -1, m: 0, b: 0 })) })
              : visit(x, map),
          ),
        };
      }
    }
    byMap.set(key, node);
    return node;
  };
  /** The index map of an index-only equation's operand, given its result's. */
  const inputMap = (eqn: JaxprEqn, map: IndexMap, out: Var): IndexMap => {
    const x = eqn.inputs[0].aval;
    const y = out.aval;
    switch (eqn.primitive) {
      case Primitive.Reshape:
      case Primitive.Squeeze: {
        // The flat index is unchanged; per-axis forms are recovered below if another index op needs them.
        return { kind: "linear", ...linearOf(map, y.shape) };
      }
      case Primitive.BroadcastInDim: {
        const axes = axesOf(map, out);
        const dims = (eqn.params as ParamsOf<Primitive.BroadcastInDim>).broadcast_dimensions;
        return {
          kind: "axes",
          axes: x.shape.map((n, k) => (n === 1 ? { r: -1, m: 0, b: 0 } : axes[dims[k]])),
        };
      }
      case Primitive.Transpose: {
        const axes = axesOf(map, out);
        const perm = (eqn.params as ParamsOf<Primitive.Transpose>).permutation;
        const inAxes = new Array<Axis>(x.ndim);
        perm.forEach((p, d) => (inAxes[p] = axes[d]));
        return { kind: "axes", axes: inAxes };
      }
      case Primitive.Slice: {
        const axes = axesOf(map, out);
        const p = eqn.params as ParamsOf<Primitive.Slice>;
        const steps = p.strides ?? x.shape.map(() => 1);
        return {
          kind: "axes",
          axes: axes.map((e, d) => ({ r: e.r, m: e.m * steps[d], b: e.b * steps[d] + p.start_indices[d] })),
        };
      }
      case Primitive.Rev: {
        const axes = axesOf(map, out);
        const dims = (eqn.params as ParamsOf<Primitive.Rev>).dimensions;
        return {
          kind: "axes",
          axes: axes.map((e, d) => (dims.includes(d) ? { r: e.r, m: -e.m, b: x.shape[d] - 1 - e.b } : e)),
        };
      }
      default:
        throw new Error(`wasm compiler: ${eqn.primitive} is not index-only`);
    }
  };
  const node = visit(root, identity);
  return { node, leaves, cone };
}

/** A reduction over the trailing `axes` axes of the kernel's expression (float32 only). */
export interface ReduceSpec {
  op: "sum" | "max" | "min";
  axes: number;
}

/**
 * Builds the kernel for `root` into `mod` (as function `name`). With `reduce`, the kernel computes
 * the cone of `expr` (the reduction's operand) and reduces each row of it into `root`.
 */
export function buildKernel(
  mod: ModuleBuilder,
  name: string,
  root: Var,
  isMaterialised: (v: Var) => boolean,
  producer: Map<Var, JaxprEqn>,
  order: Map<JaxprEqn, number>,
  reduce?: { expr: Var; eqn: JaxprEqn } & ReduceSpec,
): FusedKernel {
  const exprVar = reduce ? reduce.expr : root;
  const { node, leaves: rawLeaves, cone } = expand(exprVar, !reduce, isMaterialised, producer);
  // Merge the expression's axes: drop size-1 axes, and fold axis d into d+1 where every leaf steps
  // through both as one (the output is row-major, so it always does). A reduction's axes form the
  // inner run, which must merge into one.
  const shape = exprVar.aval.shape;
  const split = reduce ? shape.length - reduce.axes : shape.length;
  const groupsOf = (from: number, to: number) => {
    const gs: { n: number; strides: number[] }[] = [];
    for (let d = to - 1; d >= from; d--) {
      if (shape[d] === 1) continue;
      const last = gs[gs.length - 1];
      const s = rawLeaves.map((l) => l.strides[d]);
      if (last && s.every((x, k) => x === last.strides[k] * last.n)) last.n *= shape[d];
      else gs.push({ n: shape[d], strides: s });
    }
    return gs.reverse();
  };
  let groups: { n: number; strides: number[] }[];
  if (reduce) {
    const red = groupsOf(split, shape.length);
    if (red.length > 1) throw new NeedsMaterialise(reduce.expr);
    if (red.length === 0) red.push({ n: 1, strides: rawLeaves.map(() => 0) });
    groups = [...groupsOf(0, split), ...red];
  } else {
    groups = groupsOf(0, split);
    if (groups.length === 0) groups.push({ n: 1, strides: rawLeaves.map(() => 0) });
  }
  const leaves: LeafRead[] = rawLeaves.map((l, k) => ({
    v: l.v,
    strides: groups.map((g) => g.strides[k]),
    offset: l.offset,
  }));
  const inner = groups[groups.length - 1].n;
  const outer = groups.slice(0, -1).map((g) => g.n);
  const rows = outer.reduce((p, q) => p * q, 1);
  const rowStrides = stridesOf(outer);

  const L = leaves.length;
  const f = mod.func(name, [...leaves.map(() => I32), I32, I32, I32, I32, I32], [I32]);
  const [out, r0, r1, c0, c1] = [L, L + 1, L + 2, L + 3, L + 4];
  const row = f.local(I32);
  const j = f.local(I32);
  const flag = f.local(I32);
  const base = leaves.map(() => f.local(I32));
  const splat = leaves.map((l) => (l.strides[l.strides.length - 1] === 0 ? f.local(V128) : -1));
  const outBase = f.local(I32);
  const acc = reduce ? f.local(V128) : -1;
  const tailAcc = reduce ? f.local(V128) : -1;
  const combine: SimdName | undefined = reduce
    ? ({ sum: "f32x4_add", max: "f32x4_max", min: "f32x4_min" } as const)[reduce.op]
    : undefined;
  const init = !reduce ? 0 : reduce.op === "sum" ? 0 : reduce.op === "max" ? -Infinity : Infinity;
  const outT = root.aval.dtype;
  const outBytes = bytesOf(outT);
  const hasTrig = [...cone].some(trigArgument);

  const tmp = f.local(I32);
  /** Scalar read at the address on the stack, in register form (splatted). */
  const scalarLoad = (g: FunctionBuilder, d: DType) => {
    if (d === "bool") {
      g.mem("i32_load8_u").set(tmp);
      g.i32(0).get(tmp).op("i32_sub").simd("i32x4_splat");
    } else g.mem("i32_load").simd("i32x4_splat");
  };
  /** Address of leaf k's element j + lane. */
  const addr =
    (k: number, lane: number): V =>
    (g) => {
      const l = leaves[k];
      const s = l.strides[l.strides.length - 1] * bytesOf(l.v.aval.dtype);
      g.get(base[k]);
      if (s !== 0) {
        g.get(j);
        if (s !== 1) g.i32(s).op("i32_mul");
        g.op("i32_add");
        if (lane) g.i32(lane * s).op("i32_add");
      }
    };
  const vectorRead =
    (k: number): V =>
    (g) => {
      const l = leaves[k];
      const d = l.v.aval.dtype;
      const s = l.strides[l.strides.length - 1];
      if (s === 0) return void g.get(splat[k]);
      if (s === 1 && d !== "bool") {
        addr(k, 0)(g);
        g.vmem("v128_load");
        return;
      }
      if (s === 1) {
        addr(k, 0)(g);
        g.vmem("v128_load32_zero", 0, 0);
        g.simd("i16x8_extend_low_i8x16_u").simd("i32x4_extend_low_i16x8_u").simd("i32x4_neg");
        return;
      }
      addr(k, 0)(g);
      scalarLoad(g, d);
      for (let lane = 1; lane < 4; lane++) {
        addr(k, lane)(g);
        if (d === "bool") g.mem("i32_load8_u").set(tmp).i32(0).get(tmp).op("i32_sub");
        else g.mem("i32_load");
        g.lane("i32x4_replace_lane", lane);
      }
    };
  const scalarRead =
    (k: number): V =>
    (g) => {
      const l = leaves[k];
      if (l.strides[l.strides.length - 1] === 0) return void g.get(splat[k]);
      addr(k, 0)(g);
      scalarLoad(g, l.v.aval.dtype);
    };

  /** Emits the cone once for the current j: the root's value (register form) and the trig flags. */
  const body = (read: (k: number) => V): V => {
    const values = new Map<Node, V>();
    const flags: V[] = [];
    const emit = (n: Node): V => {
      const hit = values.get(n);
      if (hit) return hit;
      let v: V;
      if (n.kind === "literal") v = constant(n.value, n.dtype);
      else if (n.kind === "leaf") v = m.bind(f, read(n.leaf));
      else {
        const args = n.args.map(emit);
        if (trigArgument(n.eqn)) flags.push(trigFlag(args[0]));
        v = m.bind(f, emitOp(f, n.eqn, args));
      }
      values.set(n, v);
      return v;
    };
    const r = emit(node);
    for (const fl of flags) {
      f.get(flag);
      fl(f);
      f.simd("v128_any_true").op("i32_or").set(flag);
    }
    return r;
  };

  f.get(r0).set(row);
  f.block().loop();
  f.get(row).get(r1).op("i32_ge_u").brIf(1);
  leaves.forEach((l, k) => {
    const bytes = bytesOf(l.v.aval.dtype);
    f.get(k)
      .i32(l.offset * bytes)
      .op("i32_add");
    outer.forEach((n, d) => {
      const s = l.strides[d] * bytes;
      if (s === 0) return;
      f.get(row);
      if (rowStrides[d] !== 1) f.i32(rowStrides[d]).op("i32_div_u");
      if (d > 0) f.i32(n).op("i32_rem_u");
      f.i32(s).op("i32_mul").op("i32_add");
    });
    f.set(base[k]);
    if (splat[k] >= 0) {
      f.get(base[k]);
      scalarLoad(f, l.v.aval.dtype);
      f.set(splat[k]);
    }
  });
  f.get(out)
    .get(row)
    .i32((reduce ? 1 : inner) * outBytes)
    .op("i32_mul")
    .op("i32_add")
    .set(outBase);
  if (reduce) {
    f.v128([init, init, init, init]).set(acc);
    f.v128([init, init, init, init]).set(tailAcc);
  }
  f.get(c0).set(j);
  // Four at a time.
  f.block().loop();
  f.get(j).i32(4).op("i32_add").get(c1).op("i32_gt_u").brIf(1);
  {
    const r = body(vectorRead);
    if (reduce) {
      f.get(acc);
      r(f);
      f.simd(combine!).set(acc);
    } else if (outBytes === 4) {
      f.get(outBase).get(j).i32(2).op("i32_shl").op("i32_add");
      r(f);
      f.vmem("v128_store");
    } else {
      // Masks to bytes 0/1: and 1, then narrow 32 -> 16 -> 8 bits; the low four bytes are the lanes.
      const b = m.bind(f, m.and(r, m.ic(1)));
      const h = m.bind(f, (g) => {
        b(g);
        b(g);
        g.simd("i16x8_narrow_i32x4_u");
      });
      f.get(outBase).get(j).op("i32_add");
      h(f);
      h(f);
      f.simd("i8x16_narrow_i16x8_u");
      f.lane("i32x4_extract_lane", 0).mem("i32_store");
    }
  }
  f.get(j).i32(4).op("i32_add").set(j).br(0).end().end();
  // The tail, one at a time.
  f.block().loop();
  f.get(j).get(c1).op("i32_ge_u").brIf(1);
  {
    const r = body(scalarRead);
    if (reduce) {
      f.get(tailAcc);
      r(f);
      f.simd(combine!).set(tailAcc);
    } else if (outBytes === 4) {
      f.get(outBase).get(j).i32(2).op("i32_shl").op("i32_add");
      r(f);
      f.lane("i32x4_extract_lane", 0).mem("i32_store");
    } else {
      f.get(outBase).get(j).op("i32_add");
      r(f);
      f.lane("i32x4_extract_lane", 0).i32(1).op("i32_and").mem("i32_store8");
    }
  }
  f.get(j).i32(1).op("i32_add").set(j).br(0).end().end();
  if (reduce) {
    // The four lanes, then the tail's (lane 0), combined and stored as one float.
    f.get(outBase);
    f.get(acc).lane("f32x4_extract_lane", 0).simd("f32x4_splat");
    for (const l of [1, 2, 3]) f.get(acc).lane("f32x4_extract_lane", l).simd("f32x4_splat").simd(combine!);
    f.get(tailAcc).simd(combine!);
    f.lane("f32x4_extract_lane", 0).mem("f32_store");
  }
  f.get(row).i32(1).op("i32_add").set(row).br(0).end().end();
  f.get(flag);

  const coneList = [...cone].sort((a, b) => order.get(a)! - order.get(b)!);
  if (reduce) coneList.push(reduce.eqn);
  return { name, root, leaves, rows, inner, cone: coneList, hasTrig, reduces: !!reduce };
}
