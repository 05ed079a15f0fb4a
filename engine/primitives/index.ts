/**
 * The rule table of every primitive, assembled from one file per group of primitives. The type
 * `RuleTable` is total over `Primitive`: leaving a primitive out here does not compile.
 */
import type { ShapedArray } from "../core/aval.js";
import { Primitive, type ParamsOf } from "../core/primitive.js";
import { binaryPrimitiveRules } from "./binary.js";
import { convertElementTypeRules } from "./convert-element-type.js";
import { reducePrimitiveRules } from "./reduce.js";
import { isHigherOrder, type AnyPrimitiveRules, type PrimitiveRules, type RuleTable } from "./rules.js";
import { collectiveRules } from "./collectives.js";
import { selectNRules } from "./select-n.js";
import { structuralPrimitiveRules } from "./structural.js";
import { unaryPrimitiveRules } from "./unary.js";

// [elementwise] imports
import { elementwiseMathRules } from "./elementwise-math.js";
// [end elementwise]

// [reductions-linalg] imports
import { moreReducePrimitiveRules } from "./reduce.js";
import { argMinMaxRules } from "./argminmax.js";
import { cumulativeRules } from "./cumulative.js";
import { dotGeneralRules } from "./dot-general.js";
// [end reductions-linalg]

// [shape-indexing] imports
import { gatherScatterPrimitiveRules } from "./gather-scatter.js";
import { slicingPrimitiveRules } from "./slicing.js";
// [end shape-indexing]

// [random-sort] imports
import { erfInvRules } from "./erf-inv.js";
import { iotaRules } from "./iota.js";
import { sortRules } from "./sort.js";
import { threefryPrimitiveRules } from "./threefry.js";
// [end random-sort]

// [jit] imports
import { jitPrimitiveRules } from "./pjit.js";
// [end jit]

// [control-flow] imports
import { controlFlowRules } from "./control-flow.js";
// [end control-flow]

// [autodiff] imports
import { axisIndexRules, customLinRules, stopGradientRules } from "./autodiff.js";
// [end autodiff]

export const primitiveRules: RuleTable = {
  ...unaryPrimitiveRules,
  ...binaryPrimitiveRules,
  [Primitive.SelectN]: selectNRules,
  [Primitive.ConvertElementType]: convertElementTypeRules,
  ...structuralPrimitiveRules,
  ...reducePrimitiveRules,

  // [elementwise] rules
  ...elementwiseMathRules,
  // [end elementwise]

  // [reductions-linalg] rules
  ...moreReducePrimitiveRules,
  ...argMinMaxRules,
  ...cumulativeRules,
  [Primitive.DotGeneral]: dotGeneralRules,
  // [end reductions-linalg]

  // [shape-indexing] rules
  ...slicingPrimitiveRules,
  ...gatherScatterPrimitiveRules,
  // [end shape-indexing]

  // [random-sort] rules
  [Primitive.Iota]: iotaRules,
  [Primitive.Sort]: sortRules,
  [Primitive.ErfInv]: erfInvRules,
  ...threefryPrimitiveRules,
  // [end random-sort]
  ...collectiveRules,

  // [jit] rules
  ...jitPrimitiveRules,
  // [end jit]

  // [control-flow] rules
  ...controlFlowRules,
  // [end control-flow]

  // [autodiff] rules
  [Primitive.StopGradient]: stopGradientRules,
  [Primitive.CustomLin]: customLinRules,
  [Primitive.AxisIndex]: axisIndexRules,
  // [end autodiff]
};

export function rulesOf<P extends Primitive>(prim: P): AnyPrimitiveRules<P> {
  return primitiveRules[prim] as AnyPrimitiveRules<P>;
}

/** The kernel rules (CPU, WGSL) of a first-order primitive; higher-order ones run through `impl`. */
export function kernelRulesOf<P extends Primitive>(prim: P): PrimitiveRules<P> {
  const rules = rulesOf(prim);
  if (isHigherOrder(rules))
    throw new Error(`${prim} is a higher-order primitive: it runs through its impl rule, not one kernel`);
  return rules;
}

/** Shapes and dtypes of a primitive's results (JAX's abstract evaluation). */
export function abstractEval<P extends Primitive>(
  prim: P,
  avals: ShapedArray[],
  params: ParamsOf<P>,
): ShapedArray[] {
  return rulesOf(prim).abstractEval(avals, params);
}
