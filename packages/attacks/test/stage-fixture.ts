/**
 * What the attacks stage reads, built in a temp directory: a tiny model directory (10×10×1, five
 * classes) and a buckets.arrow of nine images in two record batches. Also: an attack run in a child
 * process, killed once it has saved some batches to `<out>.partial`.
 */
import { spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BucketsArtifact, writeArtifactBatches } from '@gradsign/core';
import { saveLayersModel } from '@gradsign/core/tf';
import { tinyCnn } from './helpers.ts';

export const CLASSES = 5;
export const N = 9;
export const CLASS_NAMES = ['a', 'b', 'c', 'd', 'e'];

export interface StageFixture {
  modelDir: string;
  bucketsDir: string;
  /** The nine images' 8-bit pixels (100 each) and fake clean top-5, in buckets.arrow's order. */
  image: Uint8Array;
  top5: Int32Array;
}

export async function makeStageFixture(dir: string): Promise<StageFixture> {
  const modelDir = path.join(dir, 'model');
  const bucketsDir = path.join(dir, 'bucketing');
  await saveLayersModel(tinyCnn(10, 10, 1, CLASSES), modelDir);
  await writeFile(
    path.join(modelDir, 'model-info.json'),
    JSON.stringify({
      schemaVersion: 1,
      source: 'trained',
      description: 'test',
      format: 'layers',
      input: { height: 10, width: 10, channels: 1 },
      normalization: 'unit',
      output: 'logits',
      labelOffset: 0,
      numClasses: CLASSES,
      classNames: CLASS_NAMES,
      testAccuracy: null,
      backend: 'wasm',
    }),
  );
  const image = Uint8Array.from({ length: N * 100 }, (_, i) => (i * 37) % 256);
  const top5 = Int32Array.from({ length: N * 5 }, (_, i) => (Math.floor(i / 5) + (i % 5)) % CLASSES);
  const rows = (start: number, end: number) => ({
    id: Int32Array.from({ length: end - start }, (_, i) => 10 + start + i),
    label: Int32Array.from({ length: end - start }, (_, i) => (start + i) % CLASSES),
    bucket: Array.from({ length: end - start }, (_, i) => (['low', 'medium', 'high'] as const)[(start + i) % 3]!),
    confidence: new Float32Array(end - start).fill(0.5),
    top5: top5.slice(start * 5, end * 5),
    top5Prob: new Float32Array((end - start) * 5).fill(0.2),
    structuralZeros: new Int32Array(end - start),
    image: image.slice(start * 100, end * 100),
  });
  await writeArtifactBatches(
    BucketsArtifact,
    path.join(bucketsDir, 'buckets.arrow'),
    {
      rule: 'quantile',
      thresholds: { high: 0.9, medium: 0.5 },
      perBucket: 3,
      seed: 0,
      height: 10,
      width: 10,
      channels: 1,
      classNames: CLASS_NAMES,
      numClasses: CLASSES,
      cleanAccuracy: { n: N, top1: 1, top5: 1 },
      qualified: { low: 3, medium: 3, high: 3 },
    },
    { top5: 5, top5Prob: 5, image: 100 },
    // Two record batches of 5 and 4 rows.
    [rows(0, 5), rows(5, N)],
  );
  return { modelDir, bucketsDir, image, top5 };
}

/** Slow enough to kill mid-run: many BIM steps, one image per batch, one process. */
export const SLOW_CONFIG = {
  attack: { id: 'bim-inverse-slow', method: 'bim', gradient: 'inverse', eps: 8 / 255, norm: 'linf', steps: 1000 },
  seed: 1,
  backend: 'wasm',
  batchSize: 1,
  workers: 1,
} as const;

export const ATTACKS_CLI = path.resolve(import.meta.dirname, '../bin/gradsign-attacks.js');

const savedBatches = async (out: string) => (await readdir(`${out}.partial`).catch(() => [] as string[])).filter((f) => f.startsWith('batch-'));

/**
 * Runs the attacks CLI (`cli`, default this checkout's) on the fixture with SLOW_CONFIG and kills it
 * once `minSaved` batches are saved; returns the saved batches' file names. Leaves no output.
 */
export async function interruptedRun(fixture: StageFixture, out: string, minSaved: number, cli = ATTACKS_CLI): Promise<string[]> {
  const args = [cli, '--config', JSON.stringify(SLOW_CONFIG), '--buckets', fixture.bucketsDir, '--model', fixture.modelDir, '--out', out];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  let saved: string[] = [];
  while (Date.now() < deadline && child.exitCode === null) {
    saved = await savedBatches(out);
    if (saved.length >= minSaved) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  await exited;
  saved = await savedBatches(out);
  if (saved.length < minSaved || saved.length >= N) throw new Error(`expected ${minSaved}..${N - 1} saved batches in ${out}.partial, found ${saved.length}`);
  if (await stat(out).catch(() => undefined)) throw new Error(`a killed run left an output at ${out}`);
  return saved.sort();
}

/** Runs `body`, returning what it wrote to stderr (the stages' log lines). */
export async function stderrOf(body: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await body();
  } finally {
    process.stderr.write = write;
  }
  return lines.join('');
}
