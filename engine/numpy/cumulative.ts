/** Cumulative reductions: `jnp.cumsum(x, axis?)`, `jnp.cumprod(x, {axis, dtype})`; axis null flattens. */
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import type { DType } from "../dtype.js";
import { normalizeAxis } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";
import { reshape } from "./shape-ops.js";

export interface CumulativeOptions {
  axis?: number | null;
  dtype?: DType;
}

function cumulative(prim: Primitive.Cumsum | Primitive.Cumprod, name: string) {
  return (x0: ArrayLike, axis?: number | null | CumulativeOptions): Tracer => {
    const opts: CumulativeOptions =
      axis === undefined || axis === null ? {} : typeof axis === "number" ? { axis } : axis;
    let x = asArray(x0);
    // JAX: axis None (or a scalar operand) works on the flattened array.
    if (opts.axis === undefined || opts.axis === null || x.ndim === 0) x = reshape(x, [-1]);
    const ax = normalizeAxis(`jnp.${name}`, opts.axis ?? 0, x.ndim);
    // bool accumulates in int32 (numpy's default integer), unless a dtype is given.
    const dtype = opts.dtype ?? (x.dtype === "bool" ? "int32" : x.dtype);
    x = convert(x, dtype, x.weakType);
    return bind1(prim, [x], { axis: ax, reverse: false });
  };
}

export const cumsum = cumulative(Primitive.Cumsum, "cumsum");
export const cumprod = cumulative(Primitive.Cumprod, "cumprod");
