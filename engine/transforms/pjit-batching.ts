/** The batching rule of pjit (vmap of a jitted function): batch the inner jaxpr, bind pjit with it. */
import { Primitive } from "../core/primitive.js";
import { bind } from "../core/trace.js";
import type { BatchRule } from "./batching-rules.js";
import { batchJaxpr } from "./batch-jaxpr.js";

// A function declaration (hoisted), since the batching-rule table is built while modules load.
export function pjitBatchRule(
  ...[args, dims, params, axisSize, axisName]: Parameters<BatchRule<Primitive.Pjit>>
): ReturnType<BatchRule<Primitive.Pjit>> {
  if (dims.every((d) => d === null)) return [bind(Primitive.Pjit, args, params), dims.map(() => null)];
  const { jaxpr, outDims } = batchJaxpr(params.jaxpr, dims, axisSize, axisName);
  return [bind(Primitive.Pjit, args, { jaxpr, name: params.name }), outDims];
}
