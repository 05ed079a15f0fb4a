/**
 * The error function in doubles, accurate far beyond float32: erf(a) = 2/sqrt(pi) e^(-a^2)
 * sum_n 2^n a^(2n+1) / (1*3*5*...*(2n+1)) (Abramowitz-Stegun 7.1.6). Every term is positive, so the
 * sum has no cancellation; it converges for every a, and for |a| >= 6 erf(a) is 1 to double precision.
 */
const TWO_OVER_SQRT_PI = 1.1283791670955126;

export function erf(x: number): number {
  if (Number.isNaN(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  const a2 = a * a;
  let term = a;
  let sum = a;
  for (let n = 1; n < 400 && term > sum * 1e-17; n++) {
    term *= (2 * a2) / (2 * n + 1);
    sum += term;
  }
  const r = Math.min(TWO_OVER_SQRT_PI * Math.exp(-a2) * sum, 1);
  return x < 0 ? -r : r;
}
