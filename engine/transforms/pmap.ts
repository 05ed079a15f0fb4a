/**
 * `pmap(f, {inAxes, outAxes, axisName, devices})`: vmap's multi-device counterpart, as JAX's pmap.
 * The mapped axis is split over devices, one slice per device (its size must equal the number of
 * devices used); `f` is traced once per shard signature to a jaxpr under the named axis, so
 * collectives (`lax.psum/pmean/pmax/pmin/allGather`, `lax.axisIndex`) become cross-shard steps
 * (pmap-program.ts), and the pieces between them are compiled for the devices' executor as jit does.
 * Results are stacked along `outAxes` into ordinary arrays on that executor.
 *
 * Inside another transform (`jit(pmap(f))`, `grad`, `vmap` of a pmap) there is no device placement to
 * make: pmap is traced as `vmap` with the same axes and axis name, which computes the same values.
 */
import { hostArray } from "../dtype.js";
import type { Device } from "../backend/device.js";
import { defaultDevice } from "../backend/devices.js";
import { executorOf, localDevices } from "../backend/local-devices.js";
import { ShapedArray } from "../core/aval.js";
import type { BatchMainData } from "../core/batch-trace.js";
import { ConcreteArray } from "../core/concrete-array.js";
import { fromHost } from "../core/from-host.js";
import { JaxprBuilder, JaxprTrace } from "../core/jaxpr-trace.js";
import { Tracer, findMain, fullRaise, withNewDynamic } from "../core/trace.js";
import * as lax from "../lax/slicing.js";
import { asArray } from "../numpy/array-like.js";
import { formatShape } from "../shape.js";
import { flatten, unflatten, type PyTree, type TreeDef } from "../tree.js";
import { PmapProgram } from "./pmap-program.js";
import { axesForLeaves, mapOptions, mappedLeaves, normalizeAxis, vmap, type AxisSpec } from "./vmap.js";

export interface PmapOptions {
  inAxes?: AxisSpec;
  outAxes?: AxisSpec;
  /** A name for the mapped axis, for collectives (`lax.psum(x, name)`, `lax.allGather`, ...). */
  axisName?: string;
  /**
   * The devices to map over, in order (e.g. `devices("cpu")`); the mapped axis size must equal their
   * number. Default: the default device's kind (`devices("cpu")` on the CPU), the first `size` of them.
   */
  devices?: readonly Device[];
}

/**
 * The jaxpr builder of one pmap trace: it also names the mapped axis (as a vmap's main data does), so
 * collectives over that name find this level and are recorded as equations.
 */
class PmapAxisBuilder extends JaxprBuilder implements BatchMainData {
  constructor(
    readonly axisName: string,
    readonly axisSize: number,
  ) {
    super();
  }
}

let anonymousAxes = 0;

interface CacheEntry {
  program: PmapProgram;
  outTree: TreeDef;
}

export function pmap<A extends unknown[], R>(
  f: (...args: A) => R,
  options: PmapOptions | AxisSpec = {},
): (...args: A) => R {
  const { opts, inAxes: inAxesSpec, outAxes: outAxesSpec } = mapOptions<PmapOptions>(options);
  const axisName = opts.axisName ?? `__pmap_axis_${anonymousAxes++}`;
  const cache = new Map<string, CacheEntry>();

  return (...args: A): R => {
    if (findMain((m) => m.globalData instanceof PmapAxisBuilder))
      throw new Error("pmap: nested pmap is not supported (map the inner axis with vmap instead)");
    const [leaves, inTree] = flatten<unknown>(args);
    const mapped = mappedLeaves(args, leaves, inTree, inAxesSpec, "pmap");
    if (mapped.length === 0)
      throw new TypeError("pmap must have at least one non-null value in inAxes (a mapped argument)");
    const size = mapped[0].size;
    const devs = devicesFor(size, mapped[0], opts.devices);

    // Under another transform: the same values through vmap (no placement to make while tracing).
    if (leaves.some((l) => l instanceof Tracer && !(l instanceof ConcreteArray)))
      return vmap(f, { inAxes: inAxesSpec, outAxes: outAxesSpec, axisName })(...args);

    const executor = executorOf(devs[0]);
    const other = devs.find((d) => executorOf(d) !== executor);
    if (other)
      throw new Error(
        `pmap: devices ${devs[0].id} and ${other.id} run on different executors; pmap maps over devices of one executor (e.g. devices("cpu"))`,
      );
    const flat = leaves.map((leaf) =>
      onExecutor((leaf instanceof Tracer ? leaf : asArray(leaf as number)) as ConcreteArray, executor),
    );
    const axisOf = new Map(mapped.map((m) => [m.i, m.axis]));
    const shardAvals = flat.map((x, i) => {
      const a = axisOf.get(i);
      if (a === undefined) return x.aval;
      return new ShapedArray(
        x.shape.filter((_, d) => d !== a),
        x.dtype,
        x.aval.weakType,
      );
    });
    const key = JSON.stringify([inTree, shardAvals.map((s) => s.toString()), [...axisOf], executor.id]);
    let entry = cache.get(key);
    if (!entry) {
      entry = trace(f, inTree, shardAvals, axisName, size, executor);
      cache.set(key, entry);
    }
    const created: ConcreteArray[] = [];
    const pieces = flat.map((x, i) => {
      const a = axisOf.get(i);
      if (a === undefined) return devs.map(() => x);
      const split = shardsOf(x, a, shardAvals[i], executor);
      created.push(...split);
      return split;
    });
    const shardInputs = devs.map((_, k) => pieces.map((p) => p[k]));
    let shardOuts: ConcreteArray[][];
    try {
      shardOuts = entry.program.run(shardInputs);
    } catch (e) {
      // The shards' copies of the arguments go back at once, not when collected.
      for (const x of created) if (!flat.includes(x)) x.dispose();
      throw e;
    }
    const outTree = entry.outTree;
    const outAxes = axesForLeaves(outAxesSpec, outTree, "result", "out_axes", "pmap");
    const results = shardOuts[0].map((first, j) => {
      const want = outAxes[j].axis;
      // JAX: out_axes=None takes the value of the first device (meant for replicated values).
      if (want === null) return first;
      const to = normalizeAxis(want, first.ndim + 1, `${outAxes[j].path} of rank ${first.ndim + 1}`, "pmap");
      return lax.concatenate(
        shardOuts.map((outs) => lax.expandDims(outs[j], [to])),
        to,
      );
    });
    const keep = new Set<unknown>([...leaves, ...flat, ...results]);
    for (const x of new Set([...created, ...shardOuts.flat()])) if (!keep.has(x)) x.dispose();
    return unflatten(outTree, results) as PyTree as R;
  };
}

