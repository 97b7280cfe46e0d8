/**
 * attacks stage: stream buckets.arrow in record batches, attack each batch, write
 * adversarial.arrow in record batches. Memory is bounded by a few batches, not the number of
 * images. Batches are attacked by a pool of worker threads (one per core on wasm/cpu), two batches
 * in flight so no worker waits while the main thread reads or writes; the output order and bytes
 * are those of the single-process path.
 */
import { Checkpoint } from './checkpoint.ts';
import path from 'node:path';
import { z } from 'zod';
import {
  AdversarialArtifact,
  AttackCombination,
  Backend,
  BucketsArtifact,
  GradsignError,
  Progress,
  log,
  parseWith,
  readArtifact,
  writeArtifact,
  writeDirAtomic,
  type ArtifactReader,
  type ModelInfo,
  type ResolvedAttack,
} from '@gradsign/core';
import { readModelInfo } from '@gradsign/core/tf';
import { resolveAttack } from './attack.ts';
import { AttackPool, type AttackResult, type WorkersOption } from './parallel/pool.ts';

export const AttackStageConfig = z
  .object({
    attack: AttackCombination,
    seed: z.number().int().min(0).default(0),
    batchSize: z.number().int().positive().default(128),
    backend: Backend.default('auto'),
    /** Worker threads: "auto" (one per core on wasm/cpu), or a number; 1 runs in-process. Results do not depend on it. */
    workers: z.union([z.literal('auto'), z.number().int().positive()]).default('auto'),
  })
  .strict();
export type AttackStageConfig = z.infer<typeof AttackStageConfig>;

/** How many batches may be in flight at once (one being attacked, the next queued). */
const IN_FLIGHT = 2;
/**
 * `workers: "auto"` stays in-process below this much work (images × steps × pixels per image):
 * starting a worker costs about a second, about what the default CNN needs for 3,000–5,000
 * image-steps on one core.
 */
const AUTO_MIN_WORK = 4_000_000;

/**
 * The worker count to use: GRADSIGN_WORKERS (a number or "auto") overrides the config, so a
 * machine can be tuned without touching the pipeline file (or the Nx task hash: results do not
 * depend on it); "auto" stays in-process for small jobs.
 */
export function workersFor(configured: WorkersOption, work: number): WorkersOption {
  const env = process.env.GRADSIGN_WORKERS?.trim();
  let workers = configured;
  if (env) {
    const parsed = env === 'auto' ? 'auto' : Number(env);
    if (parsed !== 'auto' && !(Number.isInteger(parsed) && parsed >= 1)) {
      throw new GradsignError(`GRADSIGN_WORKERS must be a whole number ≥ 1 or "auto", got "${env}"`, { hint: 'unset it to use the config\'s workers' });
    }
    workers = parsed;
  }
  return workers === 'auto' && work < AUTO_MIN_WORK ? 1 : workers;
}

type BucketsReader = ArtifactReader<typeof BucketsArtifact.columns, typeof BucketsArtifact.metadata>;

