/**
 * A jaxpr prepared to run on one device: what `jit` hands its arguments to. Executors that compile
 * (fused WGSL kernels, generated JS loops) implement `Device.compile`; every other device gets the
 * interpreter below, which runs the equations one by one through the eval trace's kernels.
 */
import type { Device } from "../backend/device.js";
import { rulesOf } from "../primitives/index.js";
import { isHigherOrder } from "../primitives/rules.js";
import { ConcreteArray } from "./concrete-array.js";
import { evalPrimitive } from "./eval-trace.js";
import { literalArray } from "./from-host.js";
import { Literal, type Atom, type Jaxpr, type Var } from "./jaxpr.js";
import type { ParamsOf, Primitive } from "./primitive.js";

export interface Executable {
  /** Runs the jaxpr: its constants' values first, then the arguments, all on the device. */
  run(inputs: ConcreteArray[]): ConcreteArray[];
  /** Kernels one run dispatches (what fusion saves; fusion tests assert it). */
  readonly kernelCount: number;
  /**
   * The program as text, for people (`jit(f).lower(x).compile().asText()`): a compiling executor's
   * kernel sources in dispatch order, each after a comment naming it. Optional: the interpreter has
   * no program text of its own.
   */
  describe?(): string;
}

/** Runs each equation as the eval trace would, freeing intermediates as soon as nothing reads them. */
export class InterpretedExecutable implements Executable {
  readonly kernelCount: number;
  /** For each equation, the variables whose last reader it is. */
  private readonly lastUses: Var[][];

  constructor(
    readonly jaxpr: Jaxpr,
    readonly device: Device,
  ) {
    this.kernelCount = jaxpr.eqns.filter((e) => !isHigherOrder(rulesOf(e.primitive))).length;
    const last = new Map<Var, number>();
    jaxpr.eqns.forEach((e, k) => e.inputs.forEach((a) => a instanceof Literal || last.set(a, k)));
    for (const a of jaxpr.outs) if (!(a instanceof Literal)) last.delete(a);
    for (const v of [...jaxpr.constVars, ...jaxpr.inBinders]) last.delete(v);
    this.lastUses = jaxpr.eqns.map(() => []);
    for (const [v, k] of last) this.lastUses[k].push(v);
  }

  run(inputs: ConcreteArray[]): ConcreteArray[] {
    const { jaxpr } = this;
    const binders = [...jaxpr.constVars, ...jaxpr.inBinders];
    if (inputs.length !== binders.length)
      throw new TypeError(`executable takes ${binders.length} inputs, got ${inputs.length}`);
    const env = new Map<Var, ConcreteArray>();
    // How many live variables hold each array (an impl may hand back one of its operands); the
    // caller's inputs hold one reference that is never dropped.
    const holders = new Map<ConcreteArray, number>();
    const bindVar = (v: Var, x: ConcreteArray) => {
      env.set(v, x);
      holders.set(x, (holders.get(x) ?? 0) + 1);
    };
    binders.forEach((v, i) => bindVar(v, inputs[i]));
    const read = (a: Atom): ConcreteArray =>
      a instanceof Literal ? literalArray(a.value, a.aval) : env.get(a)!;
    jaxpr.eqns.forEach((eqn, k) => {
      const args = eqn.inputs.map(read);
      const params = eqn.params as ParamsOf<Primitive>;
      const rules = rulesOf(eqn.primitive);
      const outs = isHigherOrder(rules)
        ? (rules.impl(args, params) as ConcreteArray[])
        : evalPrimitive(eqn.primitive, args, params);
      eqn.outBinders.forEach((v, i) => bindVar(v, outs[i]));
      // Intermediates go back to the device's pool now, not when the collector gets to them.
      for (const v of this.lastUses[k]) {
        const x = env.get(v)!;
        const n = holders.get(x)! - 1;
        holders.set(x, n);
        if (n === 0) x.dispose();
      }
    });
    return jaxpr.outs.map(read);
  }
}

/** The device's own compiled form of the jaxpr when it has a compiler, else the interpreter. */
export function compileFor(device: Device, jaxpr: Jaxpr): Executable {
  return device.compile?.(jaxpr) ?? new InterpretedExecutable(jaxpr, device);
}