/** The devices the shards go to: the given ones (exactly `size` of them) or the first `size` local ones. */
function devicesFor(
  size: number,
  first: { path: string; axis: number; leaf: Tracer },
  given: readonly Device[] | undefined,
): readonly Device[] {
  const what = `${first.path} of shape ${formatShape(first.leaf.shape)} is mapped along axis ${first.axis} with size ${size}`;
  if (given) {
    if (given.length !== size)
      throw new RangeError(
        `pmap: the mapped axis size must equal the number of devices passed to pmap: ${what}, but ${given.length} device${given.length === 1 ? " was" : "s were"} given (${given.map((d) => d.id).join(", ")})`,
      );
    return given;
  }
  const kind = defaultDevice().kind;
  const local = localDevices(kind);
  if (size > local.length)
    throw new RangeError(
      `pmap: compiling computation that requires ${size} logical devices, but only ${local.length} ${kind} device${local.length === 1 ? " is" : "s are"} available: ${what}` +
        (kind === "cpu" ? " (VMAPLAB_CPU_DEVICES sets the number of CPU devices)" : ""),
    );
  return local.slice(0, size);
}

/**
 * `x` split along `axis` into one array per shard. Along a leading axis each shard is a contiguous
 * block: one copy out of the device and one back per shard (memcpy on the CPU); otherwise (or when
 * the device cannot read synchronously) through lax.slice.
 */
function shardsOf(x: ConcreteArray, axis: number, aval: ShapedArray, executor: Device): ConcreteArray[] {
  const n = x.shape[axis];
  const contiguous = x.shape.slice(0, axis).every((d) => d === 1);
  if (contiguous && executor.copyBytes) {
    const bytes = aval.size * hostArray(aval.dtype, 0).BYTES_PER_ELEMENT;
    return Array.from(
      { length: n },
      (_, k) => new ConcreteArray(aval, executor, executor.copyBytes!(x.buffer, k * bytes, bytes)),
    );
  }
  // A fresh read each call (not cached on the caller's array): the cost stays in every call.
  const host = contiguous ? executor.readSync(x.buffer, x.aval) : undefined;
  if (host) {
    const size = aval.size;
    return Array.from({ length: n }, (_, k) => {
      const part = host.subarray(k * size, (k + 1) * size);
      return new ConcreteArray(aval, executor, executor.upload(part, aval));
    });
  }
  return Array.from({ length: n }, (_, k) => {
    const start = x.shape.map((_, d) => (d === axis ? k : 0));
    const limit = x.shape.map((m, d) => (d === axis ? k + 1 : m));
    return lax.squeeze(lax.slice(x, start, limit), [axis]) as ConcreteArray;
  });
}

/** The array on the executor (a copy through the host when it lives elsewhere). */
function onExecutor(x: ConcreteArray, executor: Device): ConcreteArray {
  if (executorOf(x.device) === executor) return x;
  const host = x.peekHost();
  if (!host)
    throw new Error(
      `pmap: an argument lives on ${x.device.id} and its values are not on the host yet; await x.data() first or map over devices("${x.device.kind}")`,
    );
  return fromHost(host, x.aval, executor);
}

/** Traces one shard of `f` under the named axis and prepares its program. */
function trace<A extends unknown[]>(
  f: (...args: A) => unknown,
  inTree: TreeDef,
  shardAvals: ShapedArray[],
  axisName: string,
  axisSize: number,
  executor: Device,
): CacheEntry {
  const builder = new PmapAxisBuilder(axisName, axisSize);
  let outTree: TreeDef | undefined;
  const closed = withNewDynamic(JaxprTrace, builder, (main) => {
    const t = new JaxprTrace(main);
    const ins = shardAvals.map((a) => builder.newArg(t, a));
    const [outs, tree] = flatten<unknown>(f(...(unflatten(inTree, ins) as unknown as A)));
    outTree = tree;
    const raised = outs.map((o) => fullRaise(t, o instanceof Tracer ? o : asArray(o as number)));
    return builder.build(ins, raised);
  });
  return { program: new PmapProgram(closed, executor, axisName), outTree: outTree! };
}
