import { describe, expect, it } from 'vitest';
import { mcnemar, twoProportionTest, wilson } from '../src/stats.ts';

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
