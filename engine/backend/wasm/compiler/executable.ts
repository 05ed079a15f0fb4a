/**
 * The wasm CPU executor's compiled program (`WasmDevice.compile`): the backend-neutral fusion plan
 * (engine/compiler/fusion.ts) with one generated wasm function per fused elementwise kernel, all in
 * one module compiled once per program (and shared by programs with the same code). Other first-order
 * equations (dot_general, reductions, gathers, ...) run through the device's own kernels in order,
 * higher-order ones through their impl rule. Intermediates go back to the heap right after their last
 * reader; large fused kernels are split across the worker pool by rows or by column ranges.
 */
import { canonicalizeForKernels } from "../../../compiler/canonicalize.js";
import { ShapedArray } from "../../../core/aval.js";
import { ConcreteArray } from "../../../core/concrete-array.js";
import type { Executable } from "../../../core/executable.js";
import { Jaxpr, JaxprEqn, Literal, Var, type Atom } from "../../../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../../../core/primitive.js";
import {
  ELEMENTWISE_PRIMITIVES,
  INDEX_PRIMITIVES,
  planFusion,
  type FusionPlan,
} from "../../../compiler/fusion.js";
import { inlineCalls } from "../../../compiler/inline.js";
import { hostArray } from "../../../dtype.js";
import { rulesOf } from "../../../primitives/index.js";
import { isHigherOrder } from "../../../primitives/rules.js";
import { ModuleBuilder } from "../emitter/module.js";
import { wasmApi, type WasmModule } from "../wasm-api.js";
import {
  SPLIT_ELEMENTS,
  compileOptimized,
  type Kernel,
  type ProgramKernels,
  type WasmBuffer,
  type WasmDevice,
} from "../wasm-device.js";
import { MAX_ARGS } from "../pool-protocol.js";
import { NeedsMaterialise, buildKernel, type FusedKernel, type ReduceSpec } from "./kernel.js";
import { canEmit } from "./ops.js";

/** Whether a fused wasm kernel can inline this equation. */
export function canInlineWasm(eqn: JaxprEqn): boolean {
  if (eqn.outBinders.some((v) => v.aval.size === 0)) return false;
  if (INDEX_PRIMITIVES.has(eqn.primitive))
    return eqn.inputs[0].aval.dtype !== "float16" && !(eqn.inputs[0] instanceof Literal);
  return ELEMENTWISE_PRIMITIVES.has(eqn.primitive) && canEmit(eqn);
}

const REDUCE_OPS: Partial<Record<Primitive, ReduceSpec["op"]>> = {
  [Primitive.ReduceSum]: "sum",
  [Primitive.ReduceMax]: "max",
  [Primitive.ReduceMin]: "min",
};

/** Float32 sum/max/min over trailing axes: a fused kernel reduces its (inlined) operand by rows. */
function canAnchorWasm(eqn: JaxprEqn): boolean {
  const x = eqn.inputs[0];
  if (!REDUCE_OPS[eqn.primitive] || !(x instanceof Var)) return false;
  if (x.aval.dtype !== "float32" || x.aval.size === 0 || eqn.outBinders[0].aval.size === 0) return false;
  const axes = [...(eqn.params as { axes: readonly number[] }).axes].sort((a, b) => a - b);
  return axes.length > 0 && axes.every((d, k) => d === x.aval.ndim - axes.length + k);
}

type Instr =
  | { kind: "kernel"; k: FusedKernel; frees: Var[] }
  | { kind: "opaque"; eqn: JaxprEqn; frees: Var[] }
  | { kind: "call"; eqn: JaxprEqn; frees: Var[] };

interface Slot {
  buf: WasmBuffer;
  /** The array that owns the buffer (a caller's input or an impl's result), else the run does. */
  owner?: ConcreteArray;
  keep: boolean;
}

/** Compiled modules by their bytes (the same program jitted twice compiles once). */
const modules = new Map<string, { module: WasmModule; prefix: string }>();
/** Instances per device (each device has its own memory). */
const instances = new WeakMap<WasmDevice, Map<WasmModule, Record<string, Kernel>>>();

