/**
 * Control flow (JAX's `cond`, `while`, `scan`): higher-order primitives whose params hold closed
 * jaxprs. Eagerly they run their inner jaxprs on the operands' device. A cond's branch index and a
 * while loop's predicate are needed on the host: the CPU has them at once; on WebGPU the loop is
 * written as a generator that yields the arrays it must read, and the device runs the rest of it as
 * an ordered host step (Device.enqueueHostStep) whose outputs exist immediately.
 */
import { ShapedArray } from "../core/aval.js";
import { ConcreteArray } from "../core/concrete-array.js";
import { evalPrimitive } from "../core/eval-trace.js";
import { compileFor, type Executable } from "../core/executable.js";
import { fromHost, literalArray } from "../core/from-host.js";
import type { ClosedJaxpr, Jaxpr } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import type { Tracer } from "../core/trace.js";
import type { Device } from "../backend/device.js";
import { defaultDevice } from "../backend/devices.js";
import type { TypedArray } from "../dtype.js";
import { formatShape } from "../shape.js";
import type { HigherOrderRules, RuleGroup } from "./rules.js";

const avalsText = (avals: readonly ShapedArray[]) => `[${avals.map((a) => a.toString()).join(", ")}]`;

/** Checks that operands match a jaxpr's inputs (shape and dtype), naming the primitive. */
function checkInputs(what: string, closed: ClosedJaxpr, avals: readonly ShapedArray[]): void {
  const want = closed.inAvals;
  if (want.length !== avals.length || !want.every((a, i) => a.equals(avals[i]))) {
    throw new TypeError(`${what} takes ${avalsText(want)}, got operands ${avalsText(avals)}`);
  }
}

const executables = new WeakMap<Jaxpr, Map<Device, Executable>>();

/** Runs a closed jaxpr on concrete arrays (compiled for the device when it has a compiler). */
function runClosed(closed: ClosedJaxpr, args: ConcreteArray[]): ConcreteArray[] {
  const device = args[0]?.device ?? closed.consts[0]?.device ?? defaultDevice();
  let byDevice = executables.get(closed.jaxpr);
  if (!byDevice) executables.set(closed.jaxpr, (byDevice = new Map()));
  let exe = byDevice.get(device);
  if (!exe) byDevice.set(device, (exe = compileFor(device, closed.jaxpr)));
  return exe.run([...closed.consts, ...args]);
}

/** Frees loop values that the next iteration replaced (never the caller's operands). */
function disposeReplaced(old: ConcreteArray[], kept: ConcreteArray[], operands: ConcreteArray[]): void {
  for (const x of old) if (!kept.includes(x) && !operands.includes(x)) x.dispose();
}

/** A loop that asks for host values: it yields an array and is resumed with its values. */
type HostLoop = Generator<ConcreteArray, ConcreteArray[], TypedArray>;

/** The device a loop runs on, as the eval trace picks one: the operands' device, or that of the
 * operands whose values only a device has when host-known ones (JS scalars) sit elsewhere. */
function deviceFor(label: string, args: ConcreteArray[]): Device {
  const all = new Set(args.map((a) => a.device));
  if (all.size <= 1) return args[0]?.device ?? defaultDevice();
  const pinned = new Set(args.filter((a) => a.peekHost() === undefined).map((a) => a.device));
  if (pinned.size === 1) return [...pinned][0];
  if (pinned.size === 0) return defaultDevice();
  throw new Error(`${label}: operands live on different devices (${[...all].map((d) => d.id).join(", ")})`);
}

/**
 * Drives a host loop over `args`: directly where the host has the values (the CPU), else as an
 * asynchronous host step of the device, on the step's own copies of `args`.
 */
