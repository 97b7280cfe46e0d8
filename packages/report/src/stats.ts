/** Small statistics for the report: Wilson intervals, exact/normal tests of error rates, Holm adjustment, normal quantile. */

/** 95% Wilson score interval for k successes in n trials. */
export function wilson(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At k = 0 (k = n) the bound is exactly 0 (1); rounding would leave ±1e-17 and an interval that misses p.
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/**
 * The Binomial(n, p) probabilities of 0…n, by the ratio recurrence in log space (no factorials, no
 * underflow before the final exp).
 */
export function binomialPmf(n: number, p: number): Float64Array {
  const pmf = new Float64Array(n + 1);
  if (p <= 0 || p >= 1) {
    pmf[p <= 0 ? 0 : n] = 1;
    return pmf;
  }
  const logOdds = Math.log(p) - Math.log1p(-p);
  let log = n * Math.log1p(-p);
  for (let k = 0; k <= n; k++) {
    pmf[k] = Math.exp(log);
    log += Math.log((n - k) / (k + 1)) + logOdds;
  }
  return pmf;
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomHalfCdf(k: number, n: number): number {
  const pmf = binomialPmf(n, 0.5);
  let total = 0;
  for (let i = 0; i <= k; i++) total += pmf[i]!;
  return Math.min(1, total);
}

/**
 * Exact McNemar test for paired binary outcomes (same images, two conditions): `b` = pairs where
 * only A erred, `c` = only B erred. Two-sided p-value.
 */
export function mcnemar(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomHalfCdf(Math.min(b, c), n));
}

export function normalCdf(x: number): number {
  // Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7).
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Two-sided pooled z-test of two independent proportions k1/n1 vs k2/n2. */
export function twoProportionTest(k1: number, n1: number, k2: number, n2: number): number {
  const pooled = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return 1;
  const z = (k1 / n1 - k2 / n2) / se;
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
}

/**
 * Holm–Bonferroni step-down adjusted p-values, in the order given: sorted ascending, the i-th
 * smallest (1-based) is multiplied by m − i + 1, then carried forward as a running maximum (so a
 * larger raw p never gets a smaller adjusted one) and capped at 1. Rejecting where the adjusted
 * p < α controls the family-wise error rate at α for any dependence between the tests.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.min(1, Math.max(running, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

// Acklam's rational approximations to the normal quantile (relative error < 1.15e-9), central
// region and tails.
const ACKLAM_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1, 1];
const ACKLAM_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416, 1];
const ACKLAM_TAIL = 0.02425;

/** Horner evaluation of a polynomial whose coefficients run from the highest power down. */
const polynomial = (coefficients: number[], x: number) => coefficients.reduce((acc, c) => acc * x + c, 0);

/** Lower tail (p < ACKLAM_TAIL): negative quantiles. */
function acklamTail(p: number): number {
  const q = Math.sqrt(-2 * Math.log(p));
  return polynomial(ACKLAM_C, q) / polynomial(ACKLAM_D, q);
}

/**
 * The standard normal quantile Φ⁻¹(p) (inverse CDF), by Acklam's algorithm. Not refined by a Newton
 * step: normalCdf above is only good to 1.5e-7, which would make it worse, not better.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p < ACKLAM_TAIL) return acklamTail(p);
  if (p > 1 - ACKLAM_TAIL) return -acklamTail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (polynomial(ACKLAM_A, r) * q) / polynomial(ACKLAM_B, r);
}
