/**
 * pjit: jit's call primitive (JAX's `pjit_p`). Its operands are the arguments of a closed jaxpr (the
 * traced function), its results that jaxpr's results. Evaluating it compiles the jaxpr once per device
 * (`compileFor`: the device's fused program, or the equation-by-equation interpreter) and runs it.
 */
import type { Device } from "../backend/device.js";
import type { ShapedArray } from "../core/aval.js";
import { defaultDevice } from "../backend/devices.js";
import { ConcreteArray } from "../core/concrete-array.js";
import { compileFor, type Executable } from "../core/executable.js";
import { fromHost } from "../core/from-host.js";
import type { ClosedJaxpr, Jaxpr } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import type { Tracer } from "../core/trace.js";
import type { HigherOrderRules } from "./rules.js";

type PjitParams = ParamsOf<Primitive.Pjit>;

/** One executable per jaxpr per device, dropped with the jaxpr (jit's cache entries hold it). */
const executables = new WeakMap<Jaxpr, Map<Device, Executable>>();

export function executableFor(jaxpr: Jaxpr, device: Device): Executable {
  let perDevice = executables.get(jaxpr);
  if (!perDevice) executables.set(jaxpr, (perDevice = new Map()));
  let exe = perDevice.get(device);
  if (!exe) perDevice.set(device, (exe = compileFor(device, jaxpr)));
  return exe;
}

/**
 * Where the program runs, as for one primitive: the device of the operands whose values the host does
 * not know (they would need a read back to move); host-known ones (CPU arrays) follow them.
 */
function pickDevice(name: string, inputs: readonly ConcreteArray[]): Device {
  const pinned = new Set<Device>();
  const all = new Set<Device>();
  for (const x of inputs) {
    all.add(x.device);
    if (x.device.kind !== "cpu" && x.peekHost() === undefined) pinned.add(x.device);
  }
  if (all.size === 1) return inputs[0].device;
  if (all.size === 0) return defaultDevice();
  if (pinned.size === 1) return [...pinned][0];
  if (pinned.size === 0) return defaultDevice();
  throw new Error(
    `pjit (${name}): operands live on different devices (${[...all].map((d) => d.id).join(", ")})`,
  );
}

function pjitAbstractEval(avals: ShapedArray[], params: PjitParams): ShapedArray[] {
  const { jaxpr, name } = params;
  const want = jaxpr.inAvals;
  if (avals.length !== want.length) {
    throw new TypeError(`pjit (${name}): the jaxpr takes ${want.length} operands, got ${avals.length}`);
  }
  avals.forEach((a, i) => {
    if (!a.equals(want[i])) {
      throw new TypeError(
        `pjit (${name}): operand ${i} has type ${a.strShort()}, the jaxpr expects ${want[i].strShort()}`,
      );
    }
  });
  return jaxpr.outAvals;
}

/** The jaxpr's constants copied to another device, kept for the next call there. */
const movedConsts = new WeakMap<ClosedJaxpr, Map<Device, ConcreteArray[]>>();

function constsOn(closed: ClosedJaxpr, device: Device): ConcreteArray[] {
  if (closed.consts.every((c) => c.device === device)) return closed.consts;
  let perDevice = movedConsts.get(closed);
  if (!perDevice) movedConsts.set(closed, (perDevice = new Map()));
  let consts = perDevice.get(device);
  if (!consts) {
    consts = closed.consts.map((c) => (c.device === device ? c : fromHost(c.peekHost()!, c.aval, device)));
    perDevice.set(device, consts);
  }
  return consts;
}

function pjitImpl(args: Tracer[], params: PjitParams): Tracer[] {
  const { jaxpr: closed, name } = params;
  const operands = args as ConcreteArray[];
  const device = pickDevice(name, closed.consts.length ? [...closed.consts, ...operands] : operands);
  // Operands on another device are copied over (only host-known ones can be: see pickDevice).
  const moved = operands.map((x) => (x.device === device ? x : fromHost(x.peekHost()!, x.aval, device)));
  const outs = executableFor(closed.jaxpr, device).run([...constsOn(closed, device), ...moved]);
  const keep = new Set(outs);
  moved.forEach((x, i) => {
    if (x !== operands[i] && !keep.has(x)) x.dispose();
  });
  return outs;
}

export const pjitRules: HigherOrderRules<Primitive.Pjit> = {
  abstractEval: pjitAbstractEval,
  impl: pjitImpl,
};

// JAX's printer hides pjit's other params at their defaults and shows `name` first; ours sorts the
// params, so a pjit prints as `pjit[jaxpr={ lambda ; ... } name=f]`.
export const jitPrimitiveRules = { [Primitive.Pjit]: pjitRules };
