import { describe, expect, it } from 'vitest';
import { BUCKETS, type BucketName, type ReportRow } from '@gradsign/core';
import { checkFindings, checkFindingsDetailed, comparisonStatus, detectableText, rawStatus, type Comparison, type ImageErrors } from '../src/findings.ts';
import { mcnemarMdd, twoProportionMdd } from '../src/power.ts';
import { holmAdjust, mcnemar, wilson } from '../src/stats.ts';
import { NO_DIAGNOSTICS } from './fixture.ts';

type Rates = Record<BucketName, [top1: number, top5: number]>;

/**
 * A synthetic run: per combination and bucket, the top-1 and top-5 error rates. Image i of a bucket
 * errs when i < rate·n, so errors are nested across combinations (a paired comparison's discordant
 * pairs all lie on one side) and top-5 errors are a subset of top-1 errors.
 */
function build(combos: { method: string; gradient: string; rates: Rates }[], n = 100) {
  const rows: ReportRow[] = [];
  const perImage = new Map<string, ImageErrors>();
  for (const c of combos) {
    const id = `${c.method}-${c.gradient}-eps8-255`;
    const errors: ImageErrors = { low: new Map(), medium: new Map(), high: new Map() };
    BUCKETS.forEach((bucket, b) => {
      const [r1, r5] = c.rates[bucket];
      for (let i = 0; i < n; i++) errors[bucket].set(b * 1000 + i, { top1: i < Math.round(r1 * n), top5: i < Math.round(r5 * n) });
      const k1 = Math.round(r1 * n);
      const k5 = Math.round(r5 * n);
      rows.push({
        combination: id, method: c.method, gradient: c.gradient, eps: 8 / 255, norm: 'linf', steps: 1, alpha: 8 / 255, bucket, n,
        top1Errors: k1, top5Errors: k5, top1Error: k1 / n, top5Error: k5 / n, top1ErrorCI: wilson(k1, n), top5ErrorCI: wilson(k5, n),
        targetSuccess: null, meanLinf: 8 / 255, meanL2: 1, meanCleanConfidence: 0.5, meanAdversarialTrueProb: 0.2, diagnostics: NO_DIAGNOSTICS,
      });
    });
    perImage.set(id, errors);
  }
  return { rows, perImage };
}

function run(combos: { method: string; gradient: string; rates: Rates }[], n = 100) {
  const { rows, perImage } = build(combos, n);
  return checkFindings(rows, perImage);
}

const flat = (top1: number, top5: number): Rates => ({ low: [top1, top5], medium: [top1, top5], high: [top1, top5] });
const falling: Rates = { low: [0.9, 0.6], medium: [0.6, 0.3], high: [0.3, 0.05] };
const rising: Rates = { low: [0.3, 0.05], medium: [0.6, 0.3], high: [0.9, 0.6] };
const verdict = (findings: ReturnType<typeof run>, id: number) => findings.find((f) => f.id === id)!.verdict;

