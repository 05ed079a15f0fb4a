/** numpy's implicit rules for operands: dtype promotion (weak scalars defer) and shape broadcasting. */
import { ShapedArray } from "../core/aval.js";
import { literalArray } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind1, Tracer } from "../core/trace.js";
import { isFloating, joinTypes, type DType, type WeakDType } from "../dtype.js";
import { broadcastShapes, shapeEqual, type Shape } from "../shape.js";
import { asArray, type ArrayLike } from "./array-like.js";
import { convert } from "./convert.js";

/** The dtype a JS scalar suggests: integers can join int arrays, fractions need floats. */
function scalarDType(x: number | boolean): DType {
  if (typeof x === "boolean") return "bool";
  return Number.isInteger(x) ? "int32" : "float32";
}

/** Converts operands to their common dtype (JAX's lattice); JS scalars become weak arrays of it. */
export function promoteDTypes(...xs: ArrayLike[]): Tracer[] {
  let joined: WeakDType | undefined;
  for (const x of xs) {
    const t: WeakDType =
      x instanceof Tracer
        ? { dtype: x.dtype, weak: x.weakType }
        : typeof x === "number" || typeof x === "boolean"
          ? { dtype: scalarDType(x), weak: typeof x === "number" }
          : { dtype: asArray(x).dtype, weak: false };
    joined = joined === undefined ? joinTypes(t, t) : joinTypes(joined, t);
  }
  // All-scalar operands: JAX's weak defaults (ints stay int32, floats float32).
  const target = joined?.dtype ?? "float32";
  const weak = joined?.weak ?? true;
  return xs.map((x) => {
    // JS scalars become literals of the joined dtype, weak when the join is (true + true is strong bool).
    const a =
      x instanceof Tracer
        ? x
        : typeof x === "number" || typeof x === "boolean"
          ? literalArray(x, new ShapedArray([], target, weak))
          : asArray(x);
    // JAX converts every operand to (dtype, weak) of the join; same-dtype operands stay as they are.
    return a.dtype === target ? a : convert(a, target, weak);
  });
}

/** Broadcasts to `shape` with broadcast_in_dim (rank-0 operands stay scalars: lax promotes them). */
export function broadcastTo(x: Tracer, shape: Shape): Tracer {
  if (shapeEqual(x.shape, shape)) return x;
  const offset = shape.length - x.ndim;
  return bind1(Primitive.BroadcastInDim, [x], {
    shape: [...shape],
    broadcast_dimensions: x.shape.map((_, i) => i + offset),
  });
}

/** Promotes dtypes and broadcasts shapes, as numpy does before an elementwise operation. */
export function promoteArgs(what: string, ...xs: ArrayLike[]): Tracer[] {
  const arrays = promoteDTypes(...xs);
  const shape = broadcastShapes(what, ...arrays.map((a) => a.shape));
  return arrays.map((a) => (a.ndim === 0 ? a : broadcastTo(a, shape)));
}

/** Integers and bools become float32 for the transcendental functions (jnp.sin(int) is float). */
export function promoteToFloat(x: Tracer): Tracer {
  return isFloating(x.dtype) ? x : convert(x, "float32", x.weakType);
}
