/**
 * `nn`: neural-network helpers built from jnp, with jax.nn's semantics (`nn.relu`, `nn.softmax(x,
 * {axis})`, `nn.oneHot(x, numClasses, {dtype, axis})`, ...).
 */
import { ShapedArray } from "../core/aval.js";
import { fromHost } from "../core/from-host.js";
import { Primitive } from "../core/primitive.js";
import { bind1, type Tracer } from "../core/trace.js";
import { hostArray, type DType } from "../dtype.js";
import { normalizeAxis } from "../shape.js";
import { asArray, type ArrayLike } from "../numpy/array-like.js";
import {
  add,
  astype,
  divide,
  equal,
  exp,
  expm1,
  greater,
  greaterEqual,
  log,
  maximum,
  minimum,
  multiply,
  negative,
  subtract,
  tanh,
  where,
} from "../numpy/elementwise.js";
import { isfinite } from "../numpy/logical.js";
import { logaddexp } from "../numpy/math.js";
import { promoteToFloat } from "../numpy/promote.js";
import { max, reductionAxes, sum, type AxisArg } from "../numpy/reductions.js";
import { expandDims, reshape } from "../numpy/shape-ops.js";
// [autodiff] imports
import { customJvp } from "../transforms/custom-derivatives.js";
// [end autodiff]

// [elementwise] nn

/** max(x, 0). */
export function relu(x: ArrayLike): Tracer {
  return maximum(x, 0);
}

/** min(max(x, 0), 6). */
export function relu6(x: ArrayLike): Tracer {
  return minimum(maximum(x, 0), 6);
}

/** 1 / (1 + e^-x) (lax.logistic). */
export function sigmoid(x: ArrayLike): Tracer {
  return bind1(Primitive.Logistic, [promoteToFloat(asArray(x))], {});
}

/** log(1 + e^x) = logaddexp(x, 0), without overflow. */
function softplusFormula(x: ArrayLike): Tracer {
  return logaddexp(x, 0);
}

/** log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid(x: ArrayLike): Tracer {
  return negative(softplus(negative(promoteToFloat(asArray(x)))));
}

/** x * sigmoid(x) (also called swish). */
export function silu(x: ArrayLike): Tracer {
  const a = promoteToFloat(asArray(x));
  return multiply(a, sigmoid(a));
}
export const swish = silu;

export interface GeluOptions {
  /** tanh approximation (jax.nn.gelu's default) or the exact erf form. */
  approximate?: boolean;
}

/**
 * approximate: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); exact: x/2 (1 + erf(x / sqrt 2)).
 */
export function gelu(x: ArrayLike, { approximate = true }: GeluOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  if (approximate) {
    const inner = multiply(
      Math.sqrt(2 / Math.PI),
      add(a, multiply(0.044715, bind1(Primitive.IntegerPow, [a], { y: 3 }))),
    );
    return multiply(a, multiply(0.5, add(1, tanh(inner))));
  }
  const e = bind1(Primitive.Erf, [multiply(a, Math.SQRT1_2)], {});
  return multiply(multiply(a, 0.5), add(1, e));
}

export interface EluOptions {
  alpha?: number;
}

/** x above 0, alpha (e^x - 1) below. */
export function elu(x: ArrayLike, { alpha = 1 }: EluOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  const positive = greater(a, 0);
  return where(positive, a, multiply(alpha, expm1(where(positive, 0, a))));
}

export interface LeakyReluOptions {
  negativeSlope?: number;
}

/** x where x >= 0, negativeSlope * x elsewhere. */
export function leakyRelu(x: ArrayLike, { negativeSlope = 0.01 }: LeakyReluOptions = {}): Tracer {
  const a = asArray(x);
  return where(greaterEqual(a, 0), a, multiply(negativeSlope, a));
}

export interface AxisOptions {
  /** Axis or axes to normalise over; -1 by default, null for all. */
  axis?: AxisArg;
}

/** exp(x - max) / sum(exp(x - max)) along `axis` (subtracting the max keeps exp from overflowing). */
export function softmax(x: ArrayLike, { axis = -1 }: AxisOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  const unnormalized = exp(subtract(a, max(a, { axis, keepdims: true })));
  return divide(unnormalized, sum(unnormalized, { axis, keepdims: true }));
}

