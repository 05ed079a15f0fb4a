/**
 * Shape and dtype rules (JAX's abstract evaluation): given the operands' abstract values and the
 * params, the abstract values of the results. Errors name the primitive, the shapes and the dtypes.
 */
import { ShapedArray } from "../core/aval.js";
import {
  Primitive,
  type ParamsOf,
  type UnaryPrimitive,
  type BinaryPrimitive,
  type ReducePrimitive,
} from "../core/primitive.js";
import { isFloating, type DType } from "../dtype.js";
import { formatShape, shapeEqual } from "../shape.js";

export type AbstractEvalRule<P extends Primitive> = (
  avals: ShapedArray[],
  params: ParamsOf<P>,
) => ShapedArray[];
export type AbstractEvalTable = { [P in Primitive]: AbstractEvalRule<P> };

const describe = (a: ShapedArray) => `${a.dtype}${formatShape(a.shape)}`;

function checkArity(prim: Primitive, avals: ShapedArray[], n: number): void {
  if (avals.length !== n) throw new TypeError(`${prim}: expected ${n} operands, got ${avals.length}`);
}

// Which dtypes each unary primitive accepts (bool takes none of them, as in lax).
const FLOAT_ONLY = new Set<UnaryPrimitive>([
  Primitive.Sin,
  Primitive.Cos,
  Primitive.Tan,
  Primitive.Exp,
  Primitive.Log,
  Primitive.Tanh,
  Primitive.Logistic,
  Primitive.Sqrt,
  Primitive.Rsqrt,
  Primitive.Floor,
  Primitive.Ceil,
  Primitive.Log1p,
  Primitive.Expm1,
]);

function unary(prim: UnaryPrimitive): AbstractEvalRule<UnaryPrimitive> {
  return (avals) => {
    checkArity(prim, avals, 1);
    const [x] = avals;
    if (x.dtype === "bool" || (FLOAT_ONLY.has(prim) && !isFloating(x.dtype))) {
      throw new TypeError(`${prim} does not accept dtype ${x.dtype} (operand ${describe(x)})`);
    }
    return [x];
  };
}

/** Binary operands must agree in dtype and in shape, except that a rank-0 operand broadcasts. */
function binaryResultShape(prim: Primitive, x: ShapedArray, y: ShapedArray): ShapedArray {
  if (x.dtype !== y.dtype) {
    throw new TypeError(`${prim} requires operands of one dtype, got ${describe(x)} and ${describe(y)}`);
  }
  if (!shapeEqual(x.shape, y.shape) && x.ndim !== 0 && y.ndim !== 0) {
    throw new TypeError(`${prim}: incompatible shapes ${describe(x)} and ${describe(y)}`);
  }
  const shape = x.ndim !== 0 ? x.shape : y.shape;
  return new ShapedArray(shape, x.dtype, x.weakType && y.weakType);
}

function binary(prim: BinaryPrimitive): AbstractEvalRule<BinaryPrimitive> {
  return (avals) => {
    checkArity(prim, avals, 2);
    const out = binaryResultShape(prim, avals[0], avals[1]);
    if (out.dtype === "bool" || (prim === Primitive.Pow && !isFloating(out.dtype))) {
      throw new TypeError(`${prim} does not accept dtype ${out.dtype}`);
    }
    return [out];
  };
}

function compare<P extends Primitive>(prim: P): AbstractEvalRule<P> {
  return (avals) => {
    checkArity(prim, avals, 2);
    return [new ShapedArray(binaryResultShape(prim, avals[0], avals[1]).shape, "bool")];
  };
}

function reduce<P extends ReducePrimitive>(prim: P): AbstractEvalRule<P> {
  return ([x], params) => {
    const { axes } = params as ParamsOf<ReducePrimitive>;
    for (const a of axes) {
      if (!Number.isInteger(a) || a < 0 || a >= x.ndim) {
        throw new RangeError(`${prim}: axis ${a} is out of bounds for operand ${describe(x)}`);
      }
    }
    if (new Set(axes).size !== axes.length)
      throw new RangeError(`${prim}: repeated axes ${formatShape(axes)}`);
    if (x.dtype === "bool") throw new TypeError(`${prim} does not accept dtype bool`);
    return [
      new ShapedArray(
        x.shape.filter((_, i) => !axes.includes(i)),
        x.dtype,
        x.weakType,
      ),
    ];
  };
}

function isPermutation(perm: readonly number[], n: number): boolean {
  return (
    perm.length === n && new Set(perm).size === n && perm.every((p) => Number.isInteger(p) && p >= 0 && p < n)
  );
}

