/**
 * Importing the user's TensorFlow.js model (layers and graph, 1,000 outputs, made by code), the
 * checks that run before any work, and the stage chain preprocess (image folder) → model (import)
 * → bucketing on the generated fixtures.
 */
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BucketsArtifact, GradsignError, ModelInfo, readArtifact } from '@gradsign/core';
import { loadClassifier, predictTopK, readModelArtifacts, selectBackend, tf } from '@gradsign/core/tf';
import { bucketing } from '@gradsign/bucketing';
import { preprocess } from '@gradsign/preprocess';
import { buildModel } from '../src/index.ts';
import {
  NUM_CLASSES,
  centreOf,
  labelFileText,
  makeClassFolders,
  makeIlsvrcFolder,
  saveColourClassifierLayers,
  synsetOf,
  writeColourClassifierGraph,
} from '../../../test/fixtures/imagenet-like.ts';

const SIZE = 32;
const SPEC = { height: SIZE, width: SIZE, channels: 3, normalization: 'unit', output: 'probabilities' } as const;
let root: string;
let labels: string;
let layersDir: string;
let graphDir: string;

beforeAll(async () => {
  await selectBackend('wasm', { quiet: true });
  root = await mkdtemp(path.join(tmpdir(), 'gradsign-import-'));
  labels = path.join(root, 'labels.txt');
  await writeFile(labels, labelFileText());
  layersDir = path.join(root, 'layers');
  graphDir = path.join(root, 'graph');
  await saveColourClassifierLayers(layersDir, SIZE, SIZE);
  await writeColourClassifierGraph(graphDir, SIZE, SIZE);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const modelConfig = (model: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
  model: { kind: 'tfjs', path: layersDir, labels, ...model, spec: { ...SPEC, ...spec } },
  backend: 'wasm',
});
const noData = () => path.join(root, 'no-data');

async function importError(config: unknown, out: string): Promise<GradsignError> {
  const error = await buildModel(config, noData(), out).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GradsignError);
  // Nothing half-written where the artifact belongs.
  expect(await access(out).then(() => true, () => false)).toBe(false);
  return error as GradsignError;
}

/** Probabilities of a solid image of class k's colour. */
async function classify(dir: string, k: number) {
  const { classifier } = await loadClassifier(dir);
  const pixels = new Uint8Array(SIZE * SIZE * 3).map((_, i) => Math.round(centreOf(k)[i % 3]! * 255));
  const top = await predictTopK(classifier, pixels, 1, 5);
  classifier.dispose();
  return top;
}

