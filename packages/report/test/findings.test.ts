import { describe, expect, it } from 'vitest';
import { BUCKETS, type BucketName, type ReportRow } from '@gradsign/core';
import { checkFindings, checkFindingsDetailed, comparisonStatus, type ImageErrors } from '../src/findings.ts';
import { wilson } from '../src/stats.ts';
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
    const id = `${c.method}-${c.gradient}-eps0.0314`;
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
    expect(comparisonStatus({ label: '', higher: 0.5, lower: 0.2, p: 0.01 })).toBe('supports');
    expect(comparisonStatus({ label: '', higher: 0.2, lower: 0.5, p: 0.01 })).toBe('contradicts');
    expect(comparisonStatus({ label: '', higher: 0.2, lower: 0.5, p: 0.2 })).toBe('noise');
  });
});
