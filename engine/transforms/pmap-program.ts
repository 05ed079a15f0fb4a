/**
 * What `pmap` runs: the per-shard jaxpr cut at its collectives over the pmap axis. Each piece between
 * two collectives is compiled once for the executor (as `jit` compiles) and run for every shard (side
 * by side on the CPU executor's threads, `Device.runShards`); a
 * collective is a cross-shard step: the shards' values are combined (psum/pmax/pmin: reduced,
 * all_gather: stacked, axis_index: each shard's own index) and handed back to every shard.
 */
import type { Device } from "../backend/device.js";
import { ShapedArray } from "../core/aval.js";
import { ConcreteArray } from "../core/concrete-array.js";
import { compileFor, type Executable } from "../core/executable.js";
import { fromHost } from "../core/from-host.js";
import { ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, innerJaxprs, type Atom } from "../core/jaxpr.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import { bind1 } from "../core/trace.js";
import { inlineCalls } from "../compiler/inline.js";
import { hostArray } from "../dtype.js";
import * as lax from "../lax/slicing.js";

type Stage =
  { kind: "segment"; exe: Executable; ins: Var[]; outs: Var[] } | { kind: "collective"; eqn: JaxprEqn };

/** Whether the equation is a collective over `axisName` (these cut the program). */
function isCollectiveOver(eqn: JaxprEqn, axisName: string): boolean {
  switch (eqn.primitive) {
    case Primitive.Psum:
    case Primitive.Pmax:
    case Primitive.Pmin:
      return (eqn.params as ParamsOf<Primitive.Psum>).axes.includes(axisName);
    case Primitive.AllGather:
      return (eqn.params as ParamsOf<Primitive.AllGather>).axis_name === axisName;
    case Primitive.AxisIndex:
      return (eqn.params as ParamsOf<Primitive.AxisIndex>).axis_name === axisName;
    default:
      return false;
  }
}

function usesAxisInside(jaxpr: Jaxpr, axisName: string): boolean {
  return jaxpr.eqns.some(
    (e) => isCollectiveOver(e, axisName) || innerJaxprs(e).some((j) => usesAxisInside(j, axisName)),
  );
}

export class PmapProgram {
  private readonly stages: Stage[] = [];
  private readonly jaxpr: Jaxpr;
  private readonly consts: ConcreteArray[];

  constructor(
    closed: ClosedJaxpr,
    readonly executor: Device,
    readonly axisName: string,
  ) {
    const { jaxpr, extraConsts } = inlineCalls(closed.jaxpr);
    this.jaxpr = jaxpr;
    this.consts = [...closed.consts, ...extraConsts];
    for (const e of jaxpr.eqns) {
      if (!isCollectiveOver(e, axisName) && innerJaxprs(e).some((j) => usesAxisInside(j, axisName)))
        throw new Error(
          `pmap: a collective over axis '${axisName}' inside ${e.primitive} is not supported yet ` +
            `(collectives must be at the top level of the pmapped function, or inside jit)`,
        );
    }
    // Variables read at or after each equation index (for the pieces' outputs).
    const lastRead = new Map<Var, number>();
    jaxpr.eqns.forEach((e, k) => e.inputs.forEach((a) => a instanceof Var && lastRead.set(a, k)));
    for (const a of jaxpr.outs) if (a instanceof Var) lastRead.set(a, Infinity);
    let start = 0;
    const cut = (end: number) => {
      if (end > start) this.stages.push(this.segment(jaxpr.eqns.slice(start, end), end, lastRead));
    };
    jaxpr.eqns.forEach((e, k) => {
      if (!isCollectiveOver(e, axisName)) return;
      cut(k);
      this.stages.push({ kind: "collective", eqn: e });
      start = k + 1;
    });
    cut(jaxpr.eqns.length);
  }

  /** A piece of the program as its own jaxpr: what it reads from before, what later stages read. */
  private segment(eqns: JaxprEqn[], end: number, lastRead: Map<Var, number>): Stage {
    const defined = new Set<Var>();
    const ins: Var[] = [];
    const seen = new Set<Var>();
    for (const e of eqns) {
      for (const a of e.inputs)
        if (a instanceof Var && !defined.has(a) && !seen.has(a)) {
          seen.add(a);
          ins.push(a);
        }
      e.outBinders.forEach((v) => defined.add(v));
    }
    const outs = [...defined].filter((v) => (lastRead.get(v) ?? -1) >= end);
    const exe = compileFor(this.executor, new Jaxpr([], ins, eqns, outs));
    return { kind: "segment", exe, ins, outs };
  }

