/** Plots: Vega-Lite → vega's headless View → SVG, with fixed text metrics (no canvas), deterministic. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BUCKETS, type ReportRow } from '@gradsign/core';
import { curvesSpec, histogramSpec, renderSvg, shiftSpec, textWidth } from '../src/plots.ts';
import { combinationId, seriesId } from '@gradsign/core';
import { combinationsOf, formatDelta, formatEps, formatInterval, formatPct, seriesLabel } from '../src/format.ts';
import { wilson } from '../src/stats.ts';
import { NO_DIAGNOSTICS } from './fixture.ts';

/** The rows' attacks: BIM, inverse, at each ε (as a pipeline file would sweep them). */
const combos = (eps: number[]) => combinationsOf({ attacks: [{ methods: ['bim'], gradients: ['inverse'], eps, norm: 'linf' }] } as never);

function rows(eps: number[]): ReportRow[] {
  return eps.flatMap((e, i) =>
    BUCKETS.map((bucket, b) => {
      const k1 = 5 + 3 * i - b;
      return {
        combination: combinationId({ method: 'bim', gradient: 'inverse', eps: e, norm: 'linf' }), method: 'bim', gradient: 'inverse', eps: e, norm: 'linf', steps: 10, alpha: 1 / 255, bucket,
        n: 20, top1Errors: k1, top5Errors: 1, top1Error: k1 / 20, top5Error: 0.05, top1ErrorCI: wilson(k1, 20), top5ErrorCI: wilson(1, 20),
        targetSuccess: null, meanLinf: e, meanL2: 1, meanCleanConfidence: 0.5 + 0.2 * b, meanAdversarialTrueProb: 0.3, diagnostics: NO_DIAGNOSTICS,
      };
    }),
  );
}

afterEach(() => vi.restoreAllMocks());

describe('text metrics', () => {
  it('uses Helvetica advance widths, not a canvas', () => {
    expect(textWidth('0', 10)).toBeCloseTo(5.56, 6);
    expect(textWidth('iW', 1000)).toBeCloseTo(222 + 944, 6);
    expect(textWidth('ε', 10)).toBeCloseTo(6, 6);
    expect(textWidth('a', 10, true)).toBeGreaterThan(textWidth('a', 10));
  });
});

describe('renderSvg', () => {
  it('renders each plot to the same SVG every time, with marks and without warnings', async () => {
    const warn = vi.spyOn(console, 'warn');
    const swept = [4 / 255, 8 / 255, 16 / 255];
    const specs = [curvesSpec(rows(swept), combos(swept))!, histogramSpec([0.2, 0.5, 0.7, 0.95, 0.99], { medium: 0.6, high: 0.9 }), shiftSpec(rows([8 / 255]), ['bim-inverse-eps8-255'], combos([8 / 255]))];
    for (const spec of specs) {
      const a = await renderSvg(spec);
      const b = await renderSvg(spec);
      expect(a.replace(/clip\d+/g, 'clip')).toBe(b.replace(/clip\d+/g, 'clip'));
      expect(a.startsWith('<svg')).toBe(true);
      expect(a).toMatch(/class="mark-(line|rect|symbol)/);
      expect(a).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    }
    expect(warn).not.toHaveBeenCalled();
  });

  it('draws no curve for a single ε', () => {
    expect(curvesSpec(rows([8 / 255]), combos([8 / 255]))).toBeNull();
  });
});

describe('format', () => {
  it('writes the numbers the page shows', () => {
    expect(formatPct(0.4)).toBe('40.0%');
    expect(formatInterval([0.2188, 0.6134])).toBe('21.9–61.3%');
    expect(formatDelta(-0.5)).toBe('−50.0 pp');
    expect(formatDelta(0.031)).toBe('+3.1 pp');
    expect(formatDelta(0.00001)).toBe('±0.0 pp');
    expect(formatEps(8 / 255)).toBe('8/255');
    expect(formatEps(0.01)).toBe('2.55/255');
    expect(formatEps(0.5, 'l2')).toBe('0.5');
    expect(seriesId({ method: 'bim', gradient: 'inverse', eps: 8 / 255, norm: 'linf', steps: 20 })).toBe('bim-inverse-steps20');
    expect(seriesLabel({ method: 'bim', gradient: 'target:3', norm: 'linf', steps: 20 })).toBe('iterative · target:3 (steps20)');
  });
});
