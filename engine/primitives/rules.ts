/**
 * Everything the engine knows about one primitive, kept together: its shape/dtype rule (abstract
 * evaluation), its CPU reference implementation and its WGSL lowering. Later transforms add their
 * rules (batching, JVP, transpose) here too, so adding a primitive means touching one place.
 */
import type { ShapedArray } from "../core/aval.js";
import type { ParamsOf, Primitive } from "../core/primitive.js";
import type { TypedArray } from "../dtype.js";
import type { Tracer } from "../core/trace.js";

/** Abstract evaluation: result shapes and dtypes from operand ones; errors name shapes and dtypes. */
export type AbstractEvalRule<P extends Primitive> = (
  avals: ShapedArray[],
  params: ParamsOf<P>,
) => ShapedArray[];

/** CPU reference implementation: host typed arrays in, fresh typed arrays out. */
export type CpuImpl<P extends Primitive> = (
  inputs: TypedArray[],
  inAvals: ShapedArray[],
  outAvals: ShapedArray[],
  params: ParamsOf<P>,
) => TypedArray[];

/**
 * A compute kernel for the WebGPU executor. `body` is WGSL run once per invocation with `i` the flat
 * invocation index (< `threads`, by default the size of the first output); inputs are bound as
 * `in0..inN`, outputs as `out` (one output) or `out0..outM`. `helpers` names functions from
 * WGSL_HELPERS that the body calls.
 */
export interface WgslKernel {
  body: string;
  threads?: number;
}

export type WgslLowering<P extends Primitive> = (
  inAvals: ShapedArray[],
  outAvals: ShapedArray[],
  params: ParamsOf<P>,
) => WgslKernel;

export interface PrimitiveRules<P extends Primitive> {
  abstractEval: AbstractEvalRule<P>;
  cpu: CpuImpl<P>;
  wgsl: WgslLowering<P>;
}

/**
 * A higher-order primitive (jit's `pjit`, `cond`, `while`, `scan`, custom derivative calls): its
 * params hold jaxprs, and evaluating it means running those, not one kernel. `impl` is called by the
 * eval trace with concrete operands and binds primitives itself (JAX's `impl` rules); executors
 * that compile a jaxpr handle such equations by calling it too, unless they know better.
 */
export interface HigherOrderRules<P extends Primitive> {
  abstractEval: AbstractEvalRule<P>;
  impl: (args: Tracer[], params: ParamsOf<P>) => Tracer[];
}

export type AnyPrimitiveRules<P extends Primitive> = PrimitiveRules<P> | HigherOrderRules<P>;

export function isHigherOrder<P extends Primitive>(
  rules: AnyPrimitiveRules<P>,
): rules is HigherOrderRules<P> {
  return "impl" in rules;
}

/** Rules for a group of primitives (one file's worth). */
export type RuleGroup<K extends Primitive> = { [P in K]: AnyPrimitiveRules<P> };

/** The total table: the compiler rejects a primitive without all of its rules. */
export type RuleTable = RuleGroup<Primitive>;
