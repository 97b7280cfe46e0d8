/**
 * A full disk during an attack: one clear error that names the path and the stage (not tfjs-wasm
 * dumping its own source), the previous output kept, and once there is room again the rerun
 * resumes from the saved batches and ends byte-identical to an uninterrupted run.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketsArtifact, writeArtifactBatches, type ModelInfo } from '@gradsign/core';
import { initWasm, saveLayersModel } from '@gradsign/core/tf';
import { tinyCnn } from '../packages/attacks/test/helpers.ts';
import { REPO } from './helpers/workspace.ts';
import { mountTmpfs, type Tmpfs } from './helpers/tmpfs.ts';

const N = 600;
const CLASSES = 5;
let dir: string;
let disk: Tmpfs;

const cli = path.join(REPO, 'packages/attacks/bin/gradsign-attacks.js');
const config = JSON.stringify({ attack: { id: 'fgsm-inverse-eps8-255', method: 'fgsm', gradient: 'inverse', eps: '8/255', norm: 'linf' }, batchSize: 50, workers: 1 });
const attack = (out: string) =>
  execa('node', [cli, '--config', config, '--buckets', path.join(dir, 'bucketing'), '--model', path.join(dir, 'model'), '--out', out], { reject: false });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-disk-full-'));
  await initWasm();
  const modelDir = path.join(dir, 'model');
  await saveLayersModel(tinyCnn(10, 10, 1, CLASSES), modelDir);
  const info: ModelInfo = {
    schemaVersion: 1, source: 'trained', description: 'test', format: 'layers', input: { height: 10, width: 10, channels: 1 },
    normalization: 'unit', output: 'logits', labelOffset: 0, numClasses: CLASSES, classNames: ['a', 'b', 'c', 'd', 'e'],
    testAccuracy: null, backend: 'wasm', lossScores: 'logits',
  };
  await writeFile(path.join(modelDir, 'model-info.json'), JSON.stringify(info));
  const bucket = Array.from({ length: N }, (_, i) => (['low', 'medium', 'high'] as const)[i % 3]!);
  await writeArtifactBatches(
    BucketsArtifact,
    path.join(dir, 'bucketing', 'buckets.arrow'),
    {
      rule: 'quantile', thresholds: { high: 0.9, medium: 0.5 }, perBucket: N / 3, seed: 0, height: 10, width: 10, channels: 1,
      classNames: info.classNames, numClasses: CLASSES, cleanAccuracy: { n: N, top1: 1, top5: 1 }, qualified: { low: N / 3, medium: N / 3, high: N / 3 },
    },
    { top5: 5, top5Prob: 5, image: 100 },
    [{
      id: Int32Array.from({ length: N }, (_, i) => i),
      label: Int32Array.from({ length: N }, (_, i) => i % CLASSES),
      bucket,
      confidence: new Float32Array(N).fill(0.5),
      top5: Int32Array.from({ length: N * 5 }, (_, i) => (Math.floor(i / 5) + (i % 5)) % CLASSES),
      top5Prob: new Float32Array(N * 5).fill(0.2),
      structuralZeros: new Int32Array(N),
      image: Uint8Array.from({ length: N * 100 }, (_, i) => (i * 37) % 256),
    }],
  );
  // 600 adversarial images are 240 KB, and their saved batches as much again: 200 KiB cannot hold them.
  disk = await mountTmpfs(200);
}, 120_000);
afterAll(async () => {
  await disk?.unmount();
  await rm(dir, { recursive: true, force: true });
});

describe('a full disk during an attack', () => {
  it('fails with one line naming the stage and the path, keeps the previous output, and resumes byte-identically', async () => {
    const out = path.join(disk.dir, 'attack');
    await mkdir(out);
    await writeFile(path.join(out, 'adversarial.arrow'), 'the previous, finished output');

    const full = await attack(out);
    expect(full.exitCode).toBe(1);
    expect(full.stderr).toMatch(/error: gradsign-attacks stage: cannot write .*: no space left on the device \(ENOSPC\)/);
    expect(full.stderr).toMatch(/hint: free disk space/);
    expect(full.stderr.length).toBeLessThan(2000);
    expect(full.stderr).not.toMatch(/function|=>|\{\s*var /);
    expect(await readFile(path.join(out, 'adversarial.arrow'), 'utf8')).toBe('the previous, finished output');
    const saved = (await readdir(`${out}.partial`)).filter((f) => f.endsWith('.arrow'));
    expect(saved.length).toBeGreaterThan(0);

    // Room again: the rerun takes the saved batches and attacks only the rest.
    execFileSync('mount', ['-o', 'remount,size=4m', disk.dir]);
    const resumed = await attack(out);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: \d+ batch\(es\) were finished/);

    const clean = path.join(dir, 'clean');
    expect((await attack(clean)).exitCode).toBe(0);
    expect((await readFile(path.join(out, 'adversarial.arrow'))).equals(await readFile(path.join(clean, 'adversarial.arrow')))).toBe(true);
  }, 180_000);
});