/** (x - max) - log(sum(exp(x - max))) along `axis`. */
export function logSoftmax(x: ArrayLike, { axis = -1 }: AxisOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  const shifted = subtract(a, max(a, { axis, keepdims: true }));
  return subtract(shifted, log(sum(exp(shifted), { axis, keepdims: true })));
}

export interface LogsumexpOptions {
  axis?: AxisArg;
  keepdims?: boolean;
}

/**
 * log(sum(exp(x))) along `axis` (all axes by default) as jax.nn.logsumexp computes it: the max is
 * subtracted first (a non-finite max is replaced by 0, so all -inf gives -inf, not NaN).
 */
function logsumexpFormula(x: ArrayLike, { axis = null, keepdims = false }: LogsumexpOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  const axes = reductionAxes("nn.logsumexp", a, axis);
  const amax = max(a, { axis: axes, keepdims: true });
  const safe = where(isfinite(amax), amax, 0);
  const total = sum(exp(subtract(a, safe)), { axis: axes, keepdims });
  const offset = keepdims
    ? safe
    : reshape(
        safe,
        a.shape.filter((_, i) => !axes.includes(i)),
      );
  return add(log(total), offset);
}

export interface OneHotOptions {
  /** Result dtype (float32 by default). */
  dtype?: DType;
  /** Where the class axis goes in the result (-1: last). */
  axis?: number;
}

/**
 * One-hot encoding: result[..., c, ...] = (x[...] == c) for c in [0, numClasses); indices out of range
 * give all zeros (as jax.nn.one_hot: an equality against the class ids).
 */
export function oneHot(
  x: ArrayLike,
  numClasses: number,
  { dtype = "float32", axis = -1 }: OneHotOptions = {},
): Tracer {
  if (!Number.isInteger(numClasses) || numClasses < 0)
    throw new TypeError(`nn.oneHot: numClasses must be a non-negative integer, got ${numClasses}`);
  const a = asArray(x);
  const pos = normalizeAxis("nn.oneHot", axis, a.ndim + 1);
  const idsShape = a.shape.map(() => 1);
  idsShape.splice(pos, 0, numClasses);
  const ids = hostArray(a.dtype, numClasses);
  for (let c = 0; c < numClasses; c++) ids[c] = c;
  const classes = fromHost(ids, new ShapedArray(idsShape, a.dtype));
  return astype(equal(expandDims(a, pos), classes), dtype);
}

// [end elementwise]

// [autodiff] nn
// softplus and logsumexp with custom JVP rules (jax.custom_jvp): their derivatives are σ(x) and
// softmax(x), computed directly rather than through the max/abs/select of the stable formulas.

const softplusRule = customJvp((x: Tracer) => softplusFormula(x));
softplusRule.defjvp(([x], [t]) => [softplusRule(x), multiply(t, sigmoid(x))]);

/** log(1 + e^x) = logaddexp(x, 0), without overflow; d softplus(x) = σ(x) dx. */
export function softplus(x: ArrayLike): Tracer {
  return softplusRule(promoteToFloat(asArray(x)));
}

/**
 * log(sum(exp(x))) along `axis` (all axes by default) as jax.nn.logsumexp computes it: the max is
 * subtracted first (a non-finite max is replaced by 0, so all -inf gives -inf, not NaN). Its JVP is
 * sum(softmax(x) dx) over the reduced axes.
 */
export function logsumexp(x: ArrayLike, options: LogsumexpOptions = {}): Tracer {
  const a = promoteToFloat(asArray(x));
  const axes = reductionAxes("nn.logsumexp", a, options.axis ?? null);
  const lse = customJvp((v: Tracer) => logsumexpFormula(v, { axis: axes, keepdims: options.keepdims }));
  lse.defjvp(([v], [t]) => {
    // softmax rather than exp(x - lse): exact to float32 rounding even for large x.
    const weights = softmax(v, { axis: axes });
    return [lse(v), sum(multiply(weights, t), { axis: axes, keepdims: options.keepdims })];
  });
  return lse(a);
}
// [end autodiff]
