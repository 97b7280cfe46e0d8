import { describe, expect, it } from 'vitest';
import { Rng } from '@gradsign/core';
import { binomialPmf, holmAdjust, mcnemar, normalCdf, normalQuantile, twoProportionTest, wilson } from '../src/stats.ts';

describe('wilson', () => {
  it('matches known 95% intervals', () => {
    const [lo, hi] = wilson(250, 500);
    expect(lo).toBeCloseTo(0.4563, 4); // ≈ [0.456, 0.544]
    expect(hi).toBeCloseTo(0.5437, 4);
    // k = 0: the lower end is exactly 0, the upper z²/(n+z²).
    const z2 = 1.959963984540054 ** 2;
    expect(wilson(0, 20)[0]).toBe(0);
    expect(wilson(0, 20)[1]).toBeCloseTo(z2 / (20 + z2), 12);
    expect(wilson(0, 20)[1]).toBeCloseTo(0.1611, 4);
    // k = n mirrors k = 0.
    expect(wilson(20, 20)[0]).toBeCloseTo(1 - z2 / (20 + z2), 12);
    expect(wilson(20, 20)[1]).toBe(1);
    // R: prop.test(8, 20, correct = FALSE)$conf.int → 0.2188 0.6134
    expect(wilson(8, 20)[0]).toBeCloseTo(0.2188, 4);
    expect(wilson(8, 20)[1]).toBeCloseTo(0.6134, 4);
  });

  it('contains the point estimate and stays within [0, 1]', () => {
    for (const [k, n] of [[1, 3], [7, 10], [499, 500], [3, 1500]] as const) {
      const [lo, hi] = wilson(k, n);
      expect(lo).toBeLessThanOrEqual(k / n);
      expect(hi).toBeGreaterThanOrEqual(k / n);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
    }
    expect(wilson(0, 0)).toEqual([0, 1]);
  });
});

describe('mcnemar (exact)', () => {
  it('gives the two-sided binomial p-value of the discordant pairs', () => {
    expect(mcnemar(0, 0)).toBe(1);
    expect(mcnemar(3, 3)).toBe(1);
    // 0 vs 5: 2 · (1/2)^5
    expect(mcnemar(0, 5)).toBeCloseTo(0.0625, 12);
    expect(mcnemar(5, 0)).toBeCloseTo(0.0625, 12);
    // 1 vs 9: 2 · (1 + 10) / 2^10
    expect(mcnemar(1, 9)).toBeCloseTo(22 / 1024, 12);
    // 2 vs 8: 2 · (1 + 10 + 45) / 2^10 (R: binom.test(2, 10)$p.value = 0.1094)
    expect(mcnemar(2, 8)).toBeCloseTo(112 / 1024, 12);
    // 10 vs 30 (R: binom.test(10, 40)$p.value = 0.002221)
    expect(mcnemar(10, 30)).toBeCloseTo(0.002221, 5);
  });
});

describe('twoProportionTest', () => {
  it('matches the pooled z-test', () => {
    // 50/100 vs 30/100: z = 0.2 / sqrt(0.4·0.6·0.02) = 2.8868 → p = 0.003892
    expect(twoProportionTest(50, 100, 30, 100)).toBeCloseTo(0.003892, 5);
    expect(twoProportionTest(10, 20, 10, 20)).toBeCloseTo(1, 6);
    expect(twoProportionTest(0, 20, 0, 20)).toBe(1);
  });
});

describe('wilson at the edges', () => {
  it('is exactly 0 at k = 0 and exactly 1 at k = n, for any n', () => {
    for (let n = 1; n <= 600; n++) {
      expect(wilson(0, n)[0]).toBe(0);
      expect(wilson(n, n)[1]).toBe(1);
    }
  });
});

describe('holmAdjust', () => {
  it('matches the hand-computed step-down example', () => {
    // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.06.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((want, i) => expect(adjusted[i]).toBeCloseTo(want, 12));
  });

  it('caps at 1, keeps ties equal and leaves a single test alone', () => {
    expect(holmAdjust([0.9, 0.95])).toEqual([1, 1]);
    expect(holmAdjust([0.02, 0.02, 0.5])).toEqual([0.06, 0.06, 0.5]);
    expect(holmAdjust([0.037])).toEqual([0.037]);
    expect(holmAdjust([])).toEqual([]);
  });

  it('is monotone in the raw p, never below it, and rejects exactly what the step-down procedure does', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + rng.int(12);
      // Mostly small p-values, so that some but not all are rejected.
      const raw = Array.from({ length: m }, () => rng.next() ** 3 * 0.2);
      const adjusted = holmAdjust(raw);
      const order = raw.map((_, i) => i).sort((a, b) => raw[a]! - raw[b]!);
      for (let r = 0; r < m; r++) {
        const i = order[r]!;
        expect(adjusted[i]).toBeGreaterThanOrEqual(raw[i]!);
        expect(adjusted[i]).toBeLessThanOrEqual(1);
        if (r > 0) expect(adjusted[i]).toBeGreaterThanOrEqual(adjusted[order[r - 1]!]!);
      }
      // Holm (1979): walk up the sorted p-values, rejecting while p_(r) < α/(m − r), stop at the first that is not.
      const stepDown = new Set<number>();
      for (let r = 0; r < m && raw[order[r]!]! < 0.05 / (m - r); r++) stepDown.add(order[r]!);
      const byAdjusted = new Set(raw.map((_, i) => i).filter((i) => adjusted[i]! < 0.05));
      expect(byAdjusted).toEqual(stepDown);
    }
  });
});

describe('normalQuantile', () => {
  it('matches reference quantiles to 1e-9 relative', () => {
    // Python's statistics.NormalDist().inv_cdf (Wichura's AS241, double precision).
    const reference: [number, number][] = [
      [0.8, 0.8416212335729144],
      [0.975, 1.9599639845400536],
      [0.95, 1.6448536269514715],
      [0.3, -0.5244005127080407],
      [0.02425, -1.9729610513118845],
      [0.001, -3.090232306167813],
      [1e-10, -6.361340902404056],
      [0.9999, 3.7190164854557084],
    ];
    for (const [p, z] of reference) expect(Math.abs(normalQuantile(p) - z) / Math.abs(z), String(p)).toBeLessThan(1.2e-9);
    expect(normalQuantile(0.5)).toBe(0);
  });

  it('is antisymmetric, inverts normalCdf and handles the ends', () => {
    for (let p = 0.001; p < 1; p += 0.0137) {
      expect(normalQuantile(1 - p)).toBeCloseTo(-normalQuantile(p), 8);
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 6);
    }
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe('binomialPmf', () => {
  it('gives the binomial probabilities and sums to 1', () => {
    Array.from(binomialPmf(4, 0.5)).forEach((x, k) => expect(x).toBeCloseTo([1, 4, 6, 4, 1][k]! / 16, 14));
    Array.from(binomialPmf(3, 0.2)).forEach((x, k) => expect(x).toBeCloseTo([0.512, 0.384, 0.096, 0.008][k]!, 14));
    expect(Array.from(binomialPmf(600, 0.37)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Array.from(binomialPmf(3, 0))).toEqual([1, 0, 0, 0]);
    expect(Array.from(binomialPmf(3, 1))).toEqual([0, 0, 0, 1]);
  });
});
