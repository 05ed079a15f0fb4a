/**
 * The WebGPU executor's compiled program: a fusion plan turned into a list of dispatches recorded
 * into one command encoder (one compute pass, one submit per run). Intermediate buffers come from
 * the device pool and go back to it right after their last reader is recorded (queue order keeps
 * them intact until then); higher-order equations split the program around their impl call.
 */
import type { ConcreteArray as ConcreteArrayT } from "../../../core/concrete-array.js";
import { ConcreteArray } from "../../../core/concrete-array.js";
import type { Executable } from "../../../core/executable.js";
import { Literal, type Jaxpr, type JaxprEqn, type Var } from "../../../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../../../core/primitive.js";
import { planFusion, type FusionPlan } from "../../../compiler/fusion.js";
import { inlineCalls } from "../../../compiler/inline.js";
import { splitWideConcatenates } from "../../../compiler/split-concatenate.js";
import { canonicalizeForKernels } from "../../../compiler/canonicalize.js";
import { hostArray } from "../../../dtype.js";
import { rulesOf } from "../../../primitives/index.js";
import { isHigherOrder } from "../../../primitives/rules.js";
import { GpuBuffer, type WebGpuDevice } from "../webgpu-device.js";
import { canInlineWgsl } from "./emit.js";
import { TextureScratch } from "./dot-textures.js";
import {
  Scratch,
  TooManyBindings,
  stepKernels,
  stepOutputs,
  type BufferRef,
  type DispatchSpec,
} from "./kernels.js";

type Ref = BufferRef | Literal;

interface DispatchInstr {
  kind: "dispatch";
  spec: DispatchSpec;
  pipeline: GPUComputePipeline;
  bindings: Ref[];
  /** Bind group of the last run, reused while the same buffers come back from the pool. */
  cache?: { buffers: (GPUBuffer | GPUTextureView)[]; group: GPUBindGroup };
}

interface Instr {
  /** Buffers to allocate before the step's dispatches. */
  alloc: Var[];
  scratch: Scratch[];
  dispatches: DispatchInstr[];
  call?: JaxprEqn;
  /** Values whose last reader this step is. */
  frees: Var[];
}

interface Slot {
  buf: GPUBuffer;
  /** The array that owns the buffer (a caller's input, or a result of an impl call). */
  owner?: ConcreteArrayT;
  /** Caller's input: never released by the run. */
  keep: boolean;
}

/** Whether the fused reduction / matmul kernels handle this equation. */
function canAnchor(eqn: JaxprEqn): boolean {
  const sizes = [...eqn.inputs, ...eqn.outBinders].map((a) => a.aval.size);
  if (sizes.some((n) => n === 0)) return false;
  if ([...eqn.inputs, ...eqn.outBinders].some((a) => a.aval.dtype === "float16")) return false;
  if (eqn.primitive === Primitive.DotGeneral) {
    const p = eqn.params as ParamsOf<Primitive.DotGeneral>;
    return eqn.inputs.every((a) => !(a instanceof Literal)) && p.dimension_numbers[0][0].length > 0;
  }
  return true;
}

export function compileWebGpu(device: WebGpuDevice, jaxpr: Jaxpr): Executable {
  const { jaxpr: inlined, extraConsts } = inlineCalls(jaxpr);
  // A kernel binds every operand and its output: wide concatenates become a tree of narrower ones.
  const flat = splitWideConcatenates(
    canonicalizeForKernels(inlined),
    device.limits.maxStorageBuffersPerShaderStage - 1,
  );
  const force = new Set<Var>();
  for (;;) {
    const plan = planFusion(flat, { canInline: canInlineWgsl, canAnchor, forceMaterialise: force });
    try {
      return new WebGpuExecutable(device, jaxpr, plan, extraConsts);
    } catch (e) {
      if (!(e instanceof TooManyBindings)) throw e;
      // Split the kernel: compute the root's inlined operands (or its anchor's) in kernels of their own.
      const before = force.size;
      const root = e.root;
      const eqn = plan.producer.get(root);
      const step = plan.steps.find(
        (s) => s.kind !== "opaque" && s.kind !== "higher-order" && s.root === root,
      );
      for (const eq of [eqn, step && "anchor" in step ? step.anchor : undefined])
        for (const a of eq?.inputs ?? [])
          if (!(a instanceof Literal) && !plan.materialised.has(a)) force.add(a);
      if (force.size === before)
        throw new Error(
          `webgpu compiler: cannot fit the kernel of ${root.aval.strShort()} within the binding limit`,
          { cause: e },
        );
    }
  }
}

