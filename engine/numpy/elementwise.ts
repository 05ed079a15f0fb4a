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
export const abs = unaryAny(Primitive.Abs, "abs");
export const sign = unaryAny(Primitive.Sign, "sign");
export const sin = unaryFloat(Primitive.Sin);
export const cos = unaryFloat(Primitive.Cos);
export const tan = unaryFloat(Primitive.Tan);
export const exp = unaryFloat(Primitive.Exp);
export const log = unaryFloat(Primitive.Log);
export const tanh = unaryFloat(Primitive.Tanh);
export const sqrt = unaryFloat(Primitive.Sqrt);
export const rsqrt = unaryFloat(Primitive.Rsqrt);
export const floor = unaryFloat(Primitive.Floor);
export const ceil = unaryFloat(Primitive.Ceil);
export const log1p = unaryFloat(Primitive.Log1p);
export const expm1 = unaryFloat(Primitive.Expm1);

export const add = binary(Primitive.Add, "add");
export const subtract = binary(Primitive.Sub, "subtract");
export const multiply = binary(Primitive.Mul, "multiply");
export const maximum = binary(Primitive.Max, "maximum");
export const minimum = binary(Primitive.Min, "minimum");

/** True division: integers are divided as floats (numpy's `/`). */
export function divide(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("jnp.divide", x, y);
  const [fa, fb] = isFloating(a.dtype) ? [a, b] : [promoteToFloat(a), promoteToFloat(b)];
  return bind1(Primitive.Div, [fa, fb], {});
}
export const trueDivide = divide;

export function power(x: ArrayLike, y: ArrayLike): Tracer {
  const [a, b] = promoteArgs("jnp.power", x, y);
  return bind1(Primitive.Pow, [promoteToFloat(a), promoteToFloat(b)], {});
}

export function square(x: ArrayLike): Tracer {
  const a = asArray(x);
  return bind1(Primitive.Mul, [a, a], {});
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