function drive(
  label: string,
  makeLoop: (args: ConcreteArray[]) => HostLoop,
  args: ConcreteArray[],
  outAvals: ShapedArray[],
): ConcreteArray[] {
  const device = deviceFor(label, args);
  // Operands the host knows (JS scalars, CPU arrays) are moved to the loop's device.
  args = args.map((a) => (a.device === device ? a : fromHost(a.peekHost()!, a.aval, device)));
  if (!device.enqueueHostStep) {
    const loop = makeLoop(args);
    let r = loop.next();
    while (!r.done) {
      const host = r.value.peekHost();
      if (host === undefined)
        throw new Error(`${label}: ${device.id} cannot read ${r.value.aval.strShort()} back to the host`);
      r = loop.next(host);
    }
    return r.value;
  }
  const buffers = device.enqueueHostStep(
    label,
    args.map((a) => a.buffer),
    args.map((a) => a.aval),
    outAvals,
    async (ctx, copies) => {
      const own = copies.map((b, k) => new ConcreteArray(args[k].aval, device, b));
      const loop = makeLoop(own);
      let r = ctx.run(() => loop.next());
      while (!r.done) {
        const need = r.value;
        const host = need.peekHost() ?? (await ctx.read(need.buffer, need.aval));
        r = ctx.run(() => loop.next(host));
      }
      const results = r.value;
      const out = results.map((x) => x.buffer);
      // Released behind this step's final copies (the queue holding the step is busy until then).
      for (const x of own) if (!results.includes(x)) x.dispose();
      return out;
    },
  );
  return buffers.map((b, k) => new ConcreteArray(outAvals[k], device, b));
}

function* condLoop(params: ParamsOf<Primitive.Cond>, index: ConcreteArray, ops: ConcreteArray[]): HostLoop {
  const host = yield index;
  return runClosed(params.branches[clampIndex(host[0], params)], ops);
}

/** JAX clamps the index into range (lax.switch does so before binding; cond's impl clamps too). */
function clampIndex(k: number, params: ParamsOf<Primitive.Cond>): number {
  return Math.min(Math.max(k, 0), params.branches.length - 1);
}

function* whileLoop(params: ParamsOf<Primitive.While>, args: ConcreteArray[]): HostLoop {
  const { cond_nconsts: cn, body_nconsts: bn } = params;
  const condConsts = args.slice(0, cn);
  const bodyConsts = args.slice(cn, cn + bn);
  let carry = args.slice(cn + bn);
  for (;;) {
    const [pred] = runClosed(params.cond_jaxpr, [...condConsts, ...carry]);
    const host = yield pred;
    const keep = [...args, ...params.cond_jaxpr.consts, ...params.body_jaxpr.consts];
    disposeReplaced([pred], carry, keep);
    if (!host[0]) return carry;
    const next = runClosed(params.body_jaxpr, [...bodyConsts, ...carry]);
    disposeReplaced(carry, next, keep);
    carry = next;
  }
}

/** scan with a static trip count: the body runs once per step, no read-backs. */
function scanImpl(params: ParamsOf<Primitive.Scan>, args: ConcreteArray[]): ConcreteArray[] {
  const { num_consts: nc, num_carry: ncar, length, reverse, jaxpr } = params;
  const consts = args.slice(0, nc);
  let carry = args.slice(nc, nc + ncar);
  const xs = args.slice(nc + ncar);
  const i32 = new ShapedArray([], "int32");
  const zero = literalArray(0, i32);
  const yAvals = jaxpr.outAvals.slice(ncar);
  // ys start as zeros of their stacked shape; each step writes its slice (one kernel per shape,
  // whatever the step, since the position is an operand).
  let ys = yAvals.map((a) =>
    one(Primitive.BroadcastInDim, [literalArray(0, new ShapedArray([], a.dtype))], {
      shape: [length, ...a.shape],
      broadcast_dimensions: [],
    }),
  );
  for (let t = 0; t < length; t++) {
    const idx = literalArray(reverse ? length - 1 - t : t, i32);
    const xSlices = xs.map((x) => {
      const rest = x.shape.slice(1);
      const s = one(Primitive.DynamicSlice, [x, idx, ...rest.map(() => zero)], { slice_sizes: [1, ...rest] });
      return one(Primitive.Reshape, [s], { new_sizes: rest, dimensions: null });
    });
    const outs = runClosed(jaxpr, [...consts, ...carry, ...xSlices]);
    const next = outs.slice(0, ncar);
    ys = ys.map((acc, k) => {
      const y = outs[ncar + k];
      const y1 = one(Primitive.Reshape, [y], { new_sizes: [1, ...y.shape], dimensions: null });
      const updated = one(Primitive.DynamicUpdateSlice, [acc, y1, idx, ...y.shape.map(() => zero)], {});
      acc.dispose();
      y1.dispose();
      return updated;
    });
    // The step's values are done with, unless they live on as the carry (or are the operands).
    disposeReplaced([...carry, ...xSlices, ...outs.slice(ncar)], next, [...args, ...jaxpr.consts]);
    carry = next;
  }
  return [...carry, ...ys];
}

function one<P extends Primitive>(prim: P, args: ConcreteArray[], params: ParamsOf<P>): ConcreteArray {
  return evalPrimitive(prim, args, params)[0];
}

