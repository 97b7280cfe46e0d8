/**
 * attacks stage: stream buckets.arrow in record batches, attack each batch, write
 * adversarial.arrow in record batches. Memory is bounded by a few batches, not the number of
 * images. Batches are attacked by a pool of worker threads (one per core on wasm/cpu), two batches
 * in flight so no worker waits while the main thread reads or writes; the output order and bytes
 * are those of the single-process path.
 */
import { attackBatchSize } from './batch-size.ts';
import { Checkpoint } from './checkpoint.ts';
import path from 'node:path';
import { z } from 'zod';
import {
  AdversarialArtifact,
  AttackCombination,
  Backend,
  BatchSize,
  BucketsArtifact,
  GradsignError,
  Progress,
  defineStage,
  formatDuration,
  log,
  parseWith,
  readArtifact,
  writeArtifact,
  writeDirAtomic,
  type ArtifactReader,
  type ModelInfo,
  type ResolvedAttack,
} from '@gradsign/core';
import { describeBackend, readModelInfo } from '@gradsign/core/tf';
import { resolveAttack } from './attack.ts';
import { AttackPool, type AttackResult, type WorkersOption } from './parallel/pool.ts';

export const AttackStageConfig = z
  .object({
    attack: AttackCombination,
    seed: z.number().int().min(0).default(0),
    batchSize: BatchSize.default(128),
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

/** Batch `index` as an interrupted run saved it, or attacked now when it was not saved (or was damaged). */
async function savedOrAttacked(checkpoint: Checkpoint, index: number, ids: Int32Array, attack: () => Promise<AttackResult>): Promise<AttackResult> {
  const saved = await checkpoint.load(index, ids);
  return saved ? { images: saved.image, targets: saved.target, zeroGradient: saved.zeroGradient } : attack();
}

async function attackAll(
  pool: AttackPool,
  attack: ResolvedAttack,
  config: AttackStageConfig & { batchSize: number },
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
  const meta = { attack, seed: config.seed, backend: describeBackend(backend), height, width, channels, classNames: info.classNames };
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
        if (job.index >= checkpoint.saved && !estimated) {
          estimated = true;
          logEstimate(attack, progress, targets.length, total);
        }
      }
    };
    let estimated = false;
    let index = 0;
    try {
      for await (const batch of buckets.batches()) {
        for (let start = 0; start < batch.id.length; start += config.batchSize, index++) {
          const end = Math.min(batch.id.length, start + config.batchSize);
          const columns = { id: batch.id.slice(start, end), label: batch.label.slice(start, end), bucket: batch.bucket.slice(start, end) };
          // A batch an interrupted run finished comes from the checkpoint (unless damaged); the others are attacked.
          const attacked = () =>
            pool.run(attack, { ids: columns.id, labels: columns.label, top5: batch.top5.slice(start * 5, end * 5), pixels: batch.image.subarray(start * pixels, end * pixels) }, config.seed);
          const result = index < checkpoint.saved ? savedOrAttacked(checkpoint, index, columns.id, attacked) : attacked();
          // Keep a rejection handled while it waits in the queue; drain() rethrows it in order.
          result.catch(() => undefined);
          queue.push({ index, result, columns });
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
    const batchSize = await attackBatchSize(config.batchSize, modelDir, config.backend, workers, total);
    const pool = await AttackPool.create({ source: { kind: 'dir', dir: modelDir }, workers, backend: config.backend });
    try {
      await attackAll(pool, attack, { ...config, batchSize }, info, buckets, pixels, total, outDir);
    } finally {
      await pool.close();
    }
  } finally {
    await buckets.close();
  }
  return attack;
}

export const attacksStage = defineStage({
  name: 'gradsign-attacks',
  summary: 'run one attack combination (method × gradient × ε) on the bucketed images → adversarial.arrow',
  config: AttackStageConfig,
  configExample:
    '{"attack": {"id","method","gradient","eps","norm",...}, "seed", "batchSize", "backend", "workers"}; GRADSIGN_WORKERS=<n>|auto overrides "workers"',
  inputs: { buckets: 'bucketing output directory (buckets.arrow)', model: 'model directory' },
  output: 'adversarial.arrow',
  examples: [
    `gradsign-attacks --config '{"attack":{"id":"bim-inverse-eps8-255","method":"bim","gradient":"inverse","eps":"8/255","norm":"linf"}}' --buckets artifacts/full/bucketing --model artifacts/full/model --out /tmp/bim`,
  ],
  run: (config, { buckets, model, out }) => runAttackStage(config, buckets, model, out),
});

/** After the first attacked batch: how long the whole combination will take on this machine. */
function logEstimate(attack: ResolvedAttack, progress: Progress, batchImages: number, total: number): void {
  const left = progress.remainingSeconds();
  if (left === undefined || batchImages >= total) return;
  log(`attack ${attack.id}: first batch of ${batchImages} images done; estimated ${formatDuration(left)} more for the remaining ${total - batchImages} (${attack.steps} step${attack.steps === 1 ? '' : 's'} each)`);
}