export function compileWasm(device: WasmDevice, jaxpr: Jaxpr): Executable {
  const { jaxpr: inlined, extraConsts } = inlineCalls(jaxpr);
  // Dead code out, layouts canonicalised around dot_general (dot-layout.ts), contraction-free dots
  // as elementwise products: the same program the WebGPU compiler sees.
  const flat = canonicalizeForKernels(inlined);
  const force = new Set<Var>();
  for (;;) {
    const plan = planFusion(flat, {
      canInline: canInlineWasm,
      canAnchor: canAnchorWasm,
      epilogues: false,
      forceMaterialise: force,
    });
    try {
      return new WasmExecutable(device, jaxpr, plan, extraConsts);
    } catch (e) {
      if (!(e instanceof NeedsMaterialise) || force.has(e.v)) throw e;
      force.add(e.v);
    }
  }
}

export class WasmExecutable implements Executable {
  readonly kernelCount: number;
  private readonly instrs: Instr[];
  private readonly program: ProgramKernels | undefined;
  private readonly binders: Var[];
  private readonly literals = new Map<Literal, WasmBuffer>();

  constructor(
    readonly device: WasmDevice,
    readonly jaxpr: Jaxpr,
    readonly plan: FusionPlan,
    private readonly extraConsts: ConcreteArray[],
  ) {
    const pj = plan.jaxpr;
    this.binders = [...pj.constVars.slice(0, jaxpr.constVars.length), ...pj.inBinders];
    this.binders.push(...pj.constVars.slice(jaxpr.constVars.length));
    const order = new Map(pj.eqns.map((e, k) => [e, k]));
    const mod = new ModuleBuilder({
      module: "env",
      name: "memory",
      initialPages: 1,
      maximumPages: device.heap.maxPages,
      shared: true,
    });
    const isMat = (v: Var) => plan.materialised.has(v);
    this.instrs = plan.steps.map((step): Instr => {
      switch (step.kind) {
        case "elementwise": {
          const k = buildKernel(mod, `k${mod.functions.length}`, step.root, isMat, plan.producer, order);
          return { kind: "kernel", k, frees: [] };
        }
        case "reduce": {
          const eqn = step.anchor;
          const reduce = {
            expr: eqn.inputs[0] as Var,
            eqn,
            op: REDUCE_OPS[eqn.primitive]!,
            axes: (eqn.params as { axes: readonly number[] }).axes.length,
          };
          const name = `k${mod.functions.length}`;
          const k = buildKernel(mod, name, step.root, isMat, plan.producer, order, reduce);
          return { kind: "kernel", k, frees: [] };
        }
        case "opaque":
          return { kind: "opaque", eqn: step.eqn, frees: [] };
        case "higher-order":
          return { kind: "call", eqn: step.eqn, frees: [] };
        default:
          // dot_general is not an anchor here (canAnchor is false for it).
          throw new Error(`wasm compiler: unexpected ${step.kind} step`);
      }
    });
    this.kernelCount = this.instrs.filter((i) => i.kind !== "call").length;
    if (mod.functions.length > 0) {
      const bytes = mod.encode();
      const key = Buffer.from(bytes).toString("base64");
      let entry = modules.get(key);
      if (!entry) {
        entry = { module: compileOptimized(bytes), prefix: `m${modules.size}` };
        modules.set(key, entry);
      }
      let perDevice = instances.get(device);
      if (!perDevice) instances.set(device, (perDevice = new Map()));
      let kernels = perDevice.get(entry.module);
      if (!kernels) {
        const inst = new wasmApi.Instance(entry.module, { env: { memory: device.heap.memory } });
        kernels = inst.exports as Record<string, Kernel>;
        perDevice.set(entry.module, kernels);
      }
      this.program = { ...entry, names: mod.functions.map((f) => f.name), kernels };
    }
    // Literal operands of eager kernels and calls live in small buffers for the program's lifetime.
    for (const ins of this.instrs)
      if (ins.kind !== "kernel")
        for (const a of ins.eqn.inputs)
          if (a instanceof Literal && !this.literals.has(a)) this.literals.set(a, this.upload(a));
    // Liveness: each intermediate is released after the last step that reads it (or writes it).
    const last = new Map<Var, number>();
    this.instrs.forEach((ins, k) => {
      const writes = ins.kind === "kernel" ? [ins.k.root] : ins.eqn.outBinders;
      const reads = ins.kind === "kernel" ? ins.k.leaves.map((l) => l.v) : ins.eqn.inputs;
      for (const v of writes) last.set(v, k);
      for (const r of reads) if (r instanceof Var) last.set(r, k);
    });
    for (const a of pj.outs) if (a instanceof Var) last.delete(a);
    for (const v of [...pj.constVars, ...pj.inBinders]) last.delete(v);
    for (const [v, k] of last) this.instrs[k].frees.push(v);
  }

