/**
 * ε lives in pixel space: a model declared with normalisation 'inception' ([-1,1] input) and an
 * equivalent 'unit' model whose first operation maps x ↦ 2x − 1 itself are attacked identically
 * (byte for byte on the tf.grad path, which runs the same operations).
 */
import { makeClassifier, tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { attackBatch, attackModelFromClassifier, attackModelFromLayers, resolveAttack, type AttackModel, type AttackSpec } from '../src/index.ts';
import { bytes, makeBatch, tinyCnn, unitSpec, useBackend } from './helpers.ts';

const CLASSES = 5;

describe.each(['wasm', 'cpu'] as const)('%s backend', (backend) => {
  let inceptionCompiled: AttackModel;
  let inceptionTfGrad: AttackModel;
  let unitWithOwnScaling: AttackModel;
  beforeAll(async () => {
    await useBackend(backend);
    const layers = tinyCnn(10, 10, 1, CLASSES, 4);
    inceptionCompiled = attackModelFromLayers(layers, unitSpec(10, 10, 1, { normalization: 'inception' }), CLASSES, 'compiled');
    inceptionTfGrad = attackModelFromLayers(layers, unitSpec(10, 10, 1, { normalization: 'inception' }), CLASSES, 'tf.grad');
    const own = (x: tf.Tensor4D) => layers.apply(tf.sub(tf.mul(x, 2), 1), { training: false }) as tf.Tensor;
    unitWithOwnScaling = attackModelFromClassifier(makeClassifier(own, unitSpec(10, 10, 1), CLASSES));
  });

  const specs: AttackSpec[] = [
    { method: 'fgsm', gradient: 'inverse', eps: 8 / 255 },
    { method: 'bim', gradient: 'least-likely', eps: 8 / 255, steps: 4 },
    { method: 'pgd', gradient: 'inverse', eps: 0.5, norm: 'l2', alpha: 0.2, steps: 3 },
  ];
  test.each(specs.map((s) => [`${s.method} ${s.norm ?? 'linf'}`, s] as const))('%s: same images', async (_l, spec) => {
    const attack = resolveAttack(spec, CLASSES);
    const batch = makeBatch(6, 100, CLASSES);
    const reference = (await attackBatch(unitWithOwnScaling, attack, batch, 3)).images;
    expect(bytes((await attackBatch(inceptionTfGrad, attack, batch, 3)).images).equals(bytes(reference))).toBe(true);
    // The compiled path rounds differently in the last bits (L2 steps use the gradient's values).
    const compiled = (await attackBatch(inceptionCompiled, attack, batch, 3)).images;
    let worst = 0;
    for (let j = 0; j < compiled.length; j++) worst = Math.max(worst, Math.abs(compiled[j]! - reference[j]!));
    expect(worst).toBeLessThanOrEqual(1e-6);
    // ε is in pixel units: FGSM's L∞ change is ε, not 2ε.
    if (spec.method === 'fgsm') {
      let linf = 0;
      for (let j = 0; j < reference.length; j++) linf = Math.max(linf, Math.abs(reference[j]! - batch.pixels[j]!));
      expect(linf).toBeCloseTo(8 / 255, 6);
    }
  });
});
