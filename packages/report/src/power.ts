/**
 * Power of the report's two tests, and the smallest difference in error rate each can detect: what a
 * "not significant" finding can and cannot rule out at the run's bucket size.
 */
import { binomialPmf, normalCdf, normalQuantile } from './stats.ts';

/** The power a minimum detectable difference is computed for. */
export const TARGET_POWER = 0.8;

/**
 * Power of the two-sided pooled two-proportion z-test (twoProportionTest) when the true error rates
 * are p1 (n1 images) and p2 (n2 images), by the normal approximation: the test rejects when
 * |p̂1 − p̂2| > z·SE₀ (pooled SE, as under the null), and p̂1 − p̂2 is in truth normal around p1 − p2
 * with the unpooled SE₁.
 */
export function twoProportionPower(p1: number, n1: number, p2: number, n2: number, alpha = 0.05): number {
  const pooled = (n1 * p1 + n2 * p2) / (n1 + n2);
  const seNull = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const seAlt = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const threshold = normalQuantile(1 - alpha / 2) * seNull;
  const d = Math.abs(p1 - p2);
  if (seAlt === 0) return d > threshold ? 1 : 0;
  return normalCdf((d - threshold) / seAlt) + normalCdf((-d - threshold) / seAlt);
}

/**
 * Two error rates `delta` apart around `baseline`: centred on it (so it stays their average), shifted
 * inward where the baseline is closer than delta/2 to 0 or 1.
 */
export function ratesAround(baseline: number, delta: number): [number, number] {
  const low = Math.min(Math.max(baseline - delta / 2, 0), 1 - delta);
  return [low, low + delta];
}

/**
 * Largest b for which b of `discordant` pairs (and the rest on the other side) is significant in the
 * exact McNemar test, 2·P(X ≤ b) < α with X ~ Binomial(discordant, ½) — the same sum, in the same
 * order, as `mcnemar` — or −1 when no split of that many pairs is.
 */
export function mcnemarCriticalValue(discordant: number, alpha = 0.05): number {
  const pmf = binomialPmf(discordant, 0.5);
  let cdf = 0;
  let b = -1;
  while (b + 1 < discordant / 2 && 2 * (cdf + pmf[b + 1]!) < alpha) cdf += pmf[++b]!;
  return b;
}

// Numbers of discordant pairs less likely than this add nothing visible to the power.
const NEGLIGIBLE = 1e-15;

/**
 * Power of the exact (conditional) McNemar test on n pairs of which a share ψ is discordant, as a
 * function of the difference Δ between the two error rates (0 ≤ Δ ≤ ψ): a pair errs under A only
 * with probability (ψ + Δ)/2 and under B only with (ψ − Δ)/2. Exact, no approximation: the number D
 * of discordant pairs is Binomial(n, ψ), and given D the A-only count is Binomial(D, (ψ + Δ)/2ψ); the
 * power sums, over D, the chance that this count lands in the test's rejection region. The parts
 * that do not depend on Δ are computed once, for bisection.
 */
export function mcnemarPowerCurve(n: number, psi: number, alpha = 0.05): (delta: number) => number {
  const discordantPmf = binomialPmf(n, psi);
  const cases: { d: number; weight: number; critical: number }[] = [];
  for (let d = 1; d <= n && psi > 0; d++) {
    if (discordantPmf[d]! < NEGLIGIBLE) continue;
    const critical = mcnemarCriticalValue(d, alpha);
    if (critical >= 0) cases.push({ d, weight: discordantPmf[d]!, critical });
  }
  return (delta) => {
    const shareA = Math.min(1, (psi + delta) / (2 * psi));
    let power = 0;
    for (const { d, weight, critical } of cases) {
      const split = binomialPmf(d, shareA);
      let reject = 0;
      for (let b = 0; b <= critical; b++) reject += split[b]! + split[d - b]!;
      power += weight * reject;
    }
    return Math.min(1, power);
  };
}

/** mcnemarPowerCurve at one Δ. */
export function mcnemarPower(n: number, psi: number, delta: number, alpha = 0.05): number {
  return mcnemarPowerCurve(n, psi, alpha)(delta);
}

/**
 * The smallest δ in (0, max] whose power reaches `target`, by bisection (power must not decrease with
 * δ, which holds for both tests here); null when even δ = max falls short.
 */
export function smallestDetectable(power: (delta: number) => number, max: number, target = TARGET_POWER): number | null {
  if (!(max > 0) || !(power(max) >= target)) return null; // also when power is NaN (an empty bucket)
  let lo = 0;
  let hi = max;
  while (hi - lo > 1e-6) {
    const mid = (lo + hi) / 2;
    if (power(mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Minimum detectable difference in error rate between two independent buckets of n1 and n2 images,
 * around a baseline error rate (see ratesAround), for the two-sided two-proportion z-test.
 */
export function twoProportionMdd(n1: number, n2: number, baseline: number, alpha = 0.05, target = TARGET_POWER): number | null {
  return smallestDetectable((delta) => {
    const [p1, p2] = ratesAround(baseline, delta);
    return twoProportionPower(p1, n1, p2, n2, alpha);
  }, 1, target);
}

/**
 * Minimum detectable difference |p_A − p_B| in error rate on n paired images with discordant share ψ,
 * for the exact McNemar test. At most ψ: the difference cannot exceed the share of discordant pairs.
 */
export function mcnemarMdd(n: number, psi: number, alpha = 0.05, target = TARGET_POWER): number | null {
  return smallestDetectable(mcnemarPowerCurve(n, psi, alpha), psi, target);
}
