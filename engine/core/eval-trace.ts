/** The bottom trace: runs each primitive right away on the operands' device. */
import { defaultDevice } from "../backend/devices.js";
import type { Device } from "../backend/device.js";
import { abstractEval, rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";
import { ConcreteArray } from "./concrete-array.js";
import type { ParamsOf, Primitive } from "./primitive.js";
import { Trace, Tracer, setBaseTrace } from "./trace.js";

export class EvalTrace extends Trace {
  lift(x: Tracer): Tracer {
    return x;
  }

  processPrimitive<P extends Primitive>(prim: P, tracers: Tracer[], params: ParamsOf<P>): Tracer[] {
    const args = tracers.map((t) => {
      if (!(t instanceof ConcreteArray))
        throw new Error(`${prim}: eval trace received a non-concrete operand ${t}`);
      return t;
    });
    const rules = rulesOf(prim);
    // Higher-order primitives (pjit, cond, while, scan) run their inner jaxprs themselves.
    if (isHigherOrder(rules)) return rules.impl(args, params);
    return evalPrimitive(prim, args, params);
  }
}

/** The device an operation runs on: the operands' (host-known operands may follow the others). */
function pickDevice(prim: Primitive, args: ConcreteArray[]): Device {
  const ids = new Set(args.map((a) => a.device.id));
  if (ids.size <= 1) return args[0]?.device ?? defaultDevice();
  // Arrays whose values the host knows (CPU arrays, JS scalars) are moved to the other device.
  const pinned = args.filter((a) => a.peekHost() === undefined);
  const pinnedIds = new Set(pinned.map((a) => a.device.id));
  if (pinnedIds.size === 1) return pinned[0].device;
  if (pinnedIds.size === 0) return defaultDevice();
  throw new Error(`${prim}: operands live on different devices (${[...ids].join(", ")})`);
}

export function evalPrimitive<P extends Primitive>(
  prim: P,
  args: ConcreteArray[],
  params: ParamsOf<P>,
): ConcreteArray[] {
  const inAvals = args.map((a) => a.aval);
  const outAvals = abstractEval(prim, inAvals, params);
  const device = pickDevice(prim, args);
  const moved = args.map((a) => (a.device === device ? undefined : device.upload(a.peekHost()!, a.aval)));
  const buffers = args.map((a, k) => moved[k] ?? a.buffer);
  const outs = device.execute(prim, buffers, inAvals, outAvals, params);
  // Queue order keeps a released buffer intact until the work submitted before its reuse has run.
  for (const b of moved) if (b) device.release(b);
  return outs.map((b, k) => new ConcreteArray(outAvals[k], device, b));
}

setBaseTrace(EvalTrace);