export class WebGpuExecutable implements Executable {
  readonly kernelCount: number;
  /** What each dispatched kernel computes, in order (for tests and debugging). */
  readonly kernelLabels: string[];
  private readonly instrs: Instr[];
  private readonly literalArrays = new Map<Literal, ConcreteArrayT>();
  private readonly binders: Var[];
  private checkedRuns = 0;
  /** Textures of the steps that read operands through textures, created at the first run. */
  private readonly textures = new Map<TextureScratch, GPUTextureView>();

  constructor(
    readonly device: WebGpuDevice,
    readonly jaxpr: Jaxpr,
    readonly plan: FusionPlan,
    /** Values of the constants of inlined calls (after the jaxpr's own inputs). */
    private readonly extraConsts: ConcreteArrayT[],
  ) {
    this.binders = [...plan.jaxpr.constVars.slice(0, jaxpr.constVars.length), ...plan.jaxpr.inBinders];
    const extraVars = plan.jaxpr.constVars.slice(jaxpr.constVars.length);
    this.binders.push(...extraVars);
    const literal = (l: Literal) => {
      if (!this.literalArrays.has(l)) {
        const host = hostArray(l.aval.dtype, 1);
        host[0] = typeof l.value === "boolean" ? +l.value : l.value;
        this.literalArrays.set(l, new ConcreteArray(l.aval, device, device.upload(host, l.aval), host));
      }
    };
    this.instrs = plan.steps.map((step) => {
      if (step.kind === "higher-order") {
        step.eqn.inputs.forEach((a) => a instanceof Literal && literal(a));
        return { alloc: [], scratch: [], dispatches: [], call: step.eqn, frees: [] };
      }
      if (step.kind === "opaque") step.eqn.inputs.forEach((a) => a instanceof Literal && literal(a));
      const { dispatches, scratch } = stepKernels(plan, step, device.limits);
      return {
        alloc: stepOutputs(step),
        scratch,
        dispatches: dispatches.map((spec) => ({
          kind: "dispatch" as const,
          spec,
          pipeline: device.pipeline(spec.code, spec.label),
          bindings: step.kind === "opaque" ? [...step.eqn.inputs, ...step.eqn.outBinders] : spec.bindings,
        })),
        frees: [],
      };
    });
    this.kernelCount = this.instrs.reduce((n, s) => n + s.dispatches.length, 0);
    this.kernelLabels = this.instrs.flatMap((s) => s.dispatches.map((d) => d.spec.label));
    // Liveness: each intermediate is released after the last step that reads it (or the one that
    // wrote it, when nothing reads it).
    const last = new Map<Var, number>();
    this.instrs.forEach((ins, k) => {
      for (const v of ins.alloc) last.set(v, k);
      const reads = ins.call ? ins.call.inputs : ins.dispatches.flatMap((d) => d.bindings);
      for (const r of reads)
        if (!(r instanceof Literal) && !(r instanceof Scratch) && !(r instanceof TextureScratch))
          last.set(r, k);
      if (ins.call) for (const v of ins.call.outBinders) last.set(v, k);
    });
    for (const a of plan.jaxpr.outs) if (!(a instanceof Literal)) last.delete(a);
    for (const v of plan.jaxpr.constVars) last.delete(v);
    for (const v of plan.jaxpr.inBinders) last.delete(v);
    for (const [v, k] of last) this.instrs[k].frees.push(v);
  }

  /** Each kernel's WGSL after a comment naming it; host steps (loops, conds) as comments. */
  describe(): string {
    const parts: string[] = [];
    let k = 0;
    for (const ins of this.instrs) {
      if (ins.call) {
        const inner = ins.call.primitive;
        parts.push(
          `// host step: ${inner} (runs through its impl between kernels; its bodies run as programs of their own)`,
        );
        continue;
      }
      for (const d of ins.dispatches) {
        k++;
        const [x, y, z] = d.spec.groups;
        parts.push(
          `// kernel ${k} of ${this.kernelCount}: ${d.spec.label}; ${d.bindings.length} bindings, workgroups (${x}, ${y}, ${z})\n` +
            d.spec.code.trimEnd(),
        );
      }
    }
    if (!parts.length) parts.push("// no kernels: the program only forwards its inputs or constants");
    return parts.join("\n\n") + "\n";
  }

