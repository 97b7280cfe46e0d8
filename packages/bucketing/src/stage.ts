import path from 'node:path';
import { z } from 'zod';
import {
  Backend,
  BatchSize,
  BUCKETS,
  BucketsArtifact,
  BucketsConfig,
  CalibrationConfig,
  CleanPredictionsArtifact,
  DEFAULT_CALIBRATION,
  defineStage,
  TopK,
  log,
  openTestImages,
  parseWith,
  readArtifact,
  withArtifactWriter,
  writeDirAtomic,
  writeFileAtomic,
  type BucketName,
  type BucketingMetadata,
  type TestImages,
} from '@gradsign/core';
import { forwardBatchWork, loadClassifier, modelBatchKey, pixelsToTensor, resolveBatchSize, selectBackend, structuralZeroCounts, tidyRead, type Classifier } from '@gradsign/core/tf';
import { assignBucket, quantileThresholds, sampleBuckets, type Candidate, type Thresholds } from './buckets.ts';
import { predictClean, type CleanSummary } from './predict-clean.ts';

export const BucketingStageConfig = z
  .object({
    buckets: BucketsConfig,
    seed: z.number().int().min(0).default(0),
    batchSize: BatchSize.default(128),
    backend: Backend.default('auto'),
    calibration: CalibrationConfig.default(DEFAULT_CALIBRATION),
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
function chooseBuckets(correct: CleanSummary['correct'], config: BucketingStageConfig) {
  const thresholds: Thresholds = config.buckets.rule === 'quantile' ? quantileThresholds(correct.confidence) : config.buckets.thresholds;
  const candidates: Record<BucketName, Candidate[]> = { low: [], medium: [], high: [] };
  correct.id.forEach((id, row) => {
    const confidence = correct.confidence[row]!;
    candidates[assignBucket(confidence, thresholds)].push({ row, id, confidence });
  });
  const qualified = Object.fromEntries(BUCKETS.map((b) => [b, candidates[b].length])) as Record<BucketName, number>;
  log(`qualified per bucket (${config.buckets.rule}, high ≥ ${fmt(thresholds.high)}, medium ≥ ${fmt(thresholds.medium)}): low ${qualified.low}, medium ${qualified.medium}, high ${qualified.high}`);
  const hint =
    config.buckets.rule === 'thresholds'
      ? 'lower buckets.perBucket, change buckets.thresholds, or use "rule": "quantile" (terciles always fill when enough images are correct)'
      : 'lower buckets.perBucket, or evaluate more test images';
  return { thresholds, qualified, sampled: sampleBuckets(candidates, config.buckets.perBucket, config.seed, hint) };
}

/**
 * bucketing: clean predictions on the test split (streamed) → keep the correctly classified →
 * bucket by top-1 probability → seeded sample of perBucket each → buckets.arrow, the only place
 * the sampled images' pixels are stored (+ clean-predictions.arrow, calibration.arrow).
 */
export async function bucketing(rawConfig: unknown, dataDir: string, modelDir: string, outDir: string): Promise<BucketingMetadata> {
  const config = parseWith(BucketingStageConfig, rawConfig, 'bucketing config');
  const backend = await selectBackend(config.backend);
  const { classifier, info } = await loadClassifier(modelDir);
  const batchSize = await resolveBatchSize(config.batchSize, forwardBatchWork(classifier, backend, await modelBatchKey(modelDir, 'forward')));
  const images = await openTestImages(dataDir);
  let meta: BucketingMetadata | undefined;
  try {
    await writeDirAtomic(outDir, async (tmp) => {
      const predictions = path.join(tmp, 'clean-predictions.arrow');
      const clean = await predictClean(classifier, images, { predictions, calibration: path.join(tmp, 'calibration.arrow') }, { ...config, batchSize });
      checkAccuracy(clean.accuracy, classifier.numClasses);
      log(`calibration split: full scores of ${clean.calibration} of ${clean.accuracy.n} images (seed ${config.seed}) → calibration.arrow`);
      const { thresholds, qualified, sampled } = chooseBuckets(clean.correct, config);
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
      await writeBuckets(classifier, images, predictions, path.join(tmp, 'buckets.arrow'), meta, sampled);
      await writeFileAtomic(path.join(tmp, 'bucketing.json'), JSON.stringify(meta, null, 2) + '\n');
    });
  } finally {
    classifier.dispose();
  }
  return meta!;
}

interface SampledPrediction {
  label: number;
  top5: Int32Array;
  top5Prob: Float32Array;
}

/** The clean predictions of the sampled images, read back from clean-predictions.arrow. */
async function sampledPredictions(file: string, wanted: Set<number>): Promise<Map<number, SampledPrediction>> {
  const out = new Map<number, SampledPrediction>();
  const reader = await readArtifact(CleanPredictionsArtifact, file);
  try {
    for await (const batch of reader.batches()) {
      batch.id.forEach((id, i) => {
        if (wanted.has(id)) out.set(id, { label: batch.label[i]!, top5: batch.top5.slice(i * TopK, (i + 1) * TopK), top5Prob: batch.top5Prob.slice(i * TopK, (i + 1) * TopK) });
      });
    }
  } finally {
    await reader.close();
  }
  return out;
}

/** The pixels of `ids`, in that order: one pass over the split that decodes (or reads) only them. */
async function pixelsOf(images: TestImages, ids: Int32Array): Promise<Uint8Array> {
  const position = new Map(Array.from(ids, (id, i) => [id, i]));
  const image = new Uint8Array(ids.length * images.pixels);
  let found = 0;
  for await (const batch of images.batches({ size: ids.length, keep: (id) => position.has(id) })) {
    batch.id.forEach((id, i) => image.set(batch.image.subarray(i * images.pixels, (i + 1) * images.pixels), position.get(id)! * images.pixels));
    found += batch.id.length;
  }
  if (found !== ids.length) throw new Error(`bucketing: found ${found} of ${ids.length} sampled images in ${images.file}`);
  return image;
}

/** Sampled images per record batch of buckets.arrow (and per pass over the split). */
const CHUNK = 256;

/**
 * Pass 2: the sampled images, bucket by bucket in chunks of CHUNK (so memory holds one chunk, not
 * every sampled image), each with its structural zero-gradient count (the baseline of the attacks'
 * gradient diagnostics). An indexed split decodes only these images.
 */
async function writeBuckets(
  classifier: Classifier,
  images: TestImages,
  predictionsFile: string,
  out: string,
  meta: BucketingMetadata,
  sampled: Record<BucketName, Candidate[]>,
): Promise<void> {
  const predictions = await sampledPredictions(predictionsFile, new Set(BUCKETS.flatMap((b) => sampled[b].map((c) => c.id))));
  await withArtifactWriter(BucketsArtifact, out, meta, { top5: TopK, top5Prob: TopK, image: images.pixels }, async (writer) => {
    for (const bucket of BUCKETS) {
      const chosen = sampled[bucket];
      for (let start = 0; start < chosen.length; start += CHUNK) {
        const part = chosen.slice(start, start + CHUNK);
        const id = Int32Array.from(part, (c) => c.id);
        const image = await pixelsOf(images, id);
        const top5 = new Int32Array(part.length * TopK);
        const top5Prob = new Float32Array(part.length * TopK);
        part.forEach((c, i) => {
          top5.set(predictions.get(c.id)!.top5, i * TopK);
          top5Prob.set(predictions.get(c.id)!.top5Prob, i * TopK);
        });
        const structuralZeros = await tidyRead<Int32Array>(() => structuralZeroCounts(classifier, pixelsToTensor(image, part.length, classifier), id, meta.seed));
        await writer.write({
          id,
          label: Int32Array.from(part, (c) => predictions.get(c.id)!.label),
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
  configExample: '{"buckets": {...}, "seed": 0, "batchSize": 128, "backend": "auto", "calibration": {"count": 1000}}',
  inputs: { data: 'preprocess output directory (test.arrow, or index.arrow of an image folder)', model: 'model directory (model-info.json)' },
  output: 'buckets.arrow, clean-predictions.arrow, calibration.arrow, bucketing.json',
  run: (config, { data, model, out }) => bucketing(config, data, model, out),
});
