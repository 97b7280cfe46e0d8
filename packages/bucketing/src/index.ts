import path from 'node:path';
import { z } from 'zod';
import {
  Backend,
  BUCKETS,
  BucketsArtifact,
  BucketsConfig,
  CleanPredictionsArtifact,
  ImagesArtifact,
  Progress,
  TopK,
  log,
  parseWith,
  readArtifact,
  writeArtifact,
  writeDirAtomic,
  writeFileAtomic,
  type BucketName,
  type BucketingMetadata,
} from '@gradsign/core';
import { loadClassifier, predictTopK, selectBackend } from '@gradsign/core/tf';
import { assignBucket, quantileThresholds, sampleBuckets, type Candidate, type Thresholds } from './buckets.ts';

export * from './buckets.ts';

export const BucketingStageConfig = z
  .object({
    buckets: BucketsConfig,
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().default(128),
    backend: Backend.default('auto'),
  })
  .strict();

/**
 * bucketing: clean predictions on the test split → keep the correctly classified → bucket by
 * top-1 probability → seeded sample of perBucket each → buckets.arrow (+ clean-predictions.arrow).
 */
export async function bucketing(rawConfig: unknown, dataDir: string, modelDir: string, outDir: string): Promise<BucketingMetadata> {
  const config = parseWith(BucketingStageConfig, rawConfig, 'bucketing config');
  await selectBackend(config.backend);
  const { classifier, info } = await loadClassifier(modelDir);
  const testFile = path.join(dataDir, 'test.arrow');

  // Pass 1: predict every test image; keep only what bucketing needs (not the pixels).
  const images = await readArtifact(ImagesArtifact, testFile);
  const meta = images.metadata;
  const pixels = images.listSizes.image as number;
  const rows: { id: number; label: number; correct: boolean; confidence: number; top5: Int32Array; top5Prob: Float32Array }[] = [];
  let top1 = 0;
  let top5 = 0;
  const progress = new Progress('clean predictions', Number.NaN, 'img');
  await writeDirAtomic(outDir, async (tmp) => {
    const cleanWriter = await writeArtifact(CleanPredictionsArtifact, path.join(tmp, 'clean-predictions.arrow'), { numClasses: classifier.numClasses }, { top5: TopK, top5Prob: TopK });
    try {
      for await (const batch of images.batches()) {
        for (let start = 0; start < batch.id.length; start += config.batchSize) {
          const end = Math.min(batch.id.length, start + config.batchSize);
          const n = end - start;
          const labels = batch.label.subarray(start, end);
          const top = predictTopK(classifier, batch.image.subarray(start * pixels, end * pixels), n, TopK);
          const correct = new Uint8Array(n);
          for (let i = 0; i < n; i++) {
            const label = labels[i] as number;
            const classes = top.indices.subarray(i * top.k, (i + 1) * top.k);
            correct[i] = classes[0] === label ? 1 : 0;
            top1 += correct[i] as number;
            if (classes.includes(label)) top5++;
            rows.push({
              id: batch.id[start + i] as number,
              label,
              correct: correct[i] === 1,
              confidence: top.confidence[i] as number,
              top5: classes.slice(),
              top5Prob: top.probs.slice(i * top.k, (i + 1) * top.k),
            });
          }
          await cleanWriter.write({
            id: batch.id.slice(start, end),
            label: labels.slice(),
            correct,
            confidence: Float32Array.from(top.confidence),
            top5: top.indices,
            top5Prob: top.probs,
          });
          progress.tick(n);
        }
      }
      await cleanWriter.close();
      progress.finish();
    } catch (error) {
      await cleanWriter.abort();
      throw error;
    } finally {
      await images.close();
    }
    const n = rows.length;
    const accuracy = { n, top1: top1 / n, top5: top5 / n };
    log(`clean accuracy on ${n} test images: top-1 ${(accuracy.top1 * 100).toFixed(2)}%, top-5 ${(accuracy.top5 * 100).toFixed(2)}%`);
    const chance = 1 / classifier.numClasses;
    if (accuracy.top1 < Math.min(0.2, 5 * chance)) {
      log(
        `warning: clean top-1 accuracy ${(accuracy.top1 * 100).toFixed(2)}% is implausibly low (chance is ${(chance * 100).toFixed(2)}%): ` +
          'check the label mapping (label file order, labelOffset, ILSVRC2012 synset mapping) and the preprocessing preset',
      );
    }

    // Bucket the correct ones and sample.
    const correctRows = rows.map((r, row) => ({ ...r, row })).filter((r) => r.correct);
    const thresholds: Thresholds =
      config.buckets.rule === 'quantile' ? quantileThresholds(correctRows.map((r) => r.confidence)) : config.buckets.thresholds;
    const candidates: Record<BucketName, Candidate[]> = { low: [], medium: [], high: [] };
    for (const r of correctRows) candidates[assignBucket(r.confidence, thresholds)].push({ row: r.row, id: r.id, confidence: r.confidence });
    const qualified = Object.fromEntries(BUCKETS.map((b) => [b, candidates[b].length])) as Record<BucketName, number>;
    log(`qualified per bucket (${config.buckets.rule}, high ≥ ${fmt(thresholds.high)}, medium ≥ ${fmt(thresholds.medium)}): low ${qualified.low}, medium ${qualified.medium}, high ${qualified.high}`);
    const hint =
      config.buckets.rule === 'thresholds'
        ? 'lower buckets.perBucket, change buckets.thresholds, or use "rule": "quantile" (terciles always fill when enough images are correct)'
        : 'lower buckets.perBucket, or evaluate more test images';
    const sampled = sampleBuckets(candidates, config.buckets.perBucket, config.seed, hint);

    const bucketMeta: BucketingMetadata = {
      rule: config.buckets.rule,
      thresholds,
      perBucket: config.buckets.perBucket,
      seed: config.seed,
      height: meta.height,
      width: meta.width,
      channels: meta.channels,
      classNames: info.classNames,
      numClasses: classifier.numClasses,
      cleanAccuracy: accuracy,
      qualified,
    };
    await writeBuckets(testFile, path.join(tmp, 'buckets.arrow'), bucketMeta, sampled, rows, pixels);
    await writeFileAtomic(path.join(tmp, 'bucketing.json'), JSON.stringify(bucketMeta, null, 2) + '\n');
  });
  classifier.dispose();
  return parseWith(BucketsArtifact.metadata, (await readArtifact(BucketsArtifact, path.join(outDir, 'buckets.arrow'))).metadata, 'buckets');
}

const fmt = (x: number) => Number(x.toPrecision(6)).toString();

/** Pass 2: stream the test split again and copy the sampled images, bucket by bucket. */
async function writeBuckets(
  testFile: string,
  out: string,
  meta: BucketingMetadata,
  sampled: Record<BucketName, Candidate[]>,
  rows: { id: number; label: number; top5: Int32Array; top5Prob: Float32Array; confidence: number }[],
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
  const writer = await writeArtifact(BucketsArtifact, out, meta, { top5: TopK, top5Prob: TopK, image: pixels });
  try {
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
        await writer.write({
          id: Int32Array.from(part, (c) => c.id),
          label: Int32Array.from(part, (c) => rows[c.row]!.label),
          bucket: part.map(() => bucket),
          confidence: Float32Array.from(part, (c) => c.confidence),
          top5,
          top5Prob,
          image,
        });
      }
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
