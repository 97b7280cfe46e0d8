import { describe, expect, it } from 'vitest';
import { Rng } from '@gradsign/core';
import {
  mcnemarCriticalValue,
  mcnemarMdd,
  mcnemarPower,
  ratesAround,
  twoProportionMdd,
  twoProportionPower,
} from '../src/power.ts';
import { mcnemar, twoProportionTest } from '../src/stats.ts';

/** Binomial(n, p) draw by n Bernoulli trials (slow, but plainly right). */
const draw = (rng: Rng, n: number, p: number) => {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.next() < p) k++;
  return k;
};

/** Share of `trials` simulated data sets on which `significant` says p < 0.05. */
function simulatedPower(trials: number, seed: number, significant: (rng: Rng) => boolean): number {
  const rng = new Rng(seed);
  let hits = 0;
  for (let t = 0; t < trials; t++) if (significant(rng)) hits++;
  return hits / trials;
}

/** Arguments of twoProportionPower for two rates with n images each. */
const withSizes = ([p1, p2]: [number, number], n: number): [number, number, number, number] => [p1, n, p2, n];

describe('two-proportion z-test power', () => {
  it('matches references', () => {
    // R: power.prop.test(n = 50, p1 = .5, p2 = .75)$power = 0.7401659 (that omits the far tail, ~1e-6).
    expect(twoProportionPower(0.5, 50, 0.75, 50)).toBeCloseTo(0.7401659, 5);
    // scipy.stats.norm with the same formula, unequal n.
    expect(twoProportionPower(0.3, 500, 0.38, 400)).toBeCloseTo(0.7136551383775271, 6);
    expect(twoProportionPower(0.05, 200, 0.12, 200)).toBeCloseTo(0.7103660228540168, 6);
    // No difference: the test's size, α.
    expect(twoProportionPower(0.3, 500, 0.3, 500)).toBeCloseTo(0.05, 6);
  });

  it('straddles the baseline, shifted inward at the edges', () => {
    expect(ratesAround(0.3, 0.1)).toEqual([0.25, 0.35]);
    expect(ratesAround(0.02, 0.1)).toEqual([0, 0.1]);
    expect(ratesAround(0.99, 0.1)[0]).toBeCloseTo(0.9, 12);
    expect(ratesAround(0.99, 0.1)[1]).toBe(1);
  });

  it('has power 0.80 at its minimum detectable difference, and less just below it', () => {
    for (const [n, baseline] of [[500, 0.3], [500, 0.03], [120, 0.6], [20, 0.5]] as const) {
      const mdd = twoProportionMdd(n, n, baseline)!;
      const power = (d: number) => twoProportionPower(...withSizes(ratesAround(baseline, d), n));
      expect(power(mdd), `n=${n} baseline=${baseline}`).toBeCloseTo(0.8, 4);
      expect(power(mdd - 0.005)).toBeLessThan(0.8);
    }
  });

  it('reaches 0.80 power in simulation of twoProportionTest itself (seeded)', () => {
    const n = 500;
    const [p1, p2] = ratesAround(0.3, twoProportionMdd(n, n, 0.3)!);
    const power = simulatedPower(4000, 1, (rng) => twoProportionTest(draw(rng, n, p1), n, draw(rng, n, p2), n) < 0.05);
    // Binomial standard error of 4,000 trials at 0.8: 0.0063.
    expect(power).toBeGreaterThan(0.78);
    expect(power).toBeLessThan(0.82);
  });

  it('shrinks like 1/√n', () => {
    const at = (n: number) => twoProportionMdd(n, n, 0.3)!;
    expect(at(500)).toBeGreaterThan(0.07);
    expect(at(500)).toBeLessThan(0.09);
    expect(at(2000) / at(500)).toBeCloseTo(0.5, 2);
    expect(at(125) / at(500)).toBeCloseTo(2, 1);
    expect(at(8000) / at(2000)).toBeCloseTo(0.5, 2);
    // An empty bucket detects nothing (its power is undefined, not a number).
    expect(twoProportionMdd(0, 0, 0.3)).toBeNull();
  });
});

describe('exact McNemar power', () => {
  it('uses the rejection region of mcnemar()', () => {
    expect(mcnemarCriticalValue(5)).toBe(-1); // 0 vs 5: p = 0.0625
    expect(mcnemarCriticalValue(6)).toBe(0); // 0 vs 6: p = 0.03125
    for (let d = 1; d <= 300; d++) {
      const k = mcnemarCriticalValue(d);
      if (k >= 0) expect(mcnemar(k, d - k), `d=${d}`).toBeLessThan(0.05);
      expect(mcnemar(k + 1, d - k - 1), `d=${d}`).toBeGreaterThanOrEqual(0.05);
    }
  });

  it('matches an independent computation (scipy.stats.binom over every discordant count)', () => {
    expect(mcnemarPower(500, 0.12, 0.04)).toBeCloseTo(0.70256988733012, 9);
    expect(mcnemarPower(100, 0.2, 0.1)).toBeCloseTo(0.5444454279352327, 9);
    expect(mcnemarPower(30, 0.5, 0.3)).toBeCloseTo(0.5858893906953908, 9);
    // The exact test is conservative: at no difference it rejects less often than α.
    expect(mcnemarPower(500, 0.12, 0)).toBeLessThan(0.05);
    expect(mcnemarPower(500, 0.12, 0)).toBeGreaterThan(0.03);
  });

  it('has power 0.80 at its minimum detectable difference, and less just below it', () => {
    for (const [n, psi] of [[500, 0.12], [500, 0.4], [100, 0.3]] as const) {
      const mdd = mcnemarMdd(n, psi)!;
      expect(mdd).toBeLessThanOrEqual(psi);
      expect(mcnemarPower(n, psi, mdd), `n=${n} ψ=${psi}`).toBeCloseTo(0.8, 4);
      expect(mcnemarPower(n, psi, mdd - 0.003)).toBeLessThan(0.8);
    }
  });

  it('reaches 0.80 power in simulation of mcnemar() itself (seeded)', () => {
    const n = 500;
    const psi = 0.12;
    const delta = mcnemarMdd(n, psi)!;
    const power = simulatedPower(4000, 2, (rng) => {
      let onlyA = 0;
      let onlyB = 0;
      for (let i = 0; i < n; i++) {
        const u = rng.next();
        if (u < (psi + delta) / 2) onlyA++;
        else if (u < psi) onlyB++;
      }
      return mcnemar(onlyA, onlyB) < 0.05;
    });
    expect(power).toBeGreaterThan(0.78);
    expect(power).toBeLessThan(0.82);
  });

  it('shrinks like 1/√n, and is null when no difference up to ψ is detectable', () => {
    const at = (n: number) => mcnemarMdd(n, 0.2)!;
    // Not exactly ½: the exact test's discreteness costs relatively more at small n.
    expect(Math.abs(at(2000) / at(500) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(at(4000) / at(1000) - 0.5)).toBeLessThan(0.01);
    expect(at(500)).toBeLessThan(at(250));
    // 20 pairs at ψ = 0.12: about 2.4 discordant pairs, never enough for p < 0.05 often enough.
    expect(mcnemarMdd(20, 0.12)).toBeNull();
    expect(mcnemarMdd(500, 0)).toBeNull();
  });
});