  private upload(l: Literal): WasmBuffer {
    const host = hostArray(l.aval.dtype, 1);
    host[0] = typeof l.value === "boolean" ? +l.value : l.value;
    return this.device.own(this.device.upload(host));
  }

  /** What one run does, kernel by kernel (shown by `jit(f).lower(...).compile().asText()`). */
  describe(): string {
    const parts: string[] = [];
    let k = 0;
    for (const ins of this.instrs) {
      if (ins.kind === "call") {
        parts.push(`// host step: ${ins.eqn.primitive} (runs through its impl between kernels)`);
        continue;
      }
      k++;
      if (ins.kind === "kernel") {
        const { root, cone, leaves, reduces } = ins.k;
        parts.push(
          `// kernel ${k} of ${this.kernelCount}: fused wasm SIMD ${reduces ? "reduction" : "elementwise"} kernel for ` +
            `${root.aval.strShort()} (${cone.map((e) => e.primitive).join(", ")}; ${leaves.length} inputs)`,
        );
      } else {
        parts.push(`// kernel ${k} of ${this.kernelCount}: ${ins.eqn.primitive} (the device's own kernel)`);
      }
    }
    if (!parts.length) parts.push("// no kernels: the program only forwards its inputs or constants");
    return parts.join("\n") + "\n";
  }

  run(inputs: ConcreteArray[]): ConcreteArray[] {
    const { device, plan } = this;
    const expected = this.binders.length - this.extraConsts.length;
    if (inputs.length !== expected)
      throw new TypeError(`executable takes ${expected} inputs, got ${inputs.length}`);
    const env = new Map<Var, Slot>();
    const refs = new Map<WasmBuffer, number>();
    const uploaded: WasmBuffer[] = [];
    const setSlot = (v: Var, s: Slot) => {
      env.set(v, s);
      refs.set(s.buf, (refs.get(s.buf) ?? 0) + 1);
    };
    [...inputs, ...this.extraConsts].forEach((x, k) => {
      if (x.device === device) setSlot(this.binders[k], { buf: device.own(x.buffer), owner: x, keep: true });
      else {
        const host = x.peekHost();
        if (!host) throw new Error(`wasm executable: input ${k} lives on ${x.device.id} and is not readable`);
        const b = device.own(device.upload(host));
        uploaded.push(b);
        setSlot(this.binders[k], { buf: b, keep: true });
      }
    });
    const free = (v: Var) => {
      const s = env.get(v);
      if (!s) return;
      env.delete(v);
      const n = refs.get(s.buf)! - 1;
      refs.set(s.buf, n);
      if (n > 0 || s.keep) return;
      if (s.owner) s.owner.dispose();
      else device.release(s.buf);
    };
    const bufOf = (a: Atom): WasmBuffer => (a instanceof Literal ? this.literals.get(a)! : env.get(a)!.buf);
    try {
      for (const ins of this.instrs) {
        if (ins.kind === "kernel") this.runKernel(ins.k, env, setSlot);
        else if (ins.kind === "opaque") {
          const { eqn } = ins;
          const outs = device.execute(
            eqn.primitive,
            eqn.inputs.map(bufOf),
            eqn.inputs.map((a) => a.aval),
            eqn.outBinders.map((v) => v.aval),
            eqn.params as ParamsOf<Primitive>,
          );
          eqn.outBinders.forEach((v, k) => setSlot(v, { buf: outs[k] as WasmBuffer, keep: false }));
        } else this.call(ins.eqn, env, setSlot, bufOf);
        // A recorded run's steps run later: what they read is freed once they have.
        for (const v of ins.frees) device.afterRecordedRun(() => free(v));
      }
      const given = new Map<Var, ConcreteArray>();
      return plan.jaxpr.outs.map((a) => {
        if (a instanceof Literal) {
          const host = hostArray(a.aval.dtype, 1);
          host[0] = typeof a.value === "boolean" ? +a.value : a.value;
          return new ConcreteArray(a.aval, device, device.upload(host), host);
        }
        const hit = given.get(a);
        if (hit) return hit;
        const s = env.get(a)!;
        const x = s.owner ?? new ConcreteArray(a.aval, device, s.buf);
        s.owner = x;
        given.set(a, x);
        return x;
      });
    } catch (e) {
      // A step failed (the heap out of memory, say): the intermediates made so far go back, each
      // buffer once; frees put off for a recording then find nothing left to free.
      const seen = new Set<WasmBuffer>();
      for (const slot of env.values()) {
        if (slot.keep || seen.has(slot.buf)) continue;
        seen.add(slot.buf);
        if (slot.owner) slot.owner.dispose();
        else device.release(slot.buf);
      }
      env.clear();
      throw e;
    } finally {
      // While recording, the steps that read them run later.
      for (const b of uploaded) device.afterRecordedRun(() => device.release(b));
    }
  }

