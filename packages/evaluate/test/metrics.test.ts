import { describe, expect, it } from 'vitest';
import { quantize, roundHalfEven } from '@gradsign/core';
import { errors, gradientDiagnostics, perturbationNorms, summarize, type ImageMetrics } from '../src/metrics.ts';
import { RowCursor } from '../src/rows.ts';

describe('metrics', () => {
  it('counts top-1 and top-5 errors', () => {
    const top = Int32Array.of(3, 1, 4, 5, 9);
    expect(errors(top, 5, 3)).toEqual({ top1: false, top5: false });
    expect(errors(top, 5, 9)).toEqual({ top1: true, top5: false });
    expect(errors(top, 5, 2)).toEqual({ top1: true, top5: true });
  });

  it('rounds half to even like numpy when quantising', () => {
    expect([0.5, 1.5, 2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 2, 3]);
    const q = quantize(Float32Array.of(0, 1, 0.5 / 255, 1.5 / 255, 1.2, -0.1));
    expect(Array.from(q, (v) => Math.round(v * 255))).toEqual([0, 255, 0, 2, 255, 0]);
  });

  it('measures L∞ and L2 perturbations', () => {
    expect(perturbationNorms(Float32Array.of(0.5, 0.1), Float32Array.of(0.2, 0.5))).toEqual({ linf: expect.closeTo(0.4, 6), l2: expect.closeTo(0.5, 6) });
  });

  it('aggregates per bucket in low, medium, high order', () => {
    const row = (bucket: ImageMetrics['bucket'], top1Error: boolean, top5Error: boolean): ImageMetrics => ({
      bucket, top1Error, top5Error, targetHit: top1Error, linf: 0.1, l2: 1, cleanConfidence: 0.9, adversarialTrueProb: 0.2, zeroGradient: 10, structuralZeros: 10, pixels: 100,
    });
    const s = summarize([row('high', true, false), row('low', true, true), row('high', false, false), row('low', true, false)], true);
    expect(s.map((b) => b.bucket)).toEqual(['low', 'high']);
    expect(s[0]).toMatchObject({ n: 2, top1Errors: 2, top5Errors: 1, top1Error: 1, top5Error: 0.5, targetSuccess: 1 });
    expect(s[1]).toMatchObject({ n: 2, top1Error: 0.5, top5Error: 0, targetSuccess: 0.5 });
  });

  it('counts unperturbed images and zero gradients beyond the structural zeros', () => {
    const row = (linf: number, zeroGradient: number, structuralZeros: number): ImageMetrics => ({
      bucket: 'high', top1Error: false, top5Error: false, targetHit: false, linf, l2: linf, cleanConfidence: 1, adversarialTrueProb: 1, zeroGradient, structuralZeros, pixels: 100,
    });
    const rows = [row(0, 100, 20), row(0.1, 20, 20), row(0.1, 30, 20), row(0, 100, 100)];
    expect(gradientDiagnostics(rows)).toEqual({
      unperturbed: 2,
      zeroGradientShare: (1 + 0.2 + 0.3 + 1) / 4,
      structuralZeroShare: (0.2 + 0.2 + 0.2 + 1) / 4,
      // The last image's network passes no gradient at all: structural, not masking.
      allZeroGradient: 1,
      excessZeroGradient: 2,
    });
  });
});

describe('RowCursor', () => {
  it('re-chunks record batches into any batch size, keeping list columns aligned', async () => {
    async function* batches() {
      yield { id: Int32Array.of(0, 1, 2), v: Float32Array.of(0, 0, 1, 1, 2, 2) };
      yield { id: Int32Array.of(3, 4), v: Float32Array.of(3, 3, 4, 4) };
    }
    const cursor = new RowCursor(batches(), { v: 2 });
    const first = await cursor.take(4);
    expect(first.flatMap((b) => Array.from(b.id))).toEqual([0, 1, 2, 3]);
    expect(first.flatMap((b) => Array.from(b.v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    const rest = await cursor.take(4);
    expect(rest.flatMap((b) => Array.from(b.id))).toEqual([4]);
    expect(await cursor.take(1)).toEqual([]);
  });
});
