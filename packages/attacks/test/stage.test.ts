/**
 * The attacks stage end to end on a tiny model directory and buckets.arrow: the output is the
 * in-process attack's bytes whatever the worker count and batch size, and bad configs fail before
 * any work.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdversarialArtifact, BucketsArtifact, GradsignError, readArtifact, writeArtifactBatches } from '@gradsign/core';
import { saveLayersModel } from '@gradsign/core/tf';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attackBatch, loadAttackModel, resolveAttack, runAttackStage } from '../src/index.ts';
import { bytes, tinyCnn, useBackend } from './helpers.ts';

const CLASSES = 5;
const N = 9;
let dir: string;
let modelDir: string;
let bucketsDir: string;
let image: Uint8Array;
let top5: Int32Array;

beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'gradsign-attacks-'));
  modelDir = path.join(dir, 'model');
  bucketsDir = path.join(dir, 'bucketing');
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
      classNames: ['a', 'b', 'c', 'd', 'e'],
      testAccuracy: null,
      backend: 'wasm',
    }),
  );
  image = Uint8Array.from({ length: N * 100 }, (_, i) => (i * 37) % 256);
  top5 = Int32Array.from({ length: N * 5 }, (_, i) => (Math.floor(i / 5) + (i % 5)) % CLASSES);
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
      classNames: ['a', 'b', 'c', 'd', 'e'],
      numClasses: CLASSES,
      cleanAccuracy: { n: N, top1: 1, top5: 1 },
      qualified: { low: 3, medium: 3, high: 3 },
    },
    { top5: 5, top5Prob: 5, image: 100 },
    // Two record batches of 5 and 4 rows.
    [rows(0, 5), rows(5, N)],
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const attack = { id: 'pgd-least-likely-eps8-255', method: 'pgd', gradient: 'least-likely', eps: 8 / 255, norm: 'linf', steps: 3 } as const;

describe('runAttackStage', () => {
  test('workers and batch size do not change a byte of the adversarial images', async () => {
    const outs = [
      { workers: 1, batchSize: 4 },
      { workers: 2, batchSize: 128 },
      { workers: 2, batchSize: 3 },
    ];
    const results = [];
    for (const [i, o] of outs.entries()) {
      const out = path.join(dir, `out${i}`);
      const resolved = await runAttackStage({ attack, seed: 7, backend: 'wasm', ...o }, bucketsDir, modelDir, out);
      expect(resolved.steps).toBe(3);
      // (The files differ in their record-batch layout, which follows batchSize; the rows do not.)
      const reader = await readArtifact(AdversarialArtifact, path.join(out, 'adversarial.arrow'));
      results.push({ all: await reader.readAll(), metadata: reader.metadata });
      await reader.close();
    }
    for (const r of results.slice(1)) {
      expect(bytes(r.all.image).equals(bytes(results[0]!.all.image))).toBe(true);
      expect(Array.from(r.all.target)).toEqual(Array.from(results[0]!.all.target));
      expect(r.all.bucket).toEqual(results[0]!.all.bucket);
      expect(r.metadata).toEqual(results[0]!.metadata);
    }

    // And the images are the library's, attacked in one batch in-process.
    const all = results[0]!.all;
    expect(Array.from(all.id)).toEqual(Array.from({ length: N }, (_, i) => 10 + i));
    const model = await loadAttackModel({ kind: 'dir', dir: modelDir });
    const expected = attackBatch(
      model,
      resolveAttack(attack, CLASSES, attack.id),
      {
        ids: all.id,
        labels: all.label,
        top5,
        pixels: Float32Array.from(image, (v) => v / 255),
      },
      7,
    );
    expect(bytes(all.image).equals(bytes(expected.images))).toBe(true);
    expect(Array.from(all.target)).toEqual(Array.from(expected.targets));
    model.dispose();
  });

  test('a bad attack fails before any output is written', async () => {
    const out = path.join(dir, 'bad');
    await expect(runAttackStage({ attack: { ...attack, gradient: 'target:9' } }, bucketsDir, modelDir, out)).rejects.toThrow(GradsignError);
    await expect(runAttackStage({ attack: { ...attack, steps: 0 } }, bucketsDir, modelDir, out)).rejects.toThrow(/steps/);
    await expect(readFile(path.join(out, 'adversarial.arrow'))).rejects.toThrow();
  });
});

describe('resuming an interrupted attack', () => {
  // Slow enough to kill mid-run: many BIM steps, one image per batch, one process.
  const slow = { attack: { id: 'bim-inverse-slow', method: 'bim', gradient: 'inverse', eps: 8 / 255, norm: 'linf', steps: 1000 }, seed: 1, backend: 'wasm', batchSize: 1, workers: 1 };

  test('a killed run leaves no output; the rerun reuses finished batches and ends byte-identical', async () => {
    const { spawn } = await import('node:child_process');
    const { readdir, stat } = await import('node:fs/promises');
    const out = path.join(dir, 'resumed');
    const cli = path.resolve(import.meta.dirname, '../bin/gradsign-attacks.js');
    const child = spawn(process.execPath, [cli, '--config', JSON.stringify(slow), '--buckets', bucketsDir, '--model', modelDir, '--out', out], { stdio: 'ignore' });
    // Kill it once two batches are saved.
    const deadline = Date.now() + 60_000;
    let saved: string[] = [];
    while (Date.now() < deadline) {
      saved = (await readdir(`${out}.partial`).catch(() => [] as string[])).filter((f) => f.startsWith('batch-'));
      if (saved.length >= 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(saved.length).toBeGreaterThanOrEqual(2);
    expect(saved.length).toBeLessThan(N);
    await expect(stat(out)).rejects.toThrow(); // no partial artifact where the finished one belongs

    const logs: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (logs.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await runAttackStage(slow, bucketsDir, modelDir, out);
    } finally {
      process.stderr.write = write;
    }
    expect(logs.join('')).toMatch(/resuming: \d+ batch\(es\) were finished by an interrupted run/);
    await expect(stat(`${out}.partial`)).rejects.toThrow(); // cleaned up once complete

    const fresh = path.join(dir, 'fresh');
    await runAttackStage(slow, bucketsDir, modelDir, fresh);
    const [a, b] = await Promise.all([readFile(path.join(out, 'adversarial.arrow')), readFile(path.join(fresh, 'adversarial.arrow'))]);
    expect(a.equals(b)).toBe(true);
  }, 180_000);

  test('saved batches from another configuration are discarded, not reused', async () => {
    const out = path.join(dir, 'other');
    const partial = `${out}.partial`;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(partial, { recursive: true });
    await writeFile(path.join(partial, 'key'), 'some other configuration');
    await writeFile(path.join(partial, 'batch-000000.arrow'), 'garbage');
    await runAttackStage({ attack, seed: 7, backend: 'wasm', workers: 1, batchSize: 4 }, bucketsDir, modelDir, out);
    const reader = await readArtifact(AdversarialArtifact, path.join(out, 'adversarial.arrow'));
    expect((await reader.readAll()).id.length).toBe(N);
    await reader.close();
  }, 60_000);
});
