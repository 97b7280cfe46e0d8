/** Per-image and per-bucket metrics: pure functions, unit-tested. */
import { BUCKETS, type BucketMetrics, type BucketName } from '@gradsign/core';

/** top-1 error: the adversarial top-1 is not the true label; top-5 error: the label is not in the top 5. */
export function errors(top: Int32Array, k: number, label: number): { top1: boolean; top5: boolean } {
  return { top1: top[0] !== label, top5: !Array.from(top.subarray(0, Math.min(5, k))).includes(label) };
}

export function perturbationNorms(adv: Float32Array, clean: Float32Array): { linf: number; l2: number } {
  let linf = 0;
  let sq = 0;
  for (let i = 0; i < adv.length; i++) {
    const d = (adv[i] as number) - (clean[i] as number);
    linf = Math.max(linf, Math.abs(d));
    sq += d * d;
  }
  return { linf, l2: Math.sqrt(sq) };
}

export interface ImageMetrics {
  bucket: BucketName;
  top1Error: boolean;
  top5Error: boolean;
  targetHit: boolean;
  linf: number;
  l2: number;
  cleanConfidence: number;
  adversarialTrueProb: number;
  /** Pixel values with a zero attack gradient at the first step, and structural zeros at the clean image, out of `pixels`. */
  zeroGradient: number;
  structuralZeros: number;
  pixels: number;
}

/** The gradient diagnostics of one bucket (see BucketMetrics.diagnostics). */
export function gradientDiagnostics(rows: ImageMetrics[]): BucketMetrics['diagnostics'] {
  const n = Math.max(1, rows.length);
  const count = (f: (x: ImageMetrics) => boolean) => rows.filter(f).length;
  return {
    unperturbed: count((x) => x.linf === 0),
    zeroGradientShare: rows.reduce((s, x) => s + x.zeroGradient / x.pixels, 0) / n,
    structuralZeroShare: rows.reduce((s, x) => s + x.structuralZeros / x.pixels, 0) / n,
    allZeroGradient: count((x) => x.zeroGradient === x.pixels && x.structuralZeros < x.pixels),
    excessZeroGradient: count((x) => x.zeroGradient > x.structuralZeros),
  };
}

/** Aggregates per bucket, in the order low, medium, high; buckets with no images are omitted. */
export function summarize(rows: ImageMetrics[], targeted: boolean): BucketMetrics[] {
  return BUCKETS.flatMap((bucket) => {
    const r = rows.filter((x) => x.bucket === bucket);
    if (r.length === 0) return [];
    const n = r.length;
    const count = (f: (x: ImageMetrics) => boolean) => r.filter(f).length;
    const mean = (f: (x: ImageMetrics) => number) => r.reduce((s, x) => s + f(x), 0) / n;
    const top1Errors = count((x) => x.top1Error);
    const top5Errors = count((x) => x.top5Error);
    return [
      {
        bucket,
        n,
        top1Errors,
        top5Errors,
        top1Error: top1Errors / n,
        top5Error: top5Errors / n,
        targetSuccess: targeted ? count((x) => x.targetHit) / n : null,
        meanLinf: mean((x) => x.linf),
        meanL2: mean((x) => x.l2),
        meanCleanConfidence: mean((x) => x.cleanConfidence),
        meanAdversarialTrueProb: mean((x) => x.adversarialTrueProb),
        diagnostics: gradientDiagnostics(r),
      },
    ];
  });
}
