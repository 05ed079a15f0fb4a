/**
 * `vmap(f, {inAxes, outAxes, axisSize})`: a function of one example becomes a function of a batch, as
 * JAX's vmap: a batching trace pushes every primitive through its batching rule. `inAxes`/`outAxes`
 * are numbers (negative allowed), `null` (not mapped) or pytree prefixes of the arguments/results.
 */
import { BatchTrace, BatchTracer, type BatchDim } from "../core/batch-trace.js";
import { Tracer, fullRaise, withNewMain } from "../core/trace.js";
import { asArray } from "../numpy/array-like.js";
import { formatShape } from "../shape.js";
import { flatten, unflatten, type PyTree, type TreeDef } from "../tree.js";
import { batchAtFront, moveAxis } from "./batching-rules.js";

/** An axis spec: a number, null, or a pytree of those mirroring (a prefix of) the values. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

export interface VmapOptions {
  inAxes?: AxisSpec;
  outAxes?: AxisSpec;
  /** The batch size when no argument is mapped. */
  axisSize?: number;
  /** A name for the mapped axis, for collectives (`lax.psum(x, name)`, `lax.allGather`, ...). */
  axisName?: string;
}

/**
 * The axis of each leaf of `tree`, from a prefix spec: a number or null at some node applies to every
 * leaf under it. `path` names the position for error messages (JAX's `args[0]['w']`).
 */
export function axesForLeaves(
  spec: AxisSpec,
  def: TreeDef,
  path: string,
  what: string,
  /** The transform named in errors (pmap reuses this reading of axis specs). */
  transform = "vmap",
): { axis: BatchDim; path: string }[] {
  if (spec === null || typeof spec === "number") {
    const out: { axis: BatchDim; path: string }[] = [];
    const walk = (d: TreeDef, p: string) => {
      if (d.kind === "leaf") out.push({ axis: spec, path: p });
      else if (d.kind === "array") d.children.forEach((c, i) => walk(c, `${p}[${i}]`));
      else if (d.kind === "object")
        d.children.forEach((c, i) => walk(c, `${p}[${JSON.stringify(d.keys[i])}]`));
    };
    walk(def, path);
    return out;
  }
  if (Array.isArray(spec)) {
    if (def.kind !== "array" || def.children.length !== spec.length) {
      throw new TypeError(
        `${transform} ${what} specification must be a tree prefix of the corresponding value: at ${path} got a list of ${spec.length}, the value has ${def.kind === "array" ? def.children.length + " entries" : "another structure"}`,
      );
    }
    return spec.flatMap((s: AxisSpec, i: number) =>
      axesForLeaves(s, def.children[i], `${path}[${i}]`, what, transform),
    );
  }
  if (def.kind !== "object") {
    throw new TypeError(
      `${transform} ${what} specification must be a tree prefix of the corresponding value: at ${path} got an object, the value is not one`,
    );
  }
  const obj = spec as { readonly [key: string]: AxisSpec };
  return def.keys.flatMap((k, i) => {
    if (!(k in obj))
      throw new TypeError(`${transform} ${what} specification lacks the key ${JSON.stringify(k)} at ${path}`);
    return axesForLeaves(obj[k], def.children[i], `${path}[${JSON.stringify(k)}]`, what, transform);
  });
}

