import path from 'node:path';
import { z } from 'zod';
import {
  AdversarialArtifact,
  Backend,
  BatchSize,
  BucketsArtifact,
  EvaluateConfig,
  EvaluationSummary,
  GradsignError,
  MetricsArtifact,
  Progress,
  TopK,
  concatBatches,
  toUnitFloat,
  defineStage,
  quantize,
  log,
  withArtifactWriter,
  type Batch,
  parseWith,
  readArtifact,
  writeDirAtomic,
  writeFileAtomic,
  type BucketName,
} from '@gradsign/core';
import { describeBackend, forwardBatchWork, loadClassifier, modelBatchKey, predictTopK, resolveBatchSize, selectBackend, type Classifier } from '@gradsign/core/tf';
import { errors, perturbationNorms, summarize, type ImageMetrics } from './metrics.ts';
import { RowCursor } from './rows.ts';

export const EvaluateStageConfig = z
  .object({
    evaluate: EvaluateConfig,
    batchSize: BatchSize.default(128),
    backend: Backend.default('auto'),
  })
  .strict();

type MetricsBatch = Batch<typeof MetricsArtifact.columns>;

/** Metrics of one batch of adversarial images against their clean rows (same ids, same order). */
async function measureBatch(
  classifier: Classifier,
  images: Float32Array,
  clean: Batch<typeof BucketsArtifact.columns>,
  adv: { id: Int32Array; label: Int32Array; target: Int32Array; bucket: string[]; zeroGradient: Int32Array },
  pixels: number,
): Promise<{ batch: MetricsBatch; rows: ImageMetrics[] }> {
  const n = adv.id.length;
  const top = await predictTopK(classifier, images, n, TopK, adv.label);
  const rows: ImageMetrics[] = [];
  for (let i = 0; i < n; i++) {
    const cleanPixels = toUnitFloat(clean.image.subarray(i * pixels, (i + 1) * pixels));
    const e = errors(top.indices.subarray(i * top.k, (i + 1) * top.k), top.k, adv.label[i] as number);
    const norms = perturbationNorms(images.subarray(i * pixels, (i + 1) * pixels), cleanPixels);
    rows.push({
      bucket: adv.bucket[i] as BucketName,
      top1Error: e.top1,
      top5Error: e.top5,
      targetHit: top.indices[i * top.k] === adv.target[i],
      linf: norms.linf,
      l2: norms.l2,
      cleanConfidence: clean.confidence[i] as number,
      adversarialTrueProb: top.labelProb![i] as number,
      zeroGradient: adv.zeroGradient[i] as number,
      structuralZeros: clean.structuralZeros[i] as number,
      pixels,
    });
  }
  const flag = (f: (m: ImageMetrics) => boolean) => Uint8Array.from(rows, (m) => +f(m));
  const batch: MetricsBatch = {
    id: adv.id,
    label: adv.label,
    bucket: adv.bucket,
    target: adv.target,
    top5: top.indices,
    top5Prob: top.probs,
    cleanConfidence: clean.confidence,
    adversarialTrueProb: Float32Array.from(rows, (m) => m.adversarialTrueProb),
    top1Error: flag((m) => m.top1Error),
    top5Error: flag((m) => m.top5Error),
    targetHit: flag((m) => m.targetHit),
    linf: Float32Array.from(rows, (m) => m.linf),
    l2: Float32Array.from(rows, (m) => m.l2),
    zeroGradient: adv.zeroGradient,
    structuralZeros: clean.structuralZeros,
  };
  return { batch, rows };
}