async function attackAll(
  pool: AttackPool,
  attack: ResolvedAttack,
  config: AttackStageConfig,
  info: ModelInfo,
  buckets: BucketsReader,
  pixels: number,
  total: number,
  outDir: string,
): Promise<void> {
  const backend = pool.backend;
  const { height, width, channels } = info.input;
  log(
    `attack ${attack.id}: ${attack.method} ${attack.targeted ? 'targeted' : 'untargeted'} (${attack.gradient}), ε=${attack.eps}, steps=${attack.steps}, ` +
      `α=${attack.alpha.toPrecision(4)}, backend ${backend}, ${pool.workers === 1 ? 'in-process' : `${pool.workers} workers`}, gradient ${pool.gradients.gradientPath}` +
      (pool.gradients.fallbackReason ? ` (${pool.gradients.fallbackReason})` : '') +
      (pool.gradients.scoresKind === 'log-probabilities' ? '; loss from log-probabilities (no final softmax to step over: saturation may remain)' : ''),
  );
  const progress = new Progress(`attack ${attack.id}`, total, 'img');
  const meta = { attack, seed: config.seed, backend, height, width, channels, classNames: info.classNames };
  // Everything that decides a batch's bytes: a saved batch is reused only when all of it matches.
  const identity = { meta, batchSize: config.batchSize, buckets: buckets.metadata, model: info, pixels };
  const checkpoint = await Checkpoint.open(outDir, identity, meta, pixels);
  await writeDirAtomic(outDir, async (tmp) => {
    const writer = await writeArtifact(AdversarialArtifact, path.join(tmp, 'adversarial.arrow'), meta, { image: pixels });
    type Job = { index: number; result: Promise<AttackResult>; columns: { id: Int32Array; label: Int32Array; bucket: string[] } };
    const queue: Job[] = [];
    const drain = async (keep: number) => {
      while (queue.length > keep) {
        const job = queue.shift()!;
        const { images, targets, zeroGradient } = await job.result;
        const out = { ...job.columns, target: targets, zeroGradient, image: images };
        await writer.write(out);
        if (job.index >= checkpoint.saved) await checkpoint.save(job.index, out);
        progress.tick(targets.length);
      }
    };
    let index = 0;
    try {
      for await (const batch of buckets.batches()) {
        for (let start = 0; start < batch.id.length; start += config.batchSize, index++) {
          const end = Math.min(batch.id.length, start + config.batchSize);
          if (index < checkpoint.saved) {
            const ids = batch.id.slice(start, end);
            const done = checkpoint.load(index).then((b) => {
              if (b.id.length !== ids.length || b.id.some((id, i) => id !== ids[i])) {
                throw new GradsignError(`saved batch ${index} in ${outDir}.partial does not match buckets.arrow`, { hint: `delete ${outDir}.partial and rerun` });
              }
              return { images: b.image, targets: b.target, zeroGradient: b.zeroGradient };
            });
            done.catch(() => undefined);
            queue.push({ index, result: done, columns: { id: ids, label: batch.label.slice(start, end), bucket: batch.bucket.slice(start, end) } });
            await drain(IN_FLIGHT - 1);
            continue;
          }
          const source = batch.image.subarray(start * pixels, end * pixels);
          const clean = new Float32Array(source.length);
          for (let i = 0; i < source.length; i++) clean[i] = (source[i] as number) / 255;
          const ids = batch.id.slice(start, end);
          const labels = batch.label.slice(start, end);
          const result = pool.run(attack, { ids, labels, top5: batch.top5.slice(start * 5, end * 5), pixels: clean }, config.seed);
          // Keep a rejection handled while it waits in the queue; drain() rethrows it in order.
          result.catch(() => undefined);
          queue.push({ index, result, columns: { id: ids, label: labels, bucket: batch.bucket.slice(start, end) } });
          await drain(IN_FLIGHT - 1);
        }
      }
      await drain(0);
      await writer.close();
      progress.finish();
      await checkpoint.remove();
    } catch (error) {
      await Promise.allSettled(queue.map((job) => job.result));
      await writer.abort();
      throw error;
    }
  });
}

export async function runAttackStage(rawConfig: unknown, bucketsDir: string, modelDir: string, outDir: string): Promise<ResolvedAttack> {
  const config = parseWith(AttackStageConfig, rawConfig, 'attack config');
  // Everything that can be wrong with the attack is reported before any model is loaded.
  const info = await readModelInfo(modelDir);
  const attack = resolveAttack(config.attack, info.numClasses);
  const buckets = await readArtifact(BucketsArtifact, path.join(bucketsDir, 'buckets.arrow'));
  try {
    const pixels = buckets.listSizes.image as number;
    const total = 3 * buckets.metadata.perBucket;
    const workers = workersFor(config.workers, total * attack.steps * pixels);
    const pool = await AttackPool.create({ source: { kind: 'dir', dir: modelDir }, workers, backend: config.backend });
    try {
      await attackAll(pool, attack, config, info, buckets, pixels, total, outDir);
    } finally {
      await pool.close();
    }
  } finally {
    await buckets.close();
  }
  return attack;
}