export function normalizeAxis(axis: number, rank: number, where: string, transform = "vmap"): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new RangeError(`${transform}: axis ${axis} is out of bounds for ${where}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** The options of a mapping transform, from the object or the short form (`vmap(f, inAxes)`). */
export function mapOptions<O extends { inAxes?: AxisSpec; outAxes?: AxisSpec }>(
  options: O | AxisSpec,
): { opts: O; inAxes: AxisSpec; outAxes: AxisSpec } {
  const opts =
    options === null || typeof options === "number" || Array.isArray(options)
      ? ({ inAxes: options as AxisSpec } as O)
      : (options as O);
  return {
    opts,
    inAxes: opts.inAxes === undefined ? 0 : opts.inAxes,
    outAxes: opts.outAxes === undefined ? 0 : opts.outAxes,
  };
}

/** An argument leaf mapped by inAxes: its index among the leaves, path, (normalised) axis and size. */
export interface MappedLeaf {
  i: number;
  path: string;
  leaf: Tracer;
  axis: number;
  size: number;
}

/**
 * The leaves `inAxes` maps, checked: each is an array with the axis in range, and all mapped sizes
 * agree (the error lists every mapped leaf, as JAX's does).
 */
export function mappedLeaves(
  args: readonly unknown[],
  leaves: readonly unknown[],
  inTree: TreeDef,
  inAxesSpec: AxisSpec,
  transform: "vmap" | "pmap",
): MappedLeaf[] {
  // A list of inAxes is per argument; a single number or null applies to all of them.
  const spec =
    Array.isArray(inAxesSpec) && inAxesSpec.length !== args.length && args.length === 1
      ? [inAxesSpec]
      : inAxesSpec;
  const axes = axesForLeaves(spec as AxisSpec, inTree, "args", "in_axes", transform);
  const mapped = leaves.flatMap((leaf, i) => {
    const { axis, path } = axes[i];
    if (axis === null) return [];
    if (!(leaf instanceof Tracer))
      throw new TypeError(
        `${transform}: ${path} is mapped (in_axes ${axis}) but is a ${typeof leaf}, not an array`,
      );
    const a = normalizeAxis(axis, leaf.ndim, `${path} of shape ${formatShape(leaf.shape)}`, transform);
    return [{ i, path, leaf, axis: a, size: leaf.shape[a] }];
  });
  if (new Set(mapped.map((m) => m.size)).size > 1) {
    const lines = mapped.map(
      (m) => `  * axis ${m.axis} of ${m.path} of type ${m.leaf.aval.strShort()} has size ${m.size}`,
    );
    throw new RangeError(
      `${transform} got inconsistent sizes for array axes to be mapped:\n${lines.join("\n")}`,
    );
  }
  return mapped;
}

/** What a function made by vmap carries (non-enumerable) for tools such as `%jaxpr --compare`. */
export const VMAP_INFO = Symbol.for("vmaplab.vmap");
export interface VmapInfo {
  fun: (...args: never[]) => unknown;
  inAxes: AxisSpec;
  outAxes: AxisSpec;
}

export function vmap<A extends unknown[], R>(
  f: (...args: A) => R,
  options: VmapOptions | AxisSpec = {},
): (...args: A) => R {
  const { opts, inAxes: inAxesSpec, outAxes: outAxesSpec } = mapOptions<VmapOptions>(options);
  const batched = (...args: A): R => {
    const [leaves, inTree] = flatten<unknown>(args);
    const mapped = mappedLeaves(args, leaves, inTree, inAxesSpec, "vmap");
    const axisSize = mapped.length ? mapped[0].size : opts.axisSize;
    if (axisSize === undefined) {
      throw new TypeError("vmap must have at least one non-null value in inAxes, or be given axisSize");
    }
    if (opts.axisSize !== undefined && opts.axisSize !== axisSize) {
      throw new RangeError(
        `vmap: axisSize ${opts.axisSize} does not match the mapped axes' size ${axisSize}`,
      );
    }
    return withNewMain(BatchTrace, { axisSize, axisName: opts.axisName }, (main) => {
      const trace = new BatchTrace(main);
      const byIndex = new Map(mapped.map((m) => [m.i, m.axis]));
      const inputs = leaves.map((leaf, i) => {
        const axis = byIndex.get(i);
        return axis === undefined ? leaf : new BatchTracer(trace, leaf as Tracer, axis);
      });
      const result = f(...(unflatten(inTree, inputs as never[]) as unknown as A));
      const [outs, outTree] = flatten<unknown>(result);
      const outAxes = axesForLeaves(outAxesSpec, outTree, "result", "out_axes");
      const lowered = outs.map((o, i) => {
        const t = fullRaise(trace, o instanceof Tracer ? o : asArray(o as number)) as BatchTracer;
        const want = outAxes[i].axis;
        if (want === null) {
          if (t.batchDim !== null) {
            throw new TypeError(
              `vmap has mapped output but out_axes is null (at ${outAxes[i].path}); JAX requires an unmapped result there`,
            );
          }
          return t.val;
        }
        // Straight from where the batch axis is to where it is wanted (JAX's matchaxis): no transpose
        // when it is already there; an unmapped result is broadcast at the front first.
        const rank = t.val.ndim + (t.batchDim === null ? 1 : 0);
        const where = `${outAxes[i].path} of rank ${rank}`;
        const to = normalizeAxis(want, rank, where);
        if (t.batchDim !== null) return moveAxis(t.val, t.batchDim, to);
        return moveAxis(batchAtFront(t.val, null, axisSize), 0, to);
      });
      return unflatten(outTree, lowered) as PyTree as R;
    });
  };
  const info: VmapInfo = { fun: f as VmapInfo["fun"], inAxes: inAxesSpec, outAxes: outAxesSpec };
  Object.defineProperty(batched, VMAP_INFO, { value: info, enumerable: false });
  return batched;
}