describe('importModel', () => {
  it('imports a layers model: copy, labels, model-info, gradient check', async () => {
    const out = path.join(root, 'out-layers');
    const info = await buildModel(modelConfig({}), noData(), out);
    expect(ModelInfo.parse(JSON.parse(await readFile(path.join(out, 'model-info.json'), 'utf8')))).toEqual(info);
    expect(info).toMatchObject({
      source: 'imported',
      format: 'layers',
      input: { height: SIZE, width: SIZE, channels: 3 },
      output: 'probabilities',
      normalization: 'unit',
      labelOffset: 0,
      numClasses: NUM_CLASSES,
      testAccuracy: null,
      backend: 'wasm',
      training: { inputGradient: 'ok', outputs: NUM_CLASSES },
    });
    expect(info.classNames[7]).toBe('colour 7');
    expect(info.training!.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(info.description).toContain((info.training!.modelSha256 as string).slice(0, 16));
    expect((await readFile(path.join(out, 'labels.txt'), 'utf8')).split('\n')[1]).toBe('n01000037 colour 1');
    // The copy loads and classifies like the original.
    const top = await classify(out, 345);
    expect(top.indices[0]).toBe(345);
  });

  it('imports a graph model and detects its format', async () => {
    const out = path.join(root, 'out-graph');
    const info = await buildModel(modelConfig({ path: graphDir }), noData(), out);
    expect(info.format).toBe('graph');
    expect(info.training!.inputGradient).toBe('ok');
    await access(path.join(out, 'group1-shard1of1.bin'));
    expect((await classify(out, 789)).indices[0]).toBe(789);
  });

  it('changed weights change the recorded sha256', async () => {
    const other = path.join(root, 'layers-other');
    await saveColourClassifierLayers(other, SIZE, SIZE, { logits: true });
    const a = await buildModel(modelConfig({}), noData(), path.join(root, 'sha-a'));
    const b = await buildModel(modelConfig({ path: other }, { output: 'logits' }), noData(), path.join(root, 'sha-b'));
    expect(a.training!.modelSha256).not.toBe(b.training!.modelSha256);
  });

  it('names the op whose gradient tfjs cannot compute', async () => {
    const dir = path.join(root, 'graph-cumprod');
    await writeColourClassifierGraph(dir, SIZE, SIZE, { nonDifferentiable: true });
    const error = await importError(modelConfig({ path: dir }), path.join(root, 'out-cumprod'));
    expect(error.message).toMatch(/no gradient for op "Cumprod"/);
  });

  it('an input shape that does not match the spec names both shapes', async () => {
    const error = await importError(modelConfig({}, { height: 299, width: 299 }), path.join(root, 'out-shape'));
    expect(error.message).toContain('[any, 32, 32, 3]');
    expect(error.message).toContain('299×299×3');
    expect(error.hint).toMatch(/model\.spec\.height\/width\/channels .*32 × 32 × 3/);
  });

  it('a channel count that does not match is caught before any work', async () => {
    const error = await importError(modelConfig({ path: graphDir }, { channels: 1 }), path.join(root, 'out-channels'));
    expect(error.message).toMatch(/\[any, 32, 32, 3\].*32×32×1/);
  });

  it('a label file that does not match the outputs is an error with both counts', async () => {
    const short = path.join(root, 'labels-999.txt');
    await writeFile(short, labelFileText(999));
    const error = await importError(modelConfig({ labels: short }), path.join(root, 'out-labels'));
    expect(error.message).toMatch(/1000 outputs, but .*labels-999\.txt lists 999 classes/);
  });

  it('a background class in front needs labelOffset 1, and works with it', async () => {
    const dir = path.join(root, 'layers-1001');
    await saveColourClassifierLayers(dir, SIZE, SIZE, { outputs: 1001 });
    const error = await importError(modelConfig({ path: dir }), path.join(root, 'out-1001'));
    expect(error.hint).toMatch(/labelOffset to 1/);
    const out = path.join(root, 'out-1001-ok');
    const info = await buildModel(modelConfig({ path: dir }, { labelOffset: 1 }), noData(), out);
    expect(info.numClasses).toBe(NUM_CLASSES);
    expect((await classify(out, 500)).indices[0]).toBe(500);
  });

  it('a missing spec field is named', async () => {
    const config = modelConfig({});
    delete (config.model.spec as Record<string, unknown>).height;
    const error = await importError(config, path.join(root, 'out-nospec'));
    expect(error.message).toMatch(/model\.spec\.height/);
  });

  it('a stated format that contradicts model.json is an error', async () => {
    const error = await importError(modelConfig({ path: graphDir, format: 'layers' }), path.join(root, 'out-format'));
    expect(error.message).toMatch(/model.format is "layers" but .* holds a graph model/);
  });

  it('a short weight shard is named, with the bytes it holds and the bytes model.json needs', async () => {
    const dir = path.join(root, 'layers-short-shard');
    await cp(layersDir, dir, { recursive: true });
    const shard = path.join(dir, 'weights.bin');
    const bytes = await readFile(shard);
    await writeFile(shard, bytes.subarray(0, bytes.length - 100));
    const error = await importError(modelConfig({ path: dir }), path.join(root, 'out-short-shard'));
    expect(error.message).toContain(`weight shard ${shard} holds ${bytes.length - 100} bytes, but ${path.join(dir, 'model.json')} needs ${bytes.length}`);
    expect(error.hint).toMatch(/copy it again .* or convert the model again/);
  });

  it('of several shards, the one cut short is named; when it cannot be told, all are', async () => {
    const dir = path.join(root, 'layers-shards');
    await cp(layersDir, dir, { recursive: true });
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    const bytes = await readFile(path.join(dir, 'weights.bin'));
    const shard = (i: number) => path.join(dir, `group1-shard${i}.bin`);
    const writeShards = async (parts: Buffer[]) => {
      json.weightsManifest[0].paths = parts.map((_, i) => path.basename(shard(i + 1)));
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      await Promise.all(parts.map((part, i) => writeFile(shard(i + 1), part)));
    };
    const message = async () => (await readModelArtifacts(dir).then(() => undefined, (e: unknown) => e as GradsignError))?.message;

    await writeShards([bytes.subarray(0, 6000), bytes.subarray(6000, 12000 - 12), bytes.subarray(12000)]);
    expect(await message()).toContain(`weight shard ${shard(2)} holds 5988 bytes, but ${path.join(dir, 'model.json')} needs 6000 there`);
    await writeShards([bytes.subarray(0, 9000 - 12), bytes.subarray(9000)]);
    expect(await message()).toContain(`weight shards ${shard(1)} (8988 bytes), ${shard(2)} (7036 bytes) hold 16024 bytes, but ${path.join(dir, 'model.json')} needs 16036`);
  });

  it('NaN and infinite weights are named, before any work (not blamed on model.spec)', async () => {
    const dir = path.join(root, 'layers-nan');
    await cp(layersDir, dir, { recursive: true });
    const specs = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')).weightsManifest[0].weights as { name: string; shape: number[] }[];
    const kernel = specs.findIndex((w) => w.shape.length === 2); // the dense layer's [3, 1000]
    const offset = specs.slice(0, kernel).reduce((bytes, w) => bytes + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    const shard = await readFile(path.join(dir, 'weights.bin'));
    shard.writeFloatLE(Number.NaN, offset + 4 * 7);
    shard.writeFloatLE(Number.POSITIVE_INFINITY, offset + 4 * 8);
    await writeFile(path.join(dir, 'weights.bin'), shard);
    const error = await importError(modelConfig({ path: dir }), path.join(root, 'out-nan'));
    expect(error.message).toContain(`${specs[kernel]!.name} (2 of 3000 values are NaN or ±∞)`);
    expect(error.hint).not.toMatch(/model\.spec/);
  });

  it('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    await buildModel(modelConfig({ path: graphDir }), noData(), path.join(root, 'out-leak'));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('image folder → import → bucketing', () => {
  it('runs the stage functions end to end with 1,000 classes', async () => {
    const fixture = await makeClassFolders(path.join(root, 'e2e'), 6);
    const data = path.join(root, 'e2e-out', 'preprocess');
    const model = path.join(root, 'e2e-out', 'model');
    const buckets = path.join(root, 'e2e-out', 'bucketing');
    await preprocess({ dataset: { kind: 'image-folder', dir: fixture.dir, labels: fixture.labels, preset: 'slim' }, input: { height: SIZE, width: SIZE, channels: 3 } }, data);
    const info = await buildModel(modelConfig({ labels: fixture.labels }), data, model);
    expect(info.numClasses).toBe(1000);
    const meta = await bucketing({ buckets: { rule: 'quantile', perBucket: 3 }, seed: 1, backend: 'wasm' }, data, model, buckets);
    expect(meta.numClasses).toBe(1000);
    expect(meta.classNames).toHaveLength(1000);
    expect(meta.cleanAccuracy.n).toBe(fixture.expected.size);
    expect(meta.cleanAccuracy.top1).toBeGreaterThan(0.85);
    expect(meta.cleanAccuracy.top5).toBeGreaterThanOrEqual(meta.cleanAccuracy.top1);
    const reader = await readArtifact(BucketsArtifact, path.join(buckets, 'buckets.arrow'));
    const rows = await reader.readAll();
    await reader.close();
    expect(rows.bucket.filter((b) => b === 'low')).toHaveLength(3);
    expect(rows.id).toHaveLength(9);
    expect(reader.listSizes.image).toBe(SIZE * SIZE * 3);
  });

  it('a wrong ILSVRC2012 mapping (sorted synsets instead of ILSVRC2012_ID order) shows as near-zero accuracy, with a warning', async () => {
    const fixture = await makeIlsvrcFolder(path.join(root, 'wrong-map'), 30);
    const sortedMap = path.join(root, 'wrong-map', 'sorted-synsets.txt');
    await writeFile(sortedMap, Array.from({ length: NUM_CLASSES }, (_, i) => `${synsetOf(i)}\n`).join(''));
    const data = path.join(root, 'wrong-map-out', 'preprocess');
    const model = path.join(root, 'wrong-map-out', 'model');
    const dataset = { kind: 'image-folder', dir: fixture.dir, layout: 'flat', groundTruth: fixture.groundTruth, groundTruthFormat: 'ilsvrc2012', labels: fixture.labels };
    await preprocess({ dataset: { ...dataset, synsetMap: sortedMap }, input: { height: SIZE, width: SIZE, channels: 3 } }, data);
    await buildModel(modelConfig({ labels: fixture.labels }), data, model);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const error = await bucketing({ buckets: { rule: 'quantile', perBucket: 1 }, backend: 'wasm' }, data, model, path.join(root, 'wrong-map-out', 'bucketing')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GradsignError);
      const text = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toMatch(/clean top-1 accuracy \d+\.\d+% is implausibly low .*ILSVRC2012 synset mapping/);
    } finally {
      stderr.mockRestore();
    }
  });
});
