/**
 * attacks stage: stream buckets.arrow in record batches, attack each batch, write
 * adversarial.arrow in record batches. Memory is bounded by one batch, not the number of images.
 */
import path from 'node:path';
import { z } from 'zod';
import {
  AdversarialArtifact,
  AttackCombination,
  Backend,
  BucketsArtifact,
  Progress,
  log,
  parseWith,
  readArtifact,
  writeArtifact,
  writeDirAtomic,
  type ResolvedAttack,
} from '@gradsign/core';
import { loadClassifier, selectBackend } from '@gradsign/core/tf';
import { attackBatch, checkClassifierOutput, resolveAttack } from './attack.ts';

export const AttackStageConfig = z
  .object({
    attack: AttackCombination,
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().default(128),
    backend: Backend.default('auto'),
  })
  .strict();
export type AttackStageConfig = z.infer<typeof AttackStageConfig>;

export async function runAttackStage(rawConfig: unknown, bucketsDir: string, modelDir: string, outDir: string): Promise<ResolvedAttack> {
  const config = parseWith(AttackStageConfig, rawConfig, 'attack config');
  const backend = await selectBackend(config.backend);
  const { classifier, info } = await loadClassifier(modelDir);
  const attack = resolveAttack(config.attack, classifier.numClasses, config.attack.id);
  checkClassifierOutput(classifier);
  const buckets = await readArtifact(BucketsArtifact, path.join(bucketsDir, 'buckets.arrow'));
  const pixels = buckets.listSizes.image as number;
  const total = 3 * buckets.metadata.perBucket;
  log(`attack ${attack.id}: ${attack.method} ${attack.targeted ? 'targeted' : 'untargeted'} (${attack.gradient}), ε=${attack.eps}, steps=${attack.steps}, α=${attack.alpha.toPrecision(4)}, backend ${backend}`);
  const progress = new Progress(`attack ${attack.id}`, total, 'img');
  try {
    await writeDirAtomic(outDir, async (tmp) => {
      const writer = await writeArtifact(
        AdversarialArtifact,
        path.join(tmp, 'adversarial.arrow'),
        { attack, seed: config.seed, backend, height: classifier.height, width: classifier.width, channels: classifier.channels, classNames: info.classNames },
        { image: pixels },
      );
      try {
        for await (const batch of buckets.batches()) {
          for (let start = 0; start < batch.id.length; start += config.batchSize) {
            const end = Math.min(batch.id.length, start + config.batchSize);
            const source = batch.image.subarray(start * pixels, end * pixels);
            const clean = new Float32Array(source.length);
            for (let i = 0; i < source.length; i++) clean[i] = (source[i] as number) / 255;
            const ids = batch.id.slice(start, end);
            const labels = batch.label.slice(start, end);
            const { images, targets } = attackBatch(classifier, attack, { ids, labels, top5: batch.top5.subarray(start * 5, end * 5), pixels: clean }, config.seed);
            await writer.write({ id: ids, label: labels, bucket: batch.bucket.slice(start, end), target: targets, image: images });
            progress.tick(end - start);
          }
        }
        await writer.close();
        progress.finish();
      } catch (error) {
        await writer.abort();
        throw error;
      }
    });
  } finally {
    await buckets.close();
    classifier.dispose();
  }
  return attack;
}
