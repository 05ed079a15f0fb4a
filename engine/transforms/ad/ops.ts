/**
 * The small lax vocabulary the JVP and transpose rules are written in. Each helper binds primitives
 * (operands of one dtype; rank-0 operands broadcast, as lax's), so the rules compose with vmap, jit
 * and with autodiff itself (grad of grad).
 */
import { ShapedArray } from "../../core/aval.js";
import { literalArray } from "../../core/from-host.js";
import { Primitive, type ParamsOf } from "../../core/primitive.js";
import { bind1, type Tracer } from "../../core/trace.js";
import type { DType } from "../../dtype.js";
import { Zero, type Tangent } from "./zero.js";

/** A JVP rule (JAX's `primitive_jvps`): primal outputs and their tangents from primals and tangents. */
export type JvpRule<P extends Primitive> = (
  primals: Tracer[],
  tangents: Tangent[],
  params: ParamsOf<P>,
) => [Tracer[], Tangent[]];

/** A scalar constant of a dtype (weakly typed, like a Python scalar in JAX's rules). */
export function scalar(value: number | boolean, dtype: DType): Tracer {
  return literalArray(value, new ShapedArray([], dtype, true));
}

export const add = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Add, [x, y], {});
export const sub = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Sub, [x, y], {});
export const mul = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Mul, [x, y], {});
export const div = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Div, [x, y], {});
export const neg = (x: Tracer): Tracer => bind1(Primitive.Neg, [x], {});
export const unary = (prim: Primitive, x: Tracer): Tracer => bind1(prim, [x], {} as ParamsOf<Primitive.Neg>);
/** x times a JS number, in x's dtype. */
export const scale = (x: Tracer, c: number): Tracer => mul(x, scalar(c, x.dtype));

export function convert(x: Tracer, dtype: DType): Tracer {
  if (x.dtype === dtype) return x;
  return bind1(Primitive.ConvertElementType, [x], { new_dtype: dtype, weak_type: false });
}

export function broadcastInDim(x: Tracer, shape: readonly number[], dims: readonly number[]): Tracer {
  return bind1(Primitive.BroadcastInDim, [x], { shape: [...shape], broadcast_dimensions: [...dims] });
}

/** x (of the same shape, or rank 0) at `shape`. */
export function broadcastTo(x: Tracer, shape: readonly number[]): Tracer {
  if (x.ndim === shape.length) return x;
  if (x.ndim !== 0)
    throw new Error(`autodiff: cannot broadcast ${x.aval.strShort()} to (${shape.join(", ")})`);
  return broadcastInDim(x, shape, []);
}

export function reshape(x: Tracer, shape: readonly number[]): Tracer {
  if (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i])) return x;
  return bind1(Primitive.Reshape, [x], { new_sizes: [...shape], dimensions: null });
}

export function transpose(x: Tracer, perm: readonly number[]): Tracer {
  if (perm.every((p, i) => p === i)) return x;
  return bind1(Primitive.Transpose, [x], { permutation: [...perm] });
}

export function reduceSum(x: Tracer, axes: readonly number[]): Tracer {
  if (axes.length === 0) return x;
  return bind1(Primitive.ReduceSum, [x], { axes: [...axes] });
}

/** Sums x down to `shape`: the transpose of broadcasting a rank-0 operand (lax's implicit one). */
export function unbroadcast(x: Tracer, aval: ShapedArray): Tracer {
  if (x.ndim === aval.ndim) return x;
  return reduceSum(
    x,
    x.shape.map((_, i) => i),
  );
}

export function selectN(which: Tracer, cases: Tracer[]): Tracer {
  return bind1(Primitive.SelectN, [which, ...cases], {});
}

/** An array of zeros (materialising a symbolic zero). */
export function zeros(aval: ShapedArray): Tracer {
  // Strongly typed, so gradients keep the inputs' dtype without JAX's weak_type flag.
  const z = literalArray(0, new ShapedArray([], aval.dtype));
  return aval.ndim === 0 ? z : broadcastInDim(z, aval.shape, []);
}

export function instantiate(t: Tangent): Tracer {
  return t instanceof Zero ? zeros(t.aval) : t;
}

/** Sum of tangents; zeros drop out, and the result has the shape of `out`. */
export function addTangents(ts: Tangent[], out: ShapedArray): Tangent {
  const live = ts.filter((t): t is Tracer => !(t instanceof Zero));
  if (live.length === 0) return Zero.of(out);
  const sum = live.reduce((a, b) => add(a, b));
  return broadcastTo(sum, out.shape);
}

/** Applies a linear function to a tangent, keeping zeros symbolic. */
export function mapTangent(t: Tangent, out: ShapedArray, f: (t: Tracer) => Tracer): Tangent {
  return t instanceof Zero ? Zero.of(out) : f(t);
}

export const eq = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Eq, [x, y], {});
export const gt = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Gt, [x, y], {});
export const lt = (x: Tracer, y: Tracer): Tracer => bind1(Primitive.Lt, [x, y], {});