export const abstractEvalRules: AbstractEvalTable = {
  [Primitive.Neg]: unary(Primitive.Neg),
  [Primitive.Sin]: unary(Primitive.Sin),
  [Primitive.Cos]: unary(Primitive.Cos),
  [Primitive.Tan]: unary(Primitive.Tan),
  [Primitive.Exp]: unary(Primitive.Exp),
  [Primitive.Log]: unary(Primitive.Log),
  [Primitive.Tanh]: unary(Primitive.Tanh),
  [Primitive.Logistic]: unary(Primitive.Logistic),
  [Primitive.Sqrt]: unary(Primitive.Sqrt),
  [Primitive.Rsqrt]: unary(Primitive.Rsqrt),
  [Primitive.Abs]: unary(Primitive.Abs),
  [Primitive.Sign]: unary(Primitive.Sign),
  [Primitive.Floor]: unary(Primitive.Floor),
  [Primitive.Ceil]: unary(Primitive.Ceil),
  [Primitive.Log1p]: unary(Primitive.Log1p),
  [Primitive.Expm1]: unary(Primitive.Expm1),
  [Primitive.Add]: binary(Primitive.Add),
  [Primitive.Sub]: binary(Primitive.Sub),
  [Primitive.Mul]: binary(Primitive.Mul),
  [Primitive.Div]: binary(Primitive.Div),
  [Primitive.Max]: binary(Primitive.Max),
  [Primitive.Min]: binary(Primitive.Min),
  [Primitive.Pow]: binary(Primitive.Pow),
  [Primitive.Eq]: compare(Primitive.Eq),
  [Primitive.Ne]: compare(Primitive.Ne),
  [Primitive.Lt]: compare(Primitive.Lt),
  [Primitive.Le]: compare(Primitive.Le),
  [Primitive.Gt]: compare(Primitive.Gt),
  [Primitive.Ge]: compare(Primitive.Ge),

  [Primitive.SelectN]: (avals) => {
    const [pred, ...cases] = avals;
    if (cases.length === 0) throw new TypeError("select_n needs at least one case");
    if (pred.dtype !== "bool" && pred.dtype !== "int32") {
      throw new TypeError(`select_n: the predicate must be bool or int32, got ${describe(pred)}`);
    }
    const first = cases[0];
    for (const c of cases) {
      if (!shapeEqual(c.shape, first.shape) || c.dtype !== first.dtype) {
        throw new TypeError(
          `select_n: cases must agree in shape and dtype, got ${cases.map(describe).join(", ")}`,
        );
      }
    }
    if (pred.ndim !== 0 && !shapeEqual(pred.shape, first.shape)) {
      throw new TypeError(
        `select_n: predicate ${describe(pred)} does not match the cases ${describe(first)}`,
      );
    }
    return [
      new ShapedArray(
        first.shape,
        first.dtype,
        cases.every((c) => c.weakType),
      ),
    ];
  },

  [Primitive.ConvertElementType]: ([x], { new_dtype, weak_type }) => {
    if (new_dtype === "float16")
      throw new TypeError("convert_element_type: float16 is not supported on this device");
    return [new ShapedArray(x.shape, new_dtype as DType, weak_type)];
  },

  [Primitive.BroadcastInDim]: ([x], { shape, broadcast_dimensions: dims }) => {
    const bad = () =>
      new TypeError(
        `broadcast_in_dim: cannot broadcast operand ${describe(x)} to shape ${formatShape(shape)} ` +
          `with broadcast_dimensions=${formatShape(dims)}`,
      );
    if (dims.length !== x.ndim) throw bad();
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i];
      if (d < 0 || d >= shape.length || (i > 0 && d <= dims[i - 1])) throw bad();
      if (x.shape[i] !== 1 && x.shape[i] !== shape[d]) throw bad();
    }
    return [new ShapedArray(shape, x.dtype, x.weakType)];
  },

  [Primitive.Reshape]: ([x], { new_sizes }) => {
    const size = new_sizes.reduce((a, b) => a * b, 1);
    if (size !== x.size || new_sizes.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TypeError(
        `reshape: cannot reshape ${describe(x)} (size ${x.size}) into shape ${formatShape(new_sizes)}`,
      );
    }
    return [new ShapedArray(new_sizes, x.dtype, x.weakType)];
  },

  [Primitive.Transpose]: ([x], { permutation }) => {
    if (!isPermutation(permutation, x.ndim)) {
      throw new TypeError(
        `transpose: permutation ${formatShape(permutation)} is not a permutation of the axes of ${describe(x)}`,
      );
    }
    return [
      new ShapedArray(
        permutation.map((p) => x.shape[p]),
        x.dtype,
        x.weakType,
      ),
    ];
  },

  [Primitive.ReduceSum]: reduce(Primitive.ReduceSum),
  [Primitive.ReduceMax]: reduce(Primitive.ReduceMax),
};

export function abstractEval<P extends Primitive>(
  prim: P,
  avals: ShapedArray[],
  params: ParamsOf<P>,
): ShapedArray[] {
  return (abstractEvalRules[prim] as AbstractEvalRule<P>)(avals, params);
}
