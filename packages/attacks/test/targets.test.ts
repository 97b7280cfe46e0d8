/** How the gradient's class is chosen, and that attacks move the probabilities the right way. */
import { GradsignError } from '@gradsign/core';
import { tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { attackBatch, resolveAttack, targetStrategy, type AttackModel } from '../src/index.ts';
import { makeBatch, probs, tinyAttackModel, useBackend } from './helpers.ts';

const CLASSES = 5;
const N = 10;
let model: AttackModel;
beforeAll(async () => {
  await useBackend('wasm');
  model = tinyAttackModel('auto', CLASSES);
});

const at = (p: Float32Array, i: number, c: number) => p[i * CLASSES + c]!;

describe('targeted attacks raise the target probability; untargeted ones lower the true one', () => {
  test.each(['target:2', 'least-likely', 'least-likely-argmin', 'random-target'] as const)('%s', async (gradient) => {
    const batch = makeBatch(N, 100, CLASSES);
    const attack = resolveAttack({ method: 'bim', gradient, eps: 0.1, alpha: 0.02, steps: 8 }, CLASSES);
    expect(attack.targeted).toBe(true);
    const { images, targets } = await attackBatch(model, attack, batch, 0);
    const before = probs(model, batch.pixels, N);
    const after = probs(model, images, N);
    for (let i = 0; i < N; i++) expect(at(after, i, targets[i]!)).toBeGreaterThan(at(before, i, targets[i]!));
  });

  test('inverse', async () => {
    const batch = makeBatch(N, 100, CLASSES);
    const { images, targets } = await attackBatch(model, resolveAttack({ method: 'fgsm', gradient: 'inverse', eps: 0.05 }, CLASSES), batch, 0);
    expect(Array.from(targets)).toEqual(Array.from(batch.labels));
    const before = probs(model, batch.pixels, N);
    const after = probs(model, images, N);
    for (let i = 0; i < N; i++) expect(at(after, i, batch.labels[i]!)).toBeLessThan(at(before, i, batch.labels[i]!));
  });
});

describe('target choice', () => {
  const choose = async (gradient: string, batch = makeBatch(N, 100, CLASSES), seed = 0) =>
    (await attackBatch(model, resolveAttack({ method: 'fgsm', gradient, eps: 0.01 }, CLASSES), batch, seed)).targets;

  test('least-likely is the last (lowest-probability) class of the CLEAN top-5', async () => {
    const batch = makeBatch(N, 100, CLASSES);
    const targets = await choose('least-likely', batch);
    for (let i = 0; i < N; i++) expect(targets[i]).toBe(batch.top5[i * 5 + 4]);
  });

  test('least-likely-argmin is the argmin over all classes of the clean prediction', async () => {
    const batch = makeBatch(N, 100, CLASSES);
    const targets = await choose('least-likely-argmin', batch);
    const p = probs(model, batch.pixels, N);
    for (let i = 0; i < N; i++) {
      const row = Array.from(p.subarray(i * CLASSES, (i + 1) * CLASSES));
      expect(targets[i]).toBe(row.indexOf(Math.min(...row)));
    }
  });

  test('random-target never picks the true label, is seeded, and follows the image id, not its position', async () => {
    const batch = makeBatch(40, 100, CLASSES);
    const a = await choose('random-target', batch, 1);
    for (let i = 0; i < 40; i++) expect(a[i]).not.toBe(batch.labels[i]);
    expect(Array.from(await choose('random-target', batch, 1))).toEqual(Array.from(a));
    expect(Array.from(await choose('random-target', batch, 2))).not.toEqual(Array.from(a));
    // Reversed batch: each image keeps its target.
    const order = Array.from({ length: 40 }, (_, i) => 39 - i);
    const reversed = {
      ids: Int32Array.from(order, (i) => batch.ids[i]!),
      labels: Int32Array.from(order, (i) => batch.labels[i]!),
      top5: Int32Array.from(order.flatMap((i) => Array.from(batch.top5.subarray(i * 5, i * 5 + 5)))),
      pixels: Float32Array.from(order.flatMap((i) => Array.from(batch.pixels.subarray(i * 100, i * 100 + 100)))),
    };
    expect(Array.from(await choose('random-target', reversed, 1))).toEqual(order.map((i) => a[i]));
    // Every other class comes up.
    expect(new Set(a).size).toBe(CLASSES);
  });

  test('target:<k> fixes the class; out of range is a GradsignError', async () => {
    expect(Array.from(await choose('target:4'))).toEqual(new Array(N).fill(4));
    expect(() => targetStrategy('target:5', CLASSES)).toThrow(GradsignError);
    expect(() => targetStrategy('target:5', CLASSES)).toThrow(/out of range/);
  });

  test('the clean forward pass of least-likely-argmin is reused by the first gradient (same images as two passes)', async () => {
    const batch = makeBatch(N, 100, CLASSES);
    const attack = resolveAttack({ method: 'fgsm', gradient: 'least-likely-argmin', eps: 0.05 }, CLASSES);
    const calls = { forward: 0, lossGradient: 0 };
    const counting: AttackModel = {
      ...model,
      forward: (x) => (calls.forward++, model.forward(x)),
      lossGradient: (x, t) => (calls.lossGradient++, model.lossGradient(x, t)),
    };
    const reused = await attackBatch(counting, attack, batch, 0);
    expect(calls).toEqual({ forward: 1, lossGradient: 0 });
    // Recompute without reuse: targets from logProbs, then a plain gradient step.
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(batch.pixels, [N, 10, 10, 1]);
      const g = model.lossGradient(x, tf.tensor1d(reused.targets, 'int32'));
      return tf.clipByValue(tf.sub(x, tf.mul(tf.sign(g), 0.05)), 0, 1).dataSync() as Float32Array;
    });
    // The box clip and the [0,1] clip agree for FGSM (see exact.test.ts); allow float32 rounding of x ± ε only.
    for (let j = 0; j < expected.length; j++) expect(Math.abs(reused.images[j]! - expected[j]!)).toBeLessThanOrEqual(1e-7);
  });
});