/** evaluate: adversarial images → per-image metrics.arrow + per-bucket summary.json. */
export async function evaluate(rawConfig: unknown, attackDir: string, bucketsDir: string, modelDir: string, outDir: string): Promise<EvaluationSummary> {
  const config = parseWith(EvaluateStageConfig, rawConfig, 'evaluate config');
  const resolved = await selectBackend(config.backend);
  const backend = describeBackend(resolved);
  const { classifier } = await loadClassifier(modelDir);
  const batchSize = await resolveBatchSize(config.batchSize, forwardBatchWork(classifier, resolved, await modelBatchKey(modelDir, 'forward')));
  const adversarial = await readArtifact(AdversarialArtifact, path.join(attackDir, 'adversarial.arrow'));
  const buckets = await readArtifact(BucketsArtifact, path.join(bucketsDir, 'buckets.arrow'));
  const attack = adversarial.metadata.attack;
  const pixels = adversarial.listSizes.image as number;
  const clean = new RowCursor(buckets.batches(), { image: pixels, top5: TopK, top5Prob: TopK });
  const rows: ImageMetrics[] = [];
  const progress = new Progress(`evaluate ${attack.id}`, Number.NaN, 'img');
  let summary: EvaluationSummary | undefined;
  try {
    await writeDirAtomic(outDir, async (tmp) => {
      const meta = { attack, quantize: config.evaluate.quantize };
      await withArtifactWriter(MetricsArtifact, path.join(tmp, 'metrics.arrow'), meta, { top5: TopK, top5Prob: TopK }, async (writer) => {
        for await (const adv of adversarial.batches()) {
          for (let start = 0; start < adv.id.length; start += batchSize) {
            const end = Math.min(adv.id.length, start + batchSize);
            const ids = adv.id.slice(start, end);
            const ref = concatBatches(BucketsArtifact, await clean.take(end - start));
            if (ref.id.length !== ids.length || ref.id.some((id, i) => id !== ids[i])) {
              throw new GradsignError(`${adversarial.path} does not match ${buckets.path} row for row`, {
                hint: 'the attack ran on other buckets: rerun the attacks stage (npx nx run pipeline:<name>)',
              });
            }
            const raw = adv.image.subarray(start * pixels, end * pixels);
            const images = config.evaluate.quantize ? quantize(raw) : raw;
            const measured = await measureBatch(classifier, images, ref, {
              id: ids,
              label: adv.label.slice(start, end),
              target: adv.target.slice(start, end),
              bucket: adv.bucket.slice(start, end),
              zeroGradient: adv.zeroGradient.slice(start, end),
            }, pixels);
            rows.push(...measured.rows);
            await writer.write(measured.batch);
            progress.tick(ids.length);
          }
        }
      });
      progress.finish();
      summary = { schemaVersion: 2, attack, quantize: config.evaluate.quantize, backends: { attacks: adversarial.metadata.backend, evaluate: backend }, buckets: summarize(rows, attack.targeted) };
      await writeFileAtomic(path.join(tmp, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      for (const b of summary.buckets) {
        const d = b.diagnostics;
        log(
          `${attack.id} ${b.bucket}: n=${b.n} top-1 error ${(b.top1Error * 100).toFixed(1)}%, top-5 error ${(b.top5Error * 100).toFixed(1)}%; ` +
            `unperturbed ${d.unperturbed}, zero gradient ${(d.zeroGradientShare * 100).toFixed(2)}% of pixels (structural ${(d.structuralZeroShare * 100).toFixed(2)}%)`,
        );
      }
    });
  } finally {
    await adversarial.close();
    await buckets.close();
    classifier.dispose();
  }
  return summary!;
}

export const evaluateStage = defineStage({
  name: 'gradsign-evaluate',
  summary: 'classify adversarial images → per-image metrics.arrow and per-bucket top-1/top-5 error (summary.json)',
  config: EvaluateStageConfig,
  configExample: '{"evaluate": {"quantize": false}, "batchSize": 128, "backend": "auto"}',
  inputs: { attack: 'attack output directory (adversarial.arrow)', buckets: 'bucketing output directory (buckets.arrow)', model: 'model directory' },
  output: 'metrics.arrow, summary.json',
  run: (config, { attack, buckets, model, out }) => evaluate(config, attack, buckets, model, out),
});
