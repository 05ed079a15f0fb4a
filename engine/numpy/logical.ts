/**
 * Logical and bitwise functions and the float classifiers (isnan, isinf, isfinite), composed as
 * jax.numpy composes them: logical ops convert their (promoted) operands to bool with `ne x 0` and bind
 * the bitwise primitives and/or/xor/not; bitwise ops accept bool, int32 and uint32 only.
 */
import { Primitive } from "../core/primitive.js";
import { ShapedArray } from "../core/aval.js";
import { literalArray } from "../core/from-host.js";
import { bind1, type Tracer } from "../core/trace.js";
import { isFloating } from "../dtype.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { broadcastTo, promoteArgs } from "./promote.js";

type BitwisePrimitive = Primitive.And | Primitive.Or | Primitive.Xor;

/** x != 0 for non-bool operands (JAX's _to_bool). */
export function toBool(x: Tracer): Tracer {
  return x.dtype === "bool" ? x : bind1(Primitive.Ne, [x, asArray(0, x.dtype)], {});
}

function logical(prim: BitwisePrimitive, name: string) {
  return (x: ArrayLike, y: ArrayLike): Tracer =>
    bind1(prim, promoteArgs(`jnp.${name}`, x, y).map(toBool), {});
}

export const logicalAnd = logical(Primitive.And, "logicalAnd");
export const logicalOr = logical(Primitive.Or, "logicalOr");
export const logicalXor = logical(Primitive.Xor, "logicalXor");

export function logicalNot(x: ArrayLike): Tracer {
  return bind1(Primitive.Not, [toBool(asArray(x))], {});
}

function checkBitwise(name: string, a: Tracer): void {
  if (isFloating(a.dtype)) {
    throw new TypeError(
      `jnp.${name} does not accept dtype ${a.dtype}: bitwise operations take bool, int32 or uint32`,
    );
  }
}

function bitwise(prim: BitwisePrimitive, name: string) {
  return (x: ArrayLike, y: ArrayLike): Tracer => {
    const args = promoteArgs(`jnp.${name}`, x, y);
    checkBitwise(name, args[0]);
    return bind1(prim, args, {});
  };
}

export const bitwiseAnd = bitwise(Primitive.And, "bitwiseAnd");
export const bitwiseOr = bitwise(Primitive.Or, "bitwiseOr");
export const bitwiseXor = bitwise(Primitive.Xor, "bitwiseXor");

/** ~x: two's complement for integers, logical not for bool. */
export function bitwiseNot(x: ArrayLike): Tracer {
  const a = asArray(x);
  checkBitwise("bitwiseNot", a);
  return bind1(Primitive.Not, [a], {});
}
export const invert = bitwiseNot;

/** A bool array of x's shape filled with `value` (JAX's full_like(x, value, dtype=bool)). */
function fullBool(x: Tracer, value: boolean): Tracer {
  return broadcastTo(literalArray(value, new ShapedArray([], "bool")), x.shape);
}

/** NaN is the one value not equal to itself (JAX: ne x x); integers are never NaN. */
export function isnan(x: ArrayLike): Tracer {
  const a = asArray(x);
  return isFloating(a.dtype) ? bind1(Primitive.Ne, [a, a], {}) : fullBool(a, false);
}

/** |x| == inf (JAX: eq (abs x) inf). */
export function isinf(x: ArrayLike): Tracer {
  const a = asArray(x);
  if (!isFloating(a.dtype)) return fullBool(a, false);
  const inf = literalArray(Infinity, new ShapedArray([], a.dtype));
  return bind1(Primitive.Eq, [bind1(Primitive.Abs, [a], {}), inf], {});
}

export function isfinite(x: ArrayLike): Tracer {
  const a = asArray(x);
  return isFloating(a.dtype) ? bind1(Primitive.IsFinite, [a], {}) : fullBool(a, true);
}