  run(inputs: ConcreteArrayT[]): ConcreteArrayT[] {
    const { device, plan } = this;
    const gpu = device.gpu;
    device.checkUsable();
    const expected = this.binders.length - this.extraConsts.length;
    if (inputs.length !== expected)
      throw new TypeError(`executable takes ${expected} inputs, got ${inputs.length}`);
    const env = new Map<Var, Slot>();
    const refs = new Map<GPUBuffer, number>();
    const uploaded: GPUBuffer[] = [];
    const setSlot = (v: Var, s: Slot) => {
      env.set(v, s);
      refs.set(s.buf, (refs.get(s.buf) ?? 0) + 1);
    };
    [...inputs, ...this.extraConsts].forEach((x, k) => {
      if (x.device === device)
        setSlot(this.binders[k], { buf: device.own(x.buffer).buffer, owner: x, keep: true });
      else {
        // An array of another device: a copy for this run (its host values are known).
        const host = x.peekHost();
        if (!host)
          throw new Error(`webgpu executable: input ${k} lives on ${x.device.id} and is not readable`);
        const b = device.own(device.upload(host, x.aval)).buffer;
        uploaded.push(b);
        setSlot(this.binders[k], { buf: b, keep: true });
      }
    });
    const bufferOf = (r: Ref, scratch: Map<Scratch, GPUBuffer>): GPUBuffer | GPUTextureView => {
      if (r instanceof Literal) return device.own(this.literalArrays.get(r)!.buffer).buffer;
      if (r instanceof Scratch) return scratch.get(r)!;
      if (r instanceof TextureScratch) return this.textureView(r);
      return env.get(r)!.buf;
    };
    const free = (v: Var) => {
      const s = env.get(v);
      if (!s) return;
      env.delete(v);
      const n = refs.get(s.buf)! - 1;
      refs.set(s.buf, n);
      if (n > 0 || s.keep) return;
      if (s.owner) s.owner.dispose();
      else device.inOrder(() => device.releaseBuffer(s.buf));
    };

    let encoder: GPUCommandEncoder | undefined;
    let pass: GPUComputePassEncoder | undefined;
    const flush = () => {
      if (pass) pass.end();
      // In the device's queue order: behind a pending host-driven step (a while loop), if any.
      if (encoder) {
        const commands = encoder.finish();
        device.inOrder(() => gpu.queue.submit([commands]));
        device.closeEncoder();
      }
      encoder = pass = undefined;
    };
    // The first runs are checked under error scopes (a rejected command names this program); later
    // runs repeat the same commands on same-sized buffers, and whatever slips through still reaches
    // the device's uncaptured-error handler. Scopes cost about 50 µs a run on lavapipe.
    const scoped = this.checkedRuns < 2;
    this.checkedRuns++;
    if (scoped) {
      gpu.pushErrorScope("out-of-memory");
      gpu.pushErrorScope("validation");
    }
    const localPass = (): GPUComputePassEncoder => {
      device.flushPending();
      encoder ??= device.openEncoder();
      pass ??= encoder.beginComputePass();
      return pass;
    };
    try {
      for (const ins of this.instrs) {
        if (ins.call) {
          flush();
          this.call(ins.call, env, setSlot);
        } else {
          for (const v of ins.alloc)
            setSlot(v, { buf: device.allocate(Math.max(4, v.aval.size * 4)), keep: false });
          const scratch = new Map(ins.scratch.map((s) => [s, device.allocate(s.bytes)]));
          for (const d of ins.dispatches) {
            const buffers = d.bindings.map((r) => bufferOf(r, scratch));
            if (!d.cache || d.cache.buffers.some((b, k) => b !== buffers[k])) {
              const group = gpu.createBindGroup({
                layout: device.layoutOf(d.pipeline),
                entries: buffers.map((b, binding) => ({
                  binding,
                  resource:
                    d.bindings[binding] instanceof TextureScratch
                      ? (b as GPUTextureView)
                      : { buffer: b as GPUBuffer },
                })),
              });
              d.cache = { buffers, group };
            }
            // Later runs record into the device's shared pending pass while no host-driven step
            // is queued (one submit for many runs); otherwise into an encoder of their own,
            // behind the pending work.
            if (!scoped && device.canBatch) {
              flush();
              device.batchDispatch(d.pipeline, d.cache.group, d.spec.groups);
            } else {
              const p = localPass();
              p.setPipeline(d.pipeline);
              p.setBindGroup(0, d.cache.group);
              p.dispatchWorkgroups(...d.spec.groups);
            }
          }
          for (const b of scratch.values()) device.inOrder(() => device.releaseBuffer(b));
        }
        for (const v of ins.frees) free(v);
      }
      // Results: a buffer handed out twice (the same value returned twice) is copied.
      const given = new Set<GPUBuffer>();
      const results = plan.jaxpr.outs.map((a) => {
        if (a instanceof Literal) return undefined;
        const s = env.get(a)!;
        if (!given.has(s.buf)) {
          given.add(s.buf);
          if (s.owner) return s.owner;
          return new ConcreteArray(a.aval, device, new GpuBuffer(device, s.buf));
        }
        let copyEncoder: GPUCommandEncoder;
        if (!scoped && device.canBatch) {
          flush();
          copyEncoder = device.batchEncoder();
        } else {
          device.flushPending();
          if (pass) pass.end();
          pass = undefined;
          copyEncoder = encoder ??= device.openEncoder();
        }
        const copy = device.allocate(s.buf.size);
        copyEncoder.copyBufferToBuffer(s.buf, 0, copy, 0, s.buf.size);
        return new ConcreteArray(a.aval, device, new GpuBuffer(device, copy));
      });
      flush();
      for (const b of uploaded) device.inOrder(() => device.releaseBuffer(b));
      return results.map((r, k) => {
        if (r) return r;
        const l = plan.jaxpr.outs[k] as Literal;
        const host = hostArray(l.aval.dtype, 1);
        host[0] = typeof l.value === "boolean" ? +l.value : l.value;
        return new ConcreteArray(l.aval, device, device.upload(host, l.aval), host);
      });
    } finally {
      // A run that failed midway drops its unsubmitted commands.
      if (encoder) device.closeEncoder();
      if (scoped) this.popScopes();
    }
  }