  private runKernel(k: FusedKernel, env: Map<Var, Slot>, setSlot: (v: Var, s: Slot) => void): void {
    const { device } = this;
    const out = device.alloc(k.root.aval);
    setSlot(k.root, { buf: out, keep: false });
    const ptrs = k.leaves.map((l) => env.get(l.v)!.buf.ptr);
    const size = k.rows * k.inner;
    const program = this.program!;
    // A job's arguments must fit a pool slot; a kernel reading more leaves stays on this thread.
    const threshold = ptrs.length + 5 > MAX_ARGS ? Infinity : SPLIT_ELEMENTS / (k.hasTrig ? 4 : 1);
    if (k.reduces && k.rows === 1) {
      this.reduceOneRow(k, ptrs, out, threshold, env);
      return;
    }
    // Rows when there are enough of them, else aligned column ranges of the (few) rows.
    const byRows = k.rows >= 8 || k.reduces;
    const flagged = device.split(
      byRows ? k.rows : k.inner,
      size,
      threshold,
      (s, c) => [
        k.name,
        byRows ? [...ptrs, out.ptr, s, s + c, 0, k.inner] : [...ptrs, out.ptr, 0, k.rows, s, s + c],
      ],
      program,
    );
    if (flagged) this.fallback(k, env, out);
  }

  /** One long reduced row: a partial result per column range (per thread), then combined here. */
  private reduceOneRow(
    k: FusedKernel,
    ptrs: number[],
    out: WasmBuffer,
    threshold: number,
    env: Map<Var, Slot>,
  ) {
    const { device } = this;
    if (device.isRecording) {
      // A recorded call covers the whole row on one thread: it writes the result itself.
      device.invoke(k.name, [...ptrs, out.ptr, 0, 1, 0, k.inner], this.program);
      return;
    }
    const parts = device.heap.alloc(4096);
    let jobs = 0;
    const flagged = device.split(
      k.inner,
      k.inner,
      threshold,
      (s, c) => [k.name, [...ptrs, parts + 4 * jobs++, 0, 1, s, s + c]],
      this.program!,
    );
    const p = new Float32Array(device.heap.buffer, parts, jobs);
    const op = k.cone[k.cone.length - 1].primitive;
    let r = p[0];
    for (let w = 1; w < jobs; w++)
      r =
        op === Primitive.ReduceSum
          ? r + p[w]
          : op === Primitive.ReduceMax
            ? Math.max(r, p[w])
            : Math.min(r, p[w]);
    new Float32Array(device.heap.buffer, out.ptr, 1)[0] = r;
    device.heap.release(parts, 4096);
    if (flagged) this.fallback(k, env, out);
  }

