import path from 'node:path';
import { z } from 'zod';
import {
  Backend,
  BatchSize,
  BUCKETS,
  BucketsArtifact,
  BucketsConfig,
  ImagesArtifact,
  defineStage,
  TopK,
  log,
  parseWith,
  readArtifact,
  withArtifactWriter,
  writeDirAtomic,
  writeFileAtomic,
  type BucketName,
  type BucketingMetadata,
} from '@gradsign/core';
import { forwardBatchWork, loadClassifier, modelBatchKey, pixelsToTensor, resolveBatchSize, selectBackend, structuralZeroCounts, tidyRead, type Classifier } from '@gradsign/core/tf';
import { assignBucket, quantileThresholds, sampleBuckets, type Candidate, type Thresholds } from './buckets.ts';
import { predictClean, type CleanRow } from './predict-clean.ts';

export const BucketingStageConfig = z
  .object({
    buckets: BucketsConfig,
    seed: z.number().int().min(0).default(0),
    batchSize: BatchSize.default(128),
    backend: Backend.default('auto'),
  })
  .strict();
type BucketingStageConfig = z.infer<typeof BucketingStageConfig>;

const fmt = (x: number) => Number(x.toPrecision(6)).toString();

/** Warns when clean accuracy is implausibly low: usually a wrong label mapping or preprocessing. */
function checkAccuracy(accuracy: { n: number; top1: number; top5: number }, numClasses: number): void {
  log(`clean accuracy on ${accuracy.n} test images: top-1 ${(accuracy.top1 * 100).toFixed(2)}%, top-5 ${(accuracy.top5 * 100).toFixed(2)}%`);
  const chance = 1 / numClasses;
  if (accuracy.top1 < Math.min(0.2, 5 * chance)) {
    log(
      `warning: clean top-1 accuracy ${(accuracy.top1 * 100).toFixed(2)}% is implausibly low (chance is ${(chance * 100).toFixed(2)}%): ` +
        'check the label mapping (label file order, labelOffset, ILSVRC2012 synset mapping) and the preprocessing preset',
    );
  }
}

/** Buckets the correctly classified images and draws the seeded sample of each bucket. */
function chooseBuckets(rows: CleanRow[], config: BucketingStageConfig) {
  const correct = rows.map((r, row) => ({ ...r, row })).filter((r) => r.correct);
  const thresholds: Thresholds =
    config.buckets.rule === 'quantile' ? quantileThresholds(correct.map((r) => r.confidence)) : config.buckets.thresholds;
  const candidates: Record<BucketName, Candidate[]> = { low: [], medium: [], high: [] };
  for (const r of correct) candidates[assignBucket(r.confidence, thresholds)].push({ row: r.row, id: r.id, confidence: r.confidence });
  const qualified = Object.fromEntries(BUCKETS.map((b) => [b, candidates[b].length])) as Record<BucketName, number>;
  log(`qualified per bucket (${config.buckets.rule}, high ≥ ${fmt(thresholds.high)}, medium ≥ ${fmt(thresholds.medium)}): low ${qualified.low}, medium ${qualified.medium}, high ${qualified.high}`);
  const hint =
    config.buckets.rule === 'thresholds'
      ? 'lower buckets.perBucket, change buckets.thresholds, or use "rule": "quantile" (terciles always fill when enough images are correct)'
      : 'lower buckets.perBucket, or evaluate more test images';
  return { thresholds, qualified, sampled: sampleBuckets(candidates, config.buckets.perBucket, config.seed, hint) };
}

/**
 * bucketing: clean predictions on the test split → keep the correctly classified → bucket by
 * top-1 probability → seeded sample of perBucket each → buckets.arrow (+ clean-predictions.arrow).
 */
