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

const attack = { id: 'pgd-least-likely-eps0.0314', method: 'pgd', gradient: 'least-likely', eps: 8 / 255, norm: 'linf', steps: 3 } as const;

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
