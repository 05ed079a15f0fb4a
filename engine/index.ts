/**
 * vmaplab's engine: a JAX-style array library for TypeScript. Import it as the package `vmaplab`.
 * The WebGPU device comes up with `await init()`; until then (or without an adapter) arrays live on
 * the CPU reference executor.
 */
import "./core/eval-trace.js";
import "./numpy/array-methods.js";

import * as numpy from "./numpy/index.js";
import * as tree from "./tree.js";
import * as lax from "./lax/index.js";
import * as nn from "./nn/index.js";
import * as random from "./random/index.js";
import { Tracer } from "./core/trace.js";
import { ConcreteArray } from "./core/concrete-array.js";
import { devices as deviceList, defaultDevice as pickDefault } from "./backend/devices.js";
import type { Device } from "./backend/device.js";
import { flatten } from "./tree.js";

export { numpy, numpy as jnp, tree, lax, nn, random };
export { init, releaseDevices, webgpuUnavailableReason } from "./backend/devices.js";
export type { Device, DeviceKind } from "./backend/device.js";
export { makeJaxpr, ShapeDtypeStruct } from "./transforms/make-jaxpr.js";
export { vmap, type VmapOptions, type AxisSpec } from "./transforms/vmap.js";
export { ClosedJaxpr, Jaxpr } from "./core/jaxpr.js";
export { ShapedArray } from "./core/aval.js";
export { Primitive } from "./core/primitive.js";
export type { DType, TypedArray } from "./dtype.js";
export type { PyTree } from "./tree.js";
export { formatArray } from "./format.js";

// [elementwise] exports
// [end elementwise]

// [reductions-linalg] exports
// [end reductions-linalg]

// [shape-indexing] exports
// [end shape-indexing]

// [random-sort] exports
// [end random-sort]

// [jit] exports
export { jit, type JitOptions, type Jitted } from "./transforms/jit.js";
export { batchJaxpr, type BatchedJaxpr } from "./transforms/batch-jaxpr.js";
// [end jit]

// [control-flow] exports
// [end control-flow]

// [autodiff] exports
export {
  jvp,
  linearize,
  vjp,
  vjpWithAux,
  grad,
  valueAndGrad,
  jacfwd,
  jacrev,
  hessian,
  type GradOptions,
  type JacOptions,
} from "./transforms/autodiff.js";
export {
  customJvp,
  customVjp,
  stopGradient,
  type CustomJvpFunction,
  type CustomVjpFunction,
} from "./transforms/custom-derivatives.js";
// [end autodiff]

// [webgpu-compiler] exports
export { WgslKernelError, DeviceLostError } from "./backend/webgpu/errors.js";
export { planFusion, type FusionPlan, type Step as FusionStep } from "./compiler/fusion.js";
// [end webgpu-compiler]

// [pmap] exports
export { pmap, type PmapOptions } from "./transforms/pmap.js";
import { localDevices } from "./backend/local-devices.js";
// [end pmap]

// [notebooks-a] exports
export { Lowered, Compiled } from "./transforms/lower.js";
// [end notebooks-a]

/** The array type users see: concrete arrays and tracers inside transforms alike. */
export { Tracer as Array, ConcreteArray };

/**
 * Every device (`devices()`), or the devices of one kind that `pmap` maps over (`devices("cpu")`:
 * one per thread of the CPU executor's pool, `cpu:0`, `cpu:1`, ...; `VMAPLAB_CPU_DEVICES=N` sets N).
 */
export function devices(kind?: string): Device[] {
  // [pmap] devices of one kind
  if (kind !== undefined) return localDevices(kind);
  // [end pmap]
  return deviceList();
}

/** The device new arrays go to; `defaultDevice("cpu")` or `defaultDevice("webgpu")` switches it. */
export function defaultDevice(name?: string): Device {
  return pickDefault(name);
}

/** Waits until every array in a pytree has been computed on its device; returns the same tree. */
export async function blockUntilReady<T>(x: T): Promise<T> {
  const [leaves] = flatten<unknown>(x);
  const seen = new Set<Device>();
  for (const leaf of leaves)
    if (leaf instanceof ConcreteArray && !seen.has(leaf.device)) seen.add(leaf.device);
  await Promise.all([...seen].map((d) => d.synchronize()));
  return x;
}

export function isArray(x: unknown): x is Tracer {
  return x instanceof Tracer;
}