  /** Compiled pieces (for tests and `describe`). */
  get segmentCount(): number {
    return this.stages.filter((s) => s.kind === "segment").length;
  }

  /**
   * Runs every shard (`shardInputs[k]` are shard k's flat arguments, on the executor); returns each
   * shard's flat results. Intermediates made here are disposed before returning.
   */
  run(shardInputs: ConcreteArray[][]): ConcreteArray[][] {
    const { jaxpr, executor } = this;
    const envs = shardInputs.map((inputs) => {
      const env = new Map<Var, ConcreteArray>();
      jaxpr.constVars.forEach((v, k) => env.set(v, this.consts[k]));
      jaxpr.inBinders.forEach((v, k) => env.set(v, inputs[k]));
      return env;
    });
    const created = new Set<ConcreteArray>();
    const literal = (l: Literal): ConcreteArray => {
      const host = hostArray(l.aval.dtype, 1);
      host[0] = typeof l.value === "boolean" ? +l.value : l.value;
      const x = fromHost(host, new ShapedArray([], l.aval.dtype, l.aval.weakType), executor);
      created.add(x);
      return x;
    };
    const read = (env: Map<Var, ConcreteArray>, a: Atom): ConcreteArray =>
      a instanceof Literal ? literal(a) : env.get(a)!;
    try {
      this.runStages(envs, created, read);
    } catch (e) {
      const keep = new Set<ConcreteArray>([...this.consts, ...shardInputs.flat()]);
      for (const x of created) if (!keep.has(x)) x.dispose();
      throw e;
    }
    const results = envs.map((env) => jaxpr.outs.map((a) => read(env, a)));
    const keep = new Set<ConcreteArray>([...this.consts, ...shardInputs.flat(), ...results.flat()]);
    for (const x of created) if (!keep.has(x)) x.dispose();
    return results;
  }

  private runStages(
    envs: Map<Var, ConcreteArray>[],
    created: Set<ConcreteArray>,
    read: (env: Map<Var, ConcreteArray>, a: Atom) => ConcreteArray,
  ): void {
    const { executor } = this;
    const n = envs.length;
    for (const stage of this.stages) {
      if (stage.kind === "segment") {
        // Side by side on the executor's threads when it can; else one after another, each
        // program's large kernels using the executor's whole pool.
        const ins = envs.map((env) => stage.ins.map((v) => env.get(v)!));
        const outs =
          executor.runShards?.(stage.exe, ins) ??
          ins.map((xs) => {
            const o = stage.exe.run(xs);
            o.forEach((x) => created.add(x)); // freed if a later shard fails
            return o;
          });
        envs.forEach((env, s) =>
          stage.outs.forEach((v, k) => {
            env.set(v, outs[s][k]);
            created.add(outs[s][k]);
          }),
        );
        continue;
      }
      const { eqn } = stage;
      const [out] = eqn.outBinders;
      if (eqn.primitive === Primitive.AxisIndex) {
        envs.forEach((env, k) => {
          const x = fromHost(Int32Array.of(k), out.aval, executor);
          created.add(x);
          env.set(out, x);
        });
        continue;
      }
      const values = envs.map((env) => read(env, eqn.inputs[0]));
      const combined = combine(eqn, values, n);
      created.add(combined);
      for (const env of envs) env.set(out, combined);
    }
  }
}

/** The cross-shard step of one collective: every shard gets the same combined value. */
function combine(eqn: JaxprEqn, values: ConcreteArray[], n: number): ConcreteArray {
  switch (eqn.primitive) {
    case Primitive.Psum:
    case Primitive.Pmax:
    case Primitive.Pmin: {
      const op =
        eqn.primitive === Primitive.Psum
          ? Primitive.Add
          : eqn.primitive === Primitive.Pmax
            ? Primitive.Max
            : Primitive.Min;
      const axes = (eqn.params as ParamsOf<Primitive.Psum>).axes;
      if (axes.length !== 1)
        throw new Error(`pmap: ${eqn.primitive} over several axes (${axes.join(", ")}) is not supported`);
      return values.reduce((a, b) => bind1(op, [a, b], {}) as ConcreteArray);
    }
    case Primitive.AllGather: {
      const p = eqn.params as ParamsOf<Primitive.AllGather>;
      if (p.axis_size !== n)
        throw new Error(`pmap: all_gather expects ${p.axis_size} shards, the pmap has ${n}`);
      const d = p.all_gather_dimension;
      const parts = p.tiled ? values : values.map((v) => lax.expandDims(v, [d]));
      return lax.concatenate(parts, d) as ConcreteArray;
    }
    default:
      throw new Error(`pmap: ${eqn.primitive} is not a collective`);
  }
}