describe('findings', () => {
  it('1 (iterative ≥ fast): holds, does not hold, not significant', () => {
    const holds = run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.3, 0.1) }, { method: 'bim', gradient: 'inverse', rates: flat(0.8, 0.5) }]);
    expect(verdict(holds, 1)).toBe('holds');
    const f1 = holds.find((f) => f.id === 1)!;
    expect(f1).toMatchObject({ comparisons: 6, supporting: 6, contradicting: 0, againstNotSignificant: 0 });
    expect(f1.detail).toContain('6 of 6 comparisons significantly as claimed');

    const reversed = run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.8, 0.5) }, { method: 'bim', gradient: 'inverse', rates: flat(0.3, 0.1) }]);
    expect(verdict(reversed, 1)).toBe('does not hold');
    expect(reversed.find((f) => f.id === 1)!.detail).toMatch(/largest reversal/);

    const tie = run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.5, 0.2) }, { method: 'bim', gradient: 'inverse', rates: flat(0.52, 0.21) }]);
    expect(verdict(tie, 1)).toBe('not significant');
  });

  it('2 (inverse ≥ least-likely on top-5): holds and does not hold', () => {
    const holds = run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.8, 0.6) }, { method: 'fgsm', gradient: 'least-likely', rates: flat(0.7, 0.1) }]);
    expect(verdict(holds, 2)).toBe('holds');
    expect(holds.find((f) => f.id === 2)!.comparisons).toBe(3);
    const against = run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.8, 0.1) }, { method: 'fgsm', gradient: 'least-likely', rates: flat(0.8, 0.6) }]);
    expect(verdict(against, 2)).toBe('does not hold');
  });

  it('3 (error falls with confidence): holds, does not hold, not significant', () => {
    expect(verdict(run([{ method: 'fgsm', gradient: 'inverse', rates: falling }]), 3)).toBe('holds');
    expect(verdict(run([{ method: 'fgsm', gradient: 'inverse', rates: rising }]), 3)).toBe('does not hold');
    expect(verdict(run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.5, 0.2) }]), 3)).toBe('not significant');
  });

  it('4 (top-5 well below top-1): holds and not significant', () => {
    expect(verdict(run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.8, 0.2) }]), 4)).toBe('holds');
    expect(verdict(run([{ method: 'fgsm', gradient: 'inverse', rates: flat(0.2, 0.19) }]), 4)).toBe('not significant');
  });

  it('counts a run without twins as no comparison', () => {
    const only = run([{ method: 'fgsm', gradient: 'inverse', rates: falling }]);
    expect(only.find((f) => f.id === 1)).toMatchObject({ comparisons: 0, verdict: 'not significant', detail: 'no comparable cells in this run' });
  });

  it('returns the comparisons behind each verdict, consistent with the counts', () => {
    const { rows, perImage } = build([
      { method: 'fgsm', gradient: 'inverse', rates: { low: [0.3, 0.1], medium: [0.8, 0.3], high: [0.5, 0.2] } },
      { method: 'bim', gradient: 'inverse', rates: { low: [0.8, 0.5], medium: [0.3, 0.3], high: [0.52, 0.2] } },
    ]);
    const detailed = checkFindingsDetailed(rows, perImage);
    expect(detailed.comparisons).toHaveLength(4);
    detailed.findings.forEach((f, i) => {
      const list = detailed.comparisons[i]!;
      expect(list).toHaveLength(f.comparisons);
      expect(list.filter((c) => comparisonStatus(c) === 'supports')).toHaveLength(f.supporting);
      expect(list.filter((c) => comparisonStatus(c) === 'contradicts')).toHaveLength(f.contradicting);
    });
    expect(detailed.findings.find((f) => f.id === 1)).toMatchObject({ verdict: 'does not hold', supporting: 2, contradicting: 1 });
  });

  it('Holm-adjusts the p-values of each finding over its own comparisons, and counts raw and adjusted', () => {
    const { rows, perImage } = build([
      { method: 'fgsm', gradient: 'inverse', rates: { low: [0.3, 0.1], medium: [0.8, 0.3], high: [0.5, 0.2] } },
      { method: 'bim', gradient: 'inverse', rates: { low: [0.8, 0.5], medium: [0.3, 0.3], high: [0.52, 0.2] } },
    ]);
    const detailed = checkFindingsDetailed(rows, perImage);
    detailed.findings.forEach((f, i) => {
      const list = detailed.comparisons[i]!;
      const adjusted = holmAdjust(list.map((c) => c.p));
      list.forEach((c, k) => expect(c.pHolm).toBe(adjusted[k]));
      expect(f).toMatchObject({ correction: 'holm', alpha: 0.05 });
      expect(list.filter((c) => rawStatus(c) === 'supports')).toHaveLength(f.supportingRaw);
      expect(list.filter((c) => rawStatus(c) === 'contradicts')).toHaveLength(f.contradictingRaw);
      expect(f.supportingRaw).toBeGreaterThanOrEqual(f.supporting);
      expect(f.contradictingRaw).toBeGreaterThanOrEqual(f.contradicting);
    });
  });

  it('classifies one comparison at its Holm-adjusted p, not its raw p', () => {
    const c = (higher: number, lower: number, p: number, pHolm: number): Comparison => ({ label: '', higher, lower, p, pHolm, n: 100, baseline: 0.1 });
    expect(comparisonStatus(c(0.5, 0.2, 0.001, 0.01))).toBe('supports');
    expect(comparisonStatus(c(0.2, 0.5, 0.001, 0.01))).toBe('contradicts');
    expect(comparisonStatus(c(0.2, 0.5, 0.2, 0.4))).toBe('noise');
    expect(comparisonStatus(c(0.5, 0.2, 0.02, 0.08))).toBe('noise');
    expect(rawStatus(c(0.5, 0.2, 0.02, 0.08))).toBe('supports');
  });

  it('does not let comparisons that are significant only before Holm make a finding hold, or fail', () => {
    // 6 of 100 images more erred under BIM in each of the 6 cells, none fewer: p = 2·½⁶ = 0.031 each,
    // 6 × 0.031 = 0.19 after Holm.
    const fgsm = { method: 'fgsm', gradient: 'inverse', rates: flat(0.3, 0.1) };
    const bim = { method: 'bim', gradient: 'inverse', rates: flat(0.36, 0.16) };
    const { rows, perImage } = build([fgsm, bim]);
    const detailed = checkFindingsDetailed(rows, perImage);
    const f1 = detailed.findings.find((f) => f.id === 1)!;
    expect(f1).toMatchObject({ comparisons: 6, supportingRaw: 6, supporting: 0, contradicting: 0, verdict: 'not significant' });
    for (const c of detailed.comparisons[0]!) {
      expect(c.p).toBeCloseTo(mcnemar(6, 0), 12);
      expect(c.pHolm).toBeCloseTo(6 * mcnemar(6, 0), 12);
    }
    expect(f1.detail).toContain('0 of 6 comparisons significantly as claimed (McNemar, paired, Holm-adjusted p < 0.05; 6 at raw p < 0.05)');

    // The same reversed: raw-significant against the claim, but after Holm within noise, so not "does not hold".
    const reversed = run([{ ...fgsm, rates: flat(0.36, 0.16) }, { ...bim, rates: flat(0.3, 0.1) }]).find((f) => f.id === 1)!;
    expect(reversed).toMatchObject({ contradictingRaw: 6, contradicting: 0, againstNotSignificant: 6, verdict: 'not significant' });
  });

  it('states the minimum detectable difference of a typical comparison of each finding', () => {
    const fgsm = { method: 'fgsm', gradient: 'inverse', rates: flat(0.3, 0.1) };
    const bim = { method: 'bim', gradient: 'inverse', rates: flat(0.36, 0.16) };
    const findings = run([{ ...fgsm, rates: falling }, { ...bim, rates: { low: [0.96, 0.66], medium: [0.66, 0.36], high: [0.36, 0.11] } }], 500);
    // Finding 1 (McNemar): every cell has 6% discordant images (500 pairs each).
    const f1 = findings.find((f) => f.id === 1)!.minimumDetectableDifference!;
    expect(f1).toMatchObject({ test: 'mcnemar-exact', n: 500, power: 0.8, alpha: 0.05 });
    expect(f1.baseline).toBeCloseTo(0.06, 12);
    expect(f1.value).toBe(mcnemarMdd(500, 0.06));
    expect(f1.value).toBeGreaterThan(0.02);
    expect(f1.value).toBeLessThan(0.06);
    // Finding 3 (z-test): per row and metric, low→medium and medium→high; the pooled rates of FGSM's
    // four are 0.75, 0.45, 0.45, 0.175 and BIM's 0.81, 0.51, 0.51, 0.235: median (0.45 + 0.51)/2.
    const f3 = findings.find((f) => f.id === 3)!.minimumDetectableDifference!;
    expect(f3).toMatchObject({ test: 'two-proportion-z', n: 500 });
    expect(f3.baseline).toBeCloseTo(0.48, 12);
    expect(f3.value).toBe(twoProportionMdd(500, 500, 0.48));
    expect(f3.value).toBeGreaterThan(0.08);
    expect(f3.value).toBeLessThan(0.1);
    expect(checkFindings([], new Map())[0]!.minimumDetectableDifference).toBeNull();
  });

  it('says on the card what a not-significant verdict can rule out', () => {
    // Finding 3 on a flat row: the same error in every bucket, pooled rates 0.5, 0.5, 0.2, 0.2.
    const fgsm = { method: 'fgsm', gradient: 'inverse', rates: flat(0.5, 0.2) };
    const f3 = run([fgsm]).find((f) => f.id === 3)!;
    expect(f3.verdict).toBe('not significant');
    const points = (f3.minimumDetectableDifference!.value! * 100).toFixed(1);
    expect(Number(points)).toBeGreaterThan(15);
    const text = detectableText(f3);
    expect(text).toContain(`Smallest detectable difference ${points} percentage points: differences under that cannot be told from noise with 100 images per bucket`);
    expect(text).toContain('(80% power at α = 0.05; two-proportion z-test at a 35.0% baseline error rate; n and that rate are medians over the 4 comparisons)');
    expect(text).toContain(`Not significant here means absent or smaller than ${points} percentage points`);
    expect(detectableText(run([{ ...fgsm, rates: falling }]).find((f) => f.id === 3)!)).not.toContain('Not significant');
    // Too few discordant pairs for any difference to reach 80% power.
    const tiny = run([fgsm, { method: 'bim', gradient: 'inverse', rates: flat(0.51, 0.21) }], 100).find((f) => f.id === 1)!;
    expect(tiny.minimumDetectableDifference!.value).toBeNull();
    expect(detectableText(tiny)).toMatch(/^No difference in error rate can be detected with 100 images per bucket .*: this run cannot test the claim\.$/);
  });
});
