/**
 * A small synthetic pipeline output for the report's tests: every artifact the report and the
 * exporter read (model info, bucketing, attacks, evaluations), written with core's writers, with
 * tiny 4×5 grey images and error patterns that are a fixed function of image and combination.
 * Milliseconds to build, so the tests need neither tfjs nor the smoke pipeline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AdversarialArtifact,
  BucketsArtifact,
  BUCKETS,
  CleanPredictionsArtifact,
  expandAttacks,
  MetricsArtifact,
  PipelineConfig,
  writeArtifactBatches,
  type BucketName,
  type EvaluationSummary,
  type ModelInfo,
  type ResolvedAttack,
} from '@gradsign/core';
import { summarize } from '../../evaluate/src/metrics.ts';

export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Gradient diagnostics of a cell with nothing to flag. */
export const NO_DIAGNOSTICS = { unperturbed: 0, zeroGradientShare: 0.1, structuralZeroShare: 0.1, allZeroGradient: 0, excessZeroGradient: 0 };
export const H = 4;
export const W = 5;

export interface Fixture {
  root: string;
  /** The report stage's --config (raw JSON, as the Nx plugin passes it). */
  config: { pipeline: string; config: unknown; combinations: string[] };
  ids: Record<BucketName, number[]>;
}

const thresholds = { medium: 0.6, high: 0.9 };

/** Deterministic pseudo-random in [0,1) from integers. */
function hash01(...xs: number[]): number {
  let h = 2166136261;
  for (const x of xs) {
    h ^= x & 0xffff;
    h = Math.imul(h, 16777619);
    h ^= x >>> 16;
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 100000) / 100000;
}

