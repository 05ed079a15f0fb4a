/** Elementwise numpy functions: each promotes and broadcasts its operands, then binds one primitive. */
import {
  Primitive,
  type BinaryPrimitive,
  type ComparePrimitive,
  type UnaryPrimitive,
} from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { isFloating, type DType } from "../dtype.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";
import { broadcastTo, promoteArgs, promoteToFloat } from "./promote.js";
import { broadcastShapes } from "../shape.js";

function unaryFloat(prim: UnaryPrimitive) {
  return (x: ArrayLike): Tracer => bind1(prim, [promoteToFloat(asArray(x))], {});
}

function unaryAny(prim: UnaryPrimitive, name: string) {
  return (x: ArrayLike): Tracer => {
    const a = asArray(x);
    if (a.dtype === "bool") throw new TypeError(`jnp.${name} does not accept dtype bool`);
    return bind1(prim, [a], {});
  };
}

function binary(prim: BinaryPrimitive, name: string) {
  return (x: ArrayLike, y: ArrayLike): Tracer => {
    const [a, b] = promoteArgs(`jnp.${name}`, x, y);
    if (a.dtype === "bool")
      throw new TypeError(`jnp.${name} does not accept dtype bool; convert with astype first`);
    return bind1(prim, [a, b], {});
  };
}

function compare(prim: ComparePrimitive, name: string) {
  return (x: ArrayLike, y: ArrayLike): Tracer => bind1(prim, promoteArgs(`jnp.${name}`, x, y), {});
}

export const negative = unaryAny(Primitive.Neg, "negative");

/** |x|; bool and unsigned arrays are returned as they are (jnp.absolute). */
export function abs(x: ArrayLike): Tracer {
  const a = asArray(x);
  return a.dtype === "bool" || a.dtype === "uint32" ? a : bind1(Primitive.Abs, [a], {});
}
export const sign = unaryAny(Primitive.Sign, "sign");
export const sin = unaryFloat(Primitive.Sin);
export const cos = unaryFloat(Primitive.Cos);
export const tan = unaryFloat(Primitive.Tan);
export const exp = unaryFloat(Primitive.Exp);
export const log = unaryFloat(Primitive.Log);
export const tanh = unaryFloat(Primitive.Tanh);
export const sqrt = unaryFloat(Primitive.Sqrt);
export const rsqrt = unaryFloat(Primitive.Rsqrt);
/** Rounding of floats; integer and bool arrays are returned unchanged (as jnp.floor/ceil now do). */
function unaryRounding(prim: UnaryPrimitive) {
  return (x: ArrayLike): Tracer => {
    const a = asArray(x);
    return isFloating(a.dtype) ? bind1(prim, [a], {}) : a;
  };
}
export const floor = unaryRounding(Primitive.Floor);
export const ceil = unaryRounding(Primitive.Ceil);
export const log1p = unaryFloat(Primitive.Log1p);
export const expm1 = unaryFloat(Primitive.Expm1);

/** A binary op whose bool case is a logical one (jnp.add on bools is `or`, multiply is `and`). */
function binaryOrBool(prim: BinaryPrimitive, boolPrim: Primitive.And | Primitive.Or, name: string) {
  return (x: ArrayLike, y: ArrayLike): Tracer => {
    const [a, b] = promoteArgs(`jnp.${name}`, x, y);
    return bind1(a.dtype === "bool" ? boolPrim : prim, [a, b], {});
  };
}

export const add = binaryOrBool(Primitive.Add, Primitive.Or, "add");
export const subtract = binary(Primitive.Sub, "subtract");
export const multiply = binaryOrBool(Primitive.Mul, Primitive.And, "multiply");
// max/min of bools are or/and (JAX binds max/min, whose values on bools these are).
export const maximum = binaryOrBool(Primitive.Max, Primitive.Or, "maximum");
export const minimum = binaryOrBool(Primitive.Min, Primitive.And, "minimum");

/** True division: integers are divided as floats (numpy's `/`). */
export function divide(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("jnp.divide", x, y);
  const [fa, fb] = isFloating(a.dtype) ? [a, b] : [promoteToFloat(a), promoteToFloat(b)];
  return bind1(Primitive.Div, [fa, fb], {});
}
export const trueDivide = divide;

/**
 * x ** y as jnp.power: a JS integer exponent gives integer_pow[y] (bool bases become int32); integer
 * bases with integer exponents multiply by squaring (JAX's _pow_int_int: the exponent's low 6 bits);
 * everything else promotes and binds pow (in floats).
 */
export function power(x: ArrayLike, y: ArrayLike): Tracer {
  if (typeof y === "number" && Number.isInteger(y)) {
    const a = promoteNumeric(asArray(x));
    if (y < 0 && !isFloating(a.dtype))
      throw new TypeError(`jnp.power: integers cannot be raised to a negative power (${a.dtype} ** ${y})`);
    return bind1(Primitive.IntegerPow, [a], { y });
  }
  const [a, b] = promoteArgs("jnp.power", x, y).map(promoteNumeric);
  if (isFloating(a.dtype)) return bind1(Primitive.Pow, [a, b], {});
  // Binary exponentiation over the exponent's bits 0..5 (anything larger overflows for |base| > 1).
  const one = asArray(1, a.dtype);
  const zero = asArray(0, a.dtype);
  let base = a;
  let acc = where(bind1(Primitive.And, [equal(a, zero), notEqual(b, zero)], {}), zero, one);
  for (let bit = 0; bit < 6; bit++) {
    const set = notEqual(bind1(Primitive.And, [b, asArray(1 << bit, b.dtype)], {}), zero);
    acc = where(set, bind1(Primitive.Mul, [acc, base], {}), acc);
    if (bit < 5) base = bind1(Primitive.Mul, [base, base], {});
  }
  return acc;
}

/** bool becomes int32 (JAX's promote_dtypes_numeric). */
export function promoteNumeric(a: Tracer): Tracer {
  return a.dtype === "bool" ? convert(a, "int32", a.weakType) : a;
}

export function square(x: ArrayLike): Tracer {
  return power(x, 2);
}

export function reciprocal(x: ArrayLike): Tracer {
  return divide(1, x);
}

export const equal = compare(Primitive.Eq, "equal");
export const notEqual = compare(Primitive.Ne, "notEqual");
export const less = compare(Primitive.Lt, "less");
export const lessEqual = compare(Primitive.Le, "lessEqual");
export const greater = compare(Primitive.Gt, "greater");
export const greaterEqual = compare(Primitive.Ge, "greaterEqual");

/** `where(condition, x, y)`: x where the condition holds, else y (lax.select_n(c, y, x)). */
export function where(condition: ArrayLike, x: ArrayLike, y: ArrayLike): Tracer {
  let c = asArray(condition);
  if (c.dtype !== "bool") c = bind1(Primitive.Ne, [c, asArray(0, c.dtype)], {});
  const [xa, ya] = promoteArgs("jnp.where", x, y);
  const shape = broadcastShapes("jnp.where", c.shape, xa.shape, ya.shape);
  const full = (t: Tracer) => broadcastTo(t, shape);
  return bind1(Primitive.SelectN, [c.ndim === 0 ? c : full(c), full(ya), full(xa)], {});
}

export function astype(x: ArrayLike, dtype: DType): Tracer {
  return convert(asArray(x), dtype);
}

// numpy's trig/hyperbolic relatives built from primitives.
export const sigmoid = unaryFloat(Primitive.Logistic);

// For the array methods (x.clip(), x.round()), which reach the elementwise functions through this module.
export { clip, round } from "./math.js";