  /**
   * The texture of `t`, kept from run to run: each run's copy into it is queued after the previous
   * run's reads of it, and its padding is rewritten (zeros) by every copy.
   */
  private textureView(t: TextureScratch): GPUTextureView {
    let view = this.textures.get(t);
    if (!view) {
      const texture = this.device.gpu.createTexture({
        size: [t.width, t.height],
        format: "rgba32float",
        usage: 0x08, // GPUTextureUsage.STORAGE_BINDING (the spec's value; no global in Node)
      });
      view = texture.createView();
      this.textures.set(t, view);
    }
    return view;
  }

  private popScopes(): void {
    const { device } = this;
    const validation = device.gpu.popErrorScope();
    const oom = device.gpu.popErrorScope();
    device.watch(
      Promise.all([validation, oom]).then(([v, o]) => {
        if (o) device.fail(new Error(`${device.id}: out of memory running a compiled program: ${o.message}`));
        else if (v)
          device.fail(new Error(`${device.id}: WebGPU rejected a compiled program's commands: ${v.message}`));
      }),
    );
  }

  /** A higher-order equation through its impl rule, on arrays wrapping the run's buffers. */
  private call(eqn: JaxprEqn, env: Map<Var, Slot>, setSlot: (v: Var, s: Slot) => void): void {
    const { device } = this;
    const rules = rulesOf(eqn.primitive);
    if (!isHigherOrder(rules)) throw new Error(`${eqn.primitive} is not higher-order`);
    const args = eqn.inputs.map((a) => {
      if (a instanceof Literal) return this.literalArrays.get(a)!;
      const s = env.get(a)!;
      // The wrapper becomes the buffer's owner: it is released through it (dispose), exactly once.
      s.owner ??= new ConcreteArray(a.aval, device, new GpuBuffer(device, s.buf));
      return s.owner;
    });
    const outs = rules.impl(args, eqn.params as ParamsOf<Primitive>);
    eqn.outBinders.forEach((v, k) => {
      let x = outs[k] as ConcreteArrayT;
      if (x.device !== device) x = new ConcreteArray(x.aval, device, device.upload(x.peekHost()!, x.aval));
      setSlot(v, { buf: device.own(x.buffer).buffer, owner: x, keep: false });
    });
  }
}
