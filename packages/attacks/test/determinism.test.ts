/**
 * Reproducibility: the same seed gives byte-identical images (PGD's random start included); an
 * image's result does not depend on the batch it is attacked in; the worker pool gives the bytes
 * of the in-process path.
 */
import { GradsignError } from '@gradsign/core';
import { tf } from '@gradsign/core/tf';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AttackPool, attackBatch, resolveAttack, serializeLayersModel, type AttackModel, type AttackSpec, type ModelSource } from '../src/index.ts';
import { bytes, makeBatch, sliceBatch, tinyAttackModel, tinyCnn, unitSpec, useBackend } from './helpers.ts';

const CLASSES = 5;
const PIXELS = 100;

const specs: AttackSpec[] = [
  { method: 'fgsm', gradient: 'least-likely-argmin', eps: 0.03 },
  { method: 'bim', gradient: 'random-target', eps: 0.03, steps: 3 },
  { method: 'pgd', gradient: 'inverse', eps: 0.03, steps: 3 },
  { method: 'pgd', gradient: 'least-likely', eps: 0.6, norm: 'l2', alpha: 0.3, steps: 2 },
  { method: 'mifgsm', gradient: 'least-likely-argmin', eps: 0.03, steps: 3 },
];
const label = (s: AttackSpec) => `${s.method} ${s.norm ?? 'linf'} ${s.gradient}`;

beforeAll(() => useBackend('wasm'));

describe.each(['compiled', 'tf.grad'] as const)('%s gradient', (gradient) => {
  let model: AttackModel;
  beforeAll(() => {
    model = tinyAttackModel(gradient, CLASSES);
  });

  test.each(specs.map((s) => [label(s), s] as const))('%s: same seed → same bytes; batch size does not matter', async (_l, spec) => {
    const attack = resolveAttack(spec, CLASSES);
    const batch = makeBatch(12, PIXELS, CLASSES);
    const whole = await attackBatch(model, attack, batch, 42);
    const again = await attackBatch(model, attack, batch, 42);
    expect(bytes(again.images).equals(bytes(whole.images))).toBe(true);
    // 12 images at batch 12 vs batches of 5, 5, 2.
    const parts = await Promise.all([sliceBatch(batch, 0, 5), sliceBatch(batch, 5, 10), sliceBatch(batch, 10, 12)].map((b) => attackBatch(model, attack, b, 42)));
    const images = new Float32Array(whole.images.length);
    const targets = new Int32Array(12);
    let at = 0;
    for (const p of parts) {
      images.set(p.images, at * PIXELS);
      targets.set(p.targets, at);
      at += p.targets.length;
    }
    expect(bytes(images).equals(bytes(whole.images))).toBe(true);
    expect(Array.from(targets)).toEqual(Array.from(whole.targets));
  });

  test('PGD\'s random start depends on the seed', async () => {
    const attack = resolveAttack({ method: 'pgd', gradient: 'inverse', eps: 0.03, steps: 1 }, CLASSES);
    const batch = makeBatch(4, PIXELS, CLASSES);
    const [one, two] = [await attackBatch(model, attack, batch, 1), await attackBatch(model, attack, batch, 2)];
    expect(bytes(one.images).equals(bytes(two.images))).toBe(false);
  });
});

describe('worker pool', () => {
  let source: ModelSource;
  let pool: AttackPool;
  let local: AttackPool;
  beforeAll(async () => {
    const artifacts = await serializeLayersModel(tinyCnn(10, 10, 1, CLASSES));
    source = { kind: 'artifacts', artifacts, spec: unitSpec(10, 10, 1), numClasses: CLASSES };
    [pool, local] = await Promise.all([AttackPool.create({ source, workers: 2, backend: 'wasm' }), AttackPool.create({ source, workers: 1, backend: 'wasm' })]);
  });
  afterAll(async () => {
    await pool?.close();
    await local?.close();
  });

  test('2 workers give the bytes of the in-process path, in order', async () => {
    expect(pool.workers).toBe(2);
    expect(local.workers).toBe(1);
    expect(pool.gradients.gradientPath).toBe('compiled');
    const batch = makeBatch(11, PIXELS, CLASSES);
    for (const spec of specs) {
      const attack = resolveAttack(spec, CLASSES);
      const [a, b] = await Promise.all([pool.run(attack, batch, 5), local.run(attack, batch, 5)]);
      expect(bytes(a.images).equals(bytes(b.images))).toBe(true);
      expect(Array.from(a.targets)).toEqual(Array.from(b.targets));
    }
    // The caller's batch is left intact (slices are copied before they are transferred).
    expect(batch.pixels.length).toBe(11 * PIXELS);
  });

  test('several batches in flight come back to their callers', async () => {
    const attack = resolveAttack({ method: 'fgsm', gradient: 'inverse', eps: 0.03 }, CLASSES);
    const batches = [3, 1, 7, 2].map((n, i) => makeBatch(n, PIXELS, CLASSES, 20 + i, 1000 * i));
    const results = await Promise.all(batches.map((b) => pool.run(attack, b, 0)));
    for (let i = 0; i < batches.length; i++) {
      const expected = await attackBatch(tinyAttackModel('compiled', CLASSES), attack, batches[i]!, 0);
      expect(bytes(results[i]!.images).equals(bytes(expected.images))).toBe(true);
    }
  });

  test('a worker\'s GradsignError reaches the caller as a GradsignError', async () => {
    const unsupported = await serializeLayersModel(
      tf.sequential({ layers: [tf.layers.cropping2D({ inputShape: [10, 10, 1], cropping: 1 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] }),
    );
    const create = AttackPool.create({
      source: { kind: 'artifacts', artifacts: unsupported, spec: unitSpec(10, 10, 1), numClasses: 3 },
      workers: 2,
      backend: 'wasm',
      gradient: 'compiled',
    });
    await expect(create).rejects.toThrow(GradsignError);
    await expect(create).rejects.toThrow(/cannot use the compiled gradient path/);
  });
});
