/**
 * The attacks stage end to end on a tiny model directory and buckets.arrow: the output is the
 * in-process attack's bytes whatever the worker count and batch size, and bad configs fail before
 * any work.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdversarialArtifact, GradsignError, readArtifact } from '@gradsign/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attackBatch, loadAttackModel, resolveAttack, runAttackStage } from '../src/index.ts';
import { bytes, useBackend } from './helpers.ts';
import { CLASSES, N, SLOW_CONFIG, interruptedRun, makeStageFixture, stderrOf, type StageFixture } from './stage-fixture.ts';

let dir: string;
let fixture: StageFixture;
let modelDir: string;
let bucketsDir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'gradsign-attacks-'));
  fixture = await makeStageFixture(dir);
  ({ modelDir, bucketsDir } = fixture);
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
      { workers: 1, batchSize: 'auto' },
    ];
    process.env.XDG_CACHE_HOME = dir; // batchSize "auto" memoises its probe there
    const results = [];
    for (const [i, o] of outs.entries()) {
      const out = path.join(dir, `out${i}`);
      let resolved!: Awaited<ReturnType<typeof runAttackStage>>;
      const logs = await stderrOf(async () => (resolved = await runAttackStage({ attack, seed: 7, backend: 'wasm', ...o }, bucketsDir, modelDir, out)));
      if (o.batchSize === 'auto') expect(logs).toMatch(/batchSize auto: \d+ on wasm \(limited by images; ≈[\d.]+ MiB per image/);
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
    const expected = await attackBatch(
      model,
      resolveAttack(attack, CLASSES, attack.id),
      {
        ids: all.id,
        labels: all.label,
        top5: fixture.top5,
        pixels: Float32Array.from(fixture.image, (v) => v / 255),
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
  const slow = SLOW_CONFIG;

  test('a killed run leaves no output; the rerun reuses finished batches and ends byte-identical', async () => {
    const { stat } = await import('node:fs/promises');
    const out = path.join(dir, 'resumed');
    await interruptedRun(fixture, out, 2);
    const logs = await stderrOf(() => runAttackStage(slow, bucketsDir, modelDir, out));
    expect(logs).toMatch(/resuming: \d+ batch\(es\) were finished by an interrupted run/);
    await expect(stat(`${out}.partial`)).rejects.toThrow(); // cleaned up once complete

    const fresh = path.join(dir, 'fresh');
    const freshLogs = await stderrOf(() => runAttackStage(slow, bucketsDir, modelDir, fresh));
    // A fresh run says, after its first batch, how long the rest will take on this machine.
    expect(freshLogs).toMatch(new RegExp(`first batch of 1 images done; estimated [0-9.hms]+ more for the remaining ${N - 1} \\(1000 steps each\\)`));
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