export async function bucketing(rawConfig: unknown, dataDir: string, modelDir: string, outDir: string): Promise<BucketingMetadata> {
  const config = parseWith(BucketingStageConfig, rawConfig, 'bucketing config');
  const backend = await selectBackend(config.backend);
  const { classifier, info } = await loadClassifier(modelDir);
  const batchSize = await resolveBatchSize(config.batchSize, forwardBatchWork(classifier, backend, await modelBatchKey(modelDir, 'forward')));
  const testFile = path.join(dataDir, 'test.arrow');
  let meta: BucketingMetadata | undefined;
  try {
    await writeDirAtomic(outDir, async (tmp) => {
      const clean = await predictClean(classifier, testFile, path.join(tmp, 'clean-predictions.arrow'), batchSize);
      checkAccuracy(clean.accuracy, classifier.numClasses);
      const { thresholds, qualified, sampled } = chooseBuckets(clean.rows, config);
      meta = {
        rule: config.buckets.rule,
        thresholds,
        perBucket: config.buckets.perBucket,
        seed: config.seed,
        height: classifier.height,
        width: classifier.width,
        channels: classifier.channels,
        classNames: info.classNames,
        numClasses: classifier.numClasses,
        cleanAccuracy: clean.accuracy,
        qualified,
      };
      await writeBuckets(classifier, testFile, path.join(tmp, 'buckets.arrow'), meta, sampled, clean.rows, clean.pixels);
      await writeFileAtomic(path.join(tmp, 'bucketing.json'), JSON.stringify(meta, null, 2) + '\n');
    });
  } finally {
    classifier.dispose();
  }
  return meta!;
}

/**
 * Pass 2: stream the test split again, copy the sampled images, and write them bucket by bucket,
 * each with its structural zero-gradient count (the baseline of the attacks' gradient diagnostics).
 */
async function writeBuckets(
  classifier: Classifier,
  testFile: string,
  out: string,
  meta: BucketingMetadata,
  sampled: Record<BucketName, Candidate[]>,
  rows: CleanRow[],
  pixels: number,
): Promise<void> {
  const wanted = new Map<number, Uint8Array>();
  for (const b of BUCKETS) for (const c of sampled[b]) wanted.set(c.id, new Uint8Array(0));
  const images = await readArtifact(ImagesArtifact, testFile);
  try {
    for await (const batch of images.batches()) {
      batch.id.forEach((id, i) => {
        if (wanted.has(id)) wanted.set(id, batch.image.slice(i * pixels, (i + 1) * pixels));
      });
    }
  } finally {
    await images.close();
  }
  await withArtifactWriter(BucketsArtifact, out, meta, { top5: TopK, top5Prob: TopK, image: pixels }, async (writer) => {
    for (const bucket of BUCKETS) {
      const chosen = sampled[bucket];
      for (let start = 0; start < chosen.length; start += 256) {
        const part = chosen.slice(start, start + 256);
        const image = new Uint8Array(part.length * pixels);
        const top5 = new Int32Array(part.length * TopK);
        const top5Prob = new Float32Array(part.length * TopK);
        part.forEach((c, i) => {
          const r = rows[c.row]!;
          image.set(wanted.get(c.id)!, i * pixels);
          top5.set(r.top5, i * TopK);
          top5Prob.set(r.top5Prob, i * TopK);
        });
        const id = Int32Array.from(part, (c) => c.id);
        const structuralZeros = await tidyRead<Int32Array>(() => structuralZeroCounts(classifier, pixelsToTensor(image, part.length, classifier), id, meta.seed));
        await writer.write({
          id,
          label: Int32Array.from(part, (c) => rows[c.row]!.label),
          bucket: part.map(() => bucket),
          confidence: Float32Array.from(part, (c) => c.confidence),
          top5,
          top5Prob,
          structuralZeros,
          image,
        });
      }
    }
  });
}

export const bucketingStage = defineStage({
  name: 'gradsign-bucketing',
  summary: 'predict the clean test split, keep correct images, bucket them by confidence and sample each bucket',
  config: BucketingStageConfig,
  configExample: '{"buckets": {...}, "seed": 0, "batchSize": 128, "backend": "auto"}',
  inputs: { data: 'preprocess output directory (test.arrow)', model: 'model directory (model-info.json)' },
  output: 'buckets.arrow, clean-predictions.arrow, bucketing.json',
  run: (config, { data, model, out }) => bucketing(config, data, model, out),
});