const concrete = (args: Tracer[]) => args as ConcreteArray[];

const condRules: HigherOrderRules<Primitive.Cond> = {
  abstractEval: ([index, ...ops], { branches }) => {
    if (index.ndim !== 0 || index.dtype !== "int32") {
      throw new TypeError(`cond: the branch index must be an int32 scalar, got ${index.toString()}`);
    }
    branches.forEach((b, k) => checkInputs(`cond branch ${k}`, b, ops));
    const outs = branches[0].outAvals;
    branches.forEach((b, k) => {
      const o = b.outAvals;
      if (o.length !== outs.length || !o.every((a, i) => a.equals(outs[i]))) {
        throw new TypeError(
          `cond: branch 0 and ${k} outputs must have identical types, got ${avalsText(outs)} and ${avalsText(o)}`,
        );
      }
    });
    // Weakly typed only when every branch's result is (JAX joins the branches' weak types).
    return outs.map((a, i) => a.withWeakType(branches.every((b) => b.outAvals[i].weakType)));
  },
  impl: (args, params) => {
    const [index, ...ops] = concrete(args);
    const outAvals = condRules.abstractEval(
      args.map((a) => a.aval),
      params,
    );
    // A host-known index (a CPU array, an uploaded scalar) picks the branch right away.
    const host = index.peekHost();
    if (host !== undefined) return runClosed(params.branches[clampIndex(host[0], params)], ops);
    return drive("lax.cond", (a) => condLoop(params, a[0], a.slice(1)), [index, ...ops], outAvals);
  },
};

const whileRules: HigherOrderRules<Primitive.While> = {
  abstractEval: (avals, { cond_jaxpr, body_jaxpr, cond_nconsts: cn, body_nconsts: bn }) => {
    const carry = avals.slice(cn + bn);
    checkInputs("while cond_jaxpr", cond_jaxpr, [...avals.slice(0, cn), ...carry]);
    checkInputs("while body_jaxpr", body_jaxpr, [...avals.slice(cn, cn + bn), ...carry]);
    const pred = cond_jaxpr.outAvals;
    if (pred.length !== 1 || pred[0].dtype !== "bool" || pred[0].ndim !== 0) {
      throw new TypeError(`while: cond_jaxpr must return a boolean scalar, got ${avalsText(pred)}`);
    }
    const outs = body_jaxpr.outAvals;
    if (outs.length !== carry.length || !outs.every((a, i) => a.equals(carry[i]))) {
      throw new TypeError(
        `while: body_jaxpr carry output ${avalsText(outs)} does not match the carry input ${avalsText(carry)}`,
      );
    }
    return carry;
  },
  impl: (args, params) => {
    const outAvals = whileRules.abstractEval(
      args.map((a) => a.aval),
      params,
    );
    return drive("lax.whileLoop", (a) => whileLoop(params, a), concrete(args), outAvals);
  },
};

const scanRules: HigherOrderRules<Primitive.Scan> = {
  abstractEval: (avals, { jaxpr, length, num_consts: nc, num_carry: ncar }) => {
    const xs = avals.slice(nc + ncar);
    for (const x of xs) {
      if (x.ndim === 0 || x.shape[0] !== length) {
        throw new TypeError(
          `scan: xs of shape ${formatShape(x.shape)} does not have the leading axis length ${length}`,
        );
      }
    }
    const xSlices = xs.map((x) => new ShapedArray(x.shape.slice(1), x.dtype, x.weakType));
    checkInputs("scan jaxpr", jaxpr, [...avals.slice(0, nc + ncar), ...xSlices]);
    const outs = jaxpr.outAvals;
    const carry = avals.slice(nc, nc + ncar);
    if (!carry.every((a, i) => outs[i]?.equals(a))) {
      throw new TypeError(
        `scan: jaxpr carry output ${avalsText(outs.slice(0, ncar))} does not match the carry input ${avalsText(carry)}`,
      );
    }
    const ys = outs.slice(ncar).map((y) => new ShapedArray([length, ...y.shape], y.dtype, y.weakType));
    return [...outs.slice(0, ncar), ...ys];
  },
  impl: (args, params) => scanImpl(params, concrete(args)),
};

export const controlFlowRules: RuleGroup<Primitive.Cond | Primitive.While | Primitive.Scan> = {
  [Primitive.Cond]: condRules,
  [Primitive.While]: whileRules,
  [Primitive.Scan]: scanRules,
};