  /**
   * sin/cos arguments beyond the vector code's range: the cone again, equation by equation through
   * the device's eager kernels (which redo those lanes exactly), into the kernel's output buffer.
   */
  private fallback(k: FusedKernel, env: Map<Var, Slot>, out: WasmBuffer): void {
    const { device } = this;
    const local = new Map<Var, WasmBuffer>();
    const bufOf = (a: Atom): WasmBuffer => {
      if (a instanceof Literal) {
        let b = this.literals.get(a);
        if (!b) this.literals.set(a, (b = this.upload(a)));
        return b;
      }
      return local.get(a) ?? env.get(a)!.buf;
    };
    for (const eqn of k.cone) {
      const [r] = device.execute(
        eqn.primitive,
        eqn.inputs.map(bufOf),
        eqn.inputs.map((a) => a.aval),
        eqn.outBinders.map((v) => v.aval),
        eqn.params as ParamsOf<Primitive>,
      );
      local.set(eqn.outBinders[0], r as WasmBuffer);
    }
    const res = local.get(k.root)!;
    device.copyInto(out, res, 0, k.root.aval.size * (k.root.aval.dtype === "bool" ? 1 : 4));
    for (const b of local.values()) device.release(b);
  }

  /** A higher-order equation through its impl rule, on arrays wrapping the run's buffers. */
  private call(
    eqn: JaxprEqn,
    env: Map<Var, Slot>,
    setSlot: (v: Var, s: Slot) => void,
    bufOf: (a: Atom) => WasmBuffer,
  ): void {
    const { device } = this;
    const rules = rulesOf(eqn.primitive);
    if (!isHigherOrder(rules)) throw new Error(`${eqn.primitive} is not higher-order`);
    const temps: ConcreteArray[] = [];
    const args = eqn.inputs.map((a) => {
      if (a instanceof Literal) {
        const host = device.view(bufOf(a), a.aval).slice();
        const x = new ConcreteArray(
          new ShapedArray([], a.aval.dtype, a.aval.weakType),
          device,
          device.upload(host),
          host,
        );
        temps.push(x);
        return x;
      }
      const s = env.get(a)!;
      // The wrapper becomes the buffer's owner: released through it (dispose), exactly once.
      s.owner ??= new ConcreteArray(a.aval, device, s.buf);
      return s.owner;
    });
    const impl = () => rules.impl(args, eqn.params as ParamsOf<Primitive>) as ConcreteArray[];
    if (device.isRecording) {
      // A host step of the recording: the impl runs once the recorded calls before it have, and
      // its results are copied into buffers that exist now.
      const bufs = eqn.outBinders.map((v) => device.alloc(v.aval));
      eqn.outBinders.forEach((v, k) => setSlot(v, { buf: bufs[k], keep: false }));
      device.recordHostStep(() => {
        const outs = impl();
        outs.forEach((x, k) => {
          if (x.device === device) device.copyInto(bufs[k], device.own(x.buffer));
          else device.write(bufs[k], x.peekHost()!);
        });
        // An impl may return one array in several places: each is freed once, after all copies.
        for (const x of new Set(outs)) if (!args.includes(x)) x.dispose();
      });
      device.afterRecordedRun(() => temps.forEach((t) => t.dispose()));
      return;
    }
    const outs = impl();
    eqn.outBinders.forEach((v, k) => {
      let x = outs[k];
      if (x.device !== device) x = new ConcreteArray(x.aval, device, device.upload(x.peekHost()!));
      setSlot(v, { buf: device.own(x.buffer), owner: x, keep: false });
    });
    for (const t of temps) if (!outs.includes(t)) t.dispose();
  }
}
