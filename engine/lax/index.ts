/**
 * `lax`: thin wrappers that bind one primitive each, with lax's strict rules (operands already of one
 * dtype and shape, no implicit promotion), as in `jax.lax`.
 */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";

export function add(x: Tracer, y: Tracer): Tracer {
  return bind1(Primitive.Add, [x, y], {});
}

export function mul(x: Tracer, y: Tracer): Tracer {
  return bind1(Primitive.Mul, [x, y], {});
}

// [elementwise] lax
export * from "./elementwise.js";
// [end elementwise]

// [reductions-linalg] lax
// [end reductions-linalg]

// [shape-indexing] lax
// [end shape-indexing]

// [random-sort] lax
// [end random-sort]
