import path from 'node:path';
import { z } from 'zod';
import {
  AdversarialArtifact,
  Backend,
  BucketsArtifact,
  EvaluateConfig,
  EvaluationSummary,
  GradsignError,
  MetricsArtifact,
  Progress,
  TopK,
  concatBatches,
  log,
  parseWith,
  readArtifact,
  writeArtifact,
  writeDirAtomic,
  writeFileAtomic,
  type BucketName,
} from '@gradsign/core';
import { loadClassifier, predictTopK, selectBackend } from '@gradsign/core/tf';
import { errors, perturbationNorms, quantize, summarize, type ImageMetrics } from './metrics.ts';
import { RowCursor } from './rows.ts';

export * from './metrics.ts';
export * from './rows.ts';

export const EvaluateStageConfig = z
  .object({
    evaluate: EvaluateConfig,
    batchSize: z.number().int().positive().default(128),
    backend: Backend.default('auto'),
  })
  .strict();

/** evaluate: adversarial images → per-image metrics.arrow + per-bucket summary.json. */
export async function evaluate(rawConfig: unknown, attackDir: string, bucketsDir: string, modelDir: string, outDir: string): Promise<EvaluationSummary> {
  const config = parseWith(EvaluateStageConfig, rawConfig, 'evaluate config');
  await selectBackend(config.backend);
  const { classifier } = await loadClassifier(modelDir);
  const adversarial = await readArtifact(AdversarialArtifact, path.join(attackDir, 'adversarial.arrow'));
  const buckets = await readArtifact(BucketsArtifact, path.join(bucketsDir, 'buckets.arrow'));
  const attack = adversarial.metadata.attack;
  const pixels = adversarial.listSizes.image as number;
  const clean = new RowCursor(buckets.batches(), { image: pixels, top5: TopK, top5Prob: TopK });
  const rows: ImageMetrics[] = [];
  const progress = new Progress(`evaluate ${attack.id}`, Number.NaN, 'img');
  try {
    await writeDirAtomic(outDir, async (tmp) => {
      const writer = await writeArtifact(MetricsArtifact, path.join(tmp, 'metrics.arrow'), { attack, quantize: config.evaluate.quantize }, { top5: TopK, top5Prob: TopK });
      try {
        for await (const adv of adversarial.batches()) {
          for (let start = 0; start < adv.id.length; start += config.batchSize) {
            const end = Math.min(adv.id.length, start + config.batchSize);
            const n = end - start;
            const ref = concatBatches(BucketsArtifact, await clean.take(n));
            const ids = adv.id.subarray(start, end);
            if (ref.id.length !== n || ref.id.some((id, i) => id !== ids[i])) {
              throw new GradsignError(`${adversarial.path} does not match ${buckets.path} row for row`, {
                hint: 'the attack ran on other buckets: rerun the attacks stage (npx nx run pipeline:<name>)',
              });
            }
            const raw = adv.image.subarray(start * pixels, end * pixels);
            const images = config.evaluate.quantize ? quantize(raw) : raw;
            const labels = adv.label.subarray(start, end);
            const targets = adv.target.subarray(start, end);
            const top = predictTopK(classifier, images, n, TopK, labels);
            const out = {
              top1Error: new Uint8Array(n),
              top5Error: new Uint8Array(n),
              targetHit: new Uint8Array(n),
              linf: new Float32Array(n),
              l2: new Float32Array(n),
              adversarialTrueProb: new Float32Array(n),
            };
            for (let i = 0; i < n; i++) {
              const cleanPixels = Float32Array.from(ref.image.subarray(i * pixels, (i + 1) * pixels), (v) => v / 255);
              const e = errors(top.indices.subarray(i * top.k, (i + 1) * top.k), top.k, labels[i] as number);
              const norms = perturbationNorms(images.subarray(i * pixels, (i + 1) * pixels), cleanPixels);
              const m: ImageMetrics = {
                bucket: adv.bucket[start + i] as BucketName,
                top1Error: e.top1,
                top5Error: e.top5,
                targetHit: top.indices[i * top.k] === targets[i],
                linf: norms.linf,
                l2: norms.l2,
                cleanConfidence: ref.confidence[i] as number,
                adversarialTrueProb: top.labelProb![i] as number,
              };
              rows.push(m);
              out.top1Error[i] = +m.top1Error;
              out.top5Error[i] = +m.top5Error;
              out.targetHit[i] = +m.targetHit;
              out.linf[i] = m.linf;
              out.l2[i] = m.l2;
              out.adversarialTrueProb[i] = m.adversarialTrueProb;
            }
            await writer.write({
              id: ids.slice(),
              label: labels.slice(),
              bucket: adv.bucket.slice(start, end),
              target: targets.slice(),
              top5: top.indices,
              top5Prob: top.probs,
              cleanConfidence: ref.confidence.slice(),
              ...out,
            });
            progress.tick(n);
          }
        }
        await writer.close();
        progress.finish();
      } catch (error) {
        await writer.abort();
        throw error;
      }
      const summary: EvaluationSummary = { schemaVersion: 1, attack, quantize: config.evaluate.quantize, buckets: summarize(rows, attack.targeted) };
      await writeFileAtomic(path.join(tmp, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      for (const b of summary.buckets) {
        log(`${attack.id} ${b.bucket}: n=${b.n} top-1 error ${(b.top1Error * 100).toFixed(1)}%, top-5 error ${(b.top5Error * 100).toFixed(1)}%`);
      }
    });
  } finally {
    await adversarial.close();
    await buckets.close();
    classifier.dispose();
  }
  return EvaluationSummary.parse(JSON.parse(await (await import('node:fs/promises')).readFile(path.join(outDir, 'summary.json'), 'utf8')));
}