export async function makeFixture(root: string, options: { eps?: string[]; perBucket?: number; pipeline?: string } = {}): Promise<Fixture> {
  const perBucket = options.perBucket ?? 6;
  const pipeline = options.pipeline ?? 'fixture';
  const raw = {
    seed: 0,
    description: 'synthetic artifacts for the report tests',
    dataset: { kind: 'fashion-mnist', testLimit: 100 },
    model: { kind: 'train', epochs: 1 },
    buckets: { rule: 'quantile', perBucket },
    attacks: [{ methods: ['fgsm', 'bim'], gradients: ['inverse', 'least-likely'], eps: options.eps ?? ['4/255', '8/255'] }],
  };
  const pipelineConfig = PipelineConfig.parse(raw);
  const combos = expandAttacks(pipelineConfig.attacks);

  // 120 "evaluated" test images: ids 0..119, label id % 10; correct unless id % 7 === 3.
  const n = 120;
  const clean = Array.from({ length: n }, (_, id) => {
    const correct = id % 7 !== 3;
    const confidence = 0.3 + 0.7 * hash01(id, 1);
    return { id, label: id % 10, correct, confidence };
  });
  const bucketOf = (c: number): BucketName => (c >= thresholds.high ? 'high' : c >= thresholds.medium ? 'medium' : 'low');
  const ids: Record<BucketName, number[]> = { low: [], medium: [], high: [] };
  for (const c of clean) if (c.correct) ids[bucketOf(c.confidence)].push(c.id);
  for (const b of BUCKETS) {
    if (ids[b].length < perBucket) throw new Error(`fixture: bucket ${b} has only ${ids[b].length} images`);
    ids[b] = ids[b].slice(0, perBucket);
  }
  const sampled = BUCKETS.flatMap((b) => ids[b].map((id) => ({ ...clean[id]!, bucket: b })));
  const firstHighId = ids.high[0]!;
  const structuralZerosOf = (id: number) => Math.floor(H * W * 0.3 * hash01(id, 11));
  const pixels = (id: number) => Uint8Array.from({ length: H * W }, (_, i) => Math.round(255 * hash01(id, i, 7)));
  const top5Of = (label: number) => Int32Array.from([label, (label + 1) % 10, (label + 2) % 10, (label + 3) % 10, (label + 4) % 10]);

  const model: ModelInfo = {
    schemaVersion: 1,
    source: 'trained',
    description: 'fixture CNN',
    format: 'layers',
    input: { height: H, width: W, channels: 1 },
    normalization: 'unit',
    output: 'logits',
    lossScores: 'logits',
    labelOffset: 0,
    numClasses: 10,
    classNames: CLASS_NAMES,
    testAccuracy: 0.9,
    backend: 'cpu',
  };
  const correctCount = clean.filter((c) => c.correct).length;
  const qualified = Object.fromEntries(BUCKETS.map((b) => [b, clean.filter((c) => c.correct && bucketOf(c.confidence) === b).length]));
  const bucketing = {
    rule: 'quantile' as const,
    thresholds,
    perBucket,
    seed: 0,
    height: H,
    width: W,
    channels: 1,
    classNames: CLASS_NAMES,
    numClasses: 10,
    cleanAccuracy: { n, top1: correctCount / n, top5: 1 },
    qualified: qualified as Record<BucketName, number>,
  };
  await mkdir(path.join(root, 'model'), { recursive: true });
  await writeFile(path.join(root, 'model', 'model-info.json'), JSON.stringify(model, null, 2));
  await mkdir(path.join(root, 'bucketing'), { recursive: true });
  await writeFile(path.join(root, 'bucketing', 'bucketing.json'), JSON.stringify(bucketing, null, 2));
  await writeArtifactBatches(CleanPredictionsArtifact, path.join(root, 'bucketing', 'clean-predictions.arrow'), { numClasses: 10, scores: 'logits' }, { top5: 5, top5Prob: 5, topScores: 2 }, [
    {
      id: Int32Array.from(clean.map((c) => c.id)),
      label: Int32Array.from(clean.map((c) => c.label)),
      correct: Uint8Array.from(clean.map((c) => (c.correct ? 1 : 0))),
      confidence: Float32Array.from(clean.map((c) => c.confidence)),
      top5: Int32Array.from(clean.flatMap((c) => [...top5Of(c.correct ? c.label : (c.label + 1) % 10)])),
      top5Prob: Float32Array.from(clean.flatMap((c) => [c.confidence, 0.05, 0.04, 0.03, 0.02])),
      topScores: Float32Array.from(clean.flatMap((c) => [Math.log(c.confidence), Math.log(0.05)])),
      logSumExp: new Float32Array(clean.length),
      calibration: new Uint8Array(clean.length),
    },
  ]);
  await writeArtifactBatches(BucketsArtifact, path.join(root, 'bucketing', 'buckets.arrow'), bucketing, { top5: 5, top5Prob: 5, image: H * W }, [
    {
      id: Int32Array.from(sampled.map((s) => s.id)),
      label: Int32Array.from(sampled.map((s) => s.label)),
      bucket: sampled.map((s) => s.bucket),
      confidence: Float32Array.from(sampled.map((s) => s.confidence)),
      top5: Int32Array.from(sampled.flatMap((s) => [...top5Of(s.label)])),
      top5Prob: Float32Array.from(sampled.flatMap((s) => [s.confidence, 0.05, 0.04, 0.03, 0.02])),
      structuralZeros: Int32Array.from(sampled.map((s) => structuralZerosOf(s.id))),
      image: Uint8Array.from(sampled.flatMap((s) => [...pixels(s.id)])),
    },
  ]);

  for (const [ci, combo] of combos.entries()) {
    const steps = combo.method === 'fgsm' ? 1 : 10;
    const attack: ResolvedAttack = { ...combo, targeted: combo.gradient !== 'inverse', steps, alpha: combo.method === 'fgsm' ? combo.eps : 1 / 255 };
    const strength = (combo.method === 'bim' ? 0.25 : 0) + (combo.gradient === 'inverse' ? 0.2 : 0) + combo.eps * 255 * 0.03;
    const rows = sampled.map((s) => {
      const vulnerability = s.bucket === 'low' ? 0.5 : s.bucket === 'medium' ? 0.3 : 0.1;
      const top1Error = hash01(s.id, 99) < vulnerability + strength;
      const top5Error = top1Error && hash01(s.id, 98) < 0.3 + strength / 2;
      const target = attack.targeted ? (s.label + 4) % 10 : s.label;
      const predicted = top1Error ? (s.label + 4) % 10 : s.label;
      const top5 = top5Error ? Int32Array.from([predicted, (s.label + 5) % 10, (s.label + 6) % 10, (s.label + 7) % 10, (s.label + 8) % 10]) : top1Error ? Int32Array.from([predicted, s.label, (s.label + 1) % 10, (s.label + 2) % 10, (s.label + 3) % 10]) : top5Of(s.label);
      const p1 = 0.4 + 0.5 * hash01(s.id, ci, 3);
      const trueProb = top1Error ? (top5Error ? 0.001 : (1 - p1) / 2) : p1;
      const clean01 = pixels(s.id);
      // The first combination's first high-confidence image: an all-zero gradient, left unperturbed.
      const masked = ci === 0 && s.id === firstHighId;
      const adv = Float32Array.from(clean01, (v, i) => (masked ? v / 255 : Math.min(1, Math.max(0, v / 255 + (hash01(s.id, i, ci) < 0.5 ? -combo.eps : combo.eps)))));
      const structuralZeros = structuralZerosOf(s.id);
      const zeroGradient = masked ? H * W : structuralZeros;
      let linf = 0;
      let sq = 0;
      adv.forEach((v, i) => {
        const d = v - Math.fround(clean01[i]! / 255); // float32 clean pixels, as evaluate compares them
        linf = Math.max(linf, Math.abs(d));
        sq += d * d;
      });
      return { ...s, top1Error, top5Error, target, top5, top5Prob: Float32Array.from([p1, (1 - p1) / 2, 0.05, 0.03, 0.01]), trueProb, adv, linf, l2: Math.sqrt(sq), targetHit: attack.targeted && predicted === target, zeroGradient, structuralZeros };
    });
    await writeArtifactBatches(
      AdversarialArtifact,
      path.join(root, 'attacks', combo.id, 'adversarial.arrow'),
      { attack, seed: 0, backend: 'cpu', height: H, width: W, channels: 1, classNames: CLASS_NAMES },
      { image: H * W },
      [
        {
          id: Int32Array.from(rows.map((r) => r.id)),
          label: Int32Array.from(rows.map((r) => r.label)),
          bucket: rows.map((r) => r.bucket),
          target: Int32Array.from(rows.map((r) => r.target)),
          zeroGradient: Int32Array.from(rows.map((r) => r.zeroGradient)),
          image: Float32Array.from(rows.flatMap((r) => [...r.adv])),
        },
      ],
    );
    await writeArtifactBatches(
      MetricsArtifact,
      path.join(root, 'evaluate', combo.id, 'metrics.arrow'),
      { attack, quantize: false },
      { top5: 5, top5Prob: 5 },
      [
        {
          id: Int32Array.from(rows.map((r) => r.id)),
          label: Int32Array.from(rows.map((r) => r.label)),
          bucket: rows.map((r) => r.bucket),
          target: Int32Array.from(rows.map((r) => r.target)),
          top5: Int32Array.from(rows.flatMap((r) => [...r.top5])),
          top5Prob: Float32Array.from(rows.flatMap((r) => [...r.top5Prob])),
          cleanConfidence: Float32Array.from(rows.map((r) => r.confidence)),
          adversarialTrueProb: Float32Array.from(rows.map((r) => r.trueProb)),
          top1Error: Uint8Array.from(rows.map((r) => (r.top1Error ? 1 : 0))),
          top5Error: Uint8Array.from(rows.map((r) => (r.top5Error ? 1 : 0))),
          targetHit: Uint8Array.from(rows.map((r) => (r.targetHit ? 1 : 0))),
          linf: Float32Array.from(rows.map((r) => r.linf)),
          l2: Float32Array.from(rows.map((r) => r.l2)),
          zeroGradient: Int32Array.from(rows.map((r) => r.zeroGradient)),
          structuralZeros: Int32Array.from(rows.map((r) => r.structuralZeros)),
        },
      ],
    );
    // The evaluate stage's own aggregation, so the fixture cannot drift from it.
    const buckets = summarize(
      rows.map((r) => ({ ...r, cleanConfidence: r.confidence, adversarialTrueProb: r.trueProb, pixels: H * W })),
      attack.targeted,
    );
    const summary: EvaluationSummary = { schemaVersion: 2, attack, quantize: false, backends: { attacks: 'cpu', evaluate: 'cpu' }, buckets };
    await writeFile(path.join(root, 'evaluate', combo.id, 'summary.json'), JSON.stringify(summary, null, 2));
  }
  return { root, config: { pipeline, config: raw, combinations: combos.map((c) => c.id) }, ids };
}
