/**
 * BatchNormalization without γ (Keras InceptionV3's scale=False) or without β: stock tfjs 4.22
 * cannot differentiate it; loaded through core's model IO it can, with outputs bit-identical to
 * the original and the input gradient bit-identical to a twin built with γ = 1 / β = 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadModelDir, saveLayersModel, tf } from '@gradsign/core/tf';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '@gradsign/core';
import { Init, randomImage } from '../../../test/fixtures/layer-cases.ts';
import { TEST_BACKENDS, useBackend } from '../../../test/helpers/backends.ts';

type Variant = { scale: boolean; center: boolean };

/** conv → BN(variant) → relu → conv → BN(γ and β) → flatten → dense; weights seeded, so twins share them. */
function model({ scale, center }: Variant): tf.LayersModel {
  const init = new Init(3);
  const input = tf.input({ shape: [6, 6, 2] });
  const layers = [
    init.conv(3, 3, { useBias: false }),
    tf.layers.batchNormalization({ scale, center, epsilon: 1e-3 }),
    tf.layers.activation({ activation: 'relu' }),
    init.conv(2, 3),
    tf.layers.batchNormalization({}),
    tf.layers.flatten(),
    init.dense(4),
  ];
  const output = layers.reduce<tf.SymbolicTensor>((x, l) => l.apply(x) as tf.SymbolicTensor, input);
  const m = tf.model({ inputs: input, outputs: output });
  const rng = new Rng(5, 7);
  const ranges: Record<string, [number, number]> = { gamma: [0.5, 1.5], beta: [-0.5, 0.5], moving_mean: [-0.5, 0.5], moving_variance: [0.3, 2] };
  for (const layer of m.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    layer.setWeights(
      layer.weights.map((w) => {
        const [lo, hi] = ranges[w.name.split('/').pop()!]!;
        return tf.tensor1d(Array.from({ length: w.shape[0]! }, () => lo + (hi - lo) * rng.next()));
      }),
    );
  }
  return m;
}

/** The same model with γ = 1 / β = 0 where `variant` has none, and the other weights copied. */
function twin(original: tf.LayersModel, variant: Variant): tf.LayersModel {
  const m = model({ scale: true, center: true });
  m.layers.forEach((layer, i) => {
    const source = original.layers[i]!.getWeights();
    if (layer.getClassName() !== 'BatchNormalization' || source.length === 4) return layer.setWeights(source);
    const c = source[source.length - 1]!.shape;
    const [gamma, beta] = [variant.scale ? source.shift()! : tf.ones(c), variant.center ? source.shift()! : tf.zeros(c)];
    layer.setWeights([gamma, beta, ...source]);
  });
  return m;
}

const gradient = (m: tf.LayersModel, x: tf.Tensor) => tf.grad((input: tf.Tensor) => tf.sum(tf.mul(m.apply(input, { training: false }) as tf.Tensor, tf.tensor1d([0.3, -1, 0.5, 2]))))(x);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-bn-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each(TEST_BACKENDS)('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each([
    { scale: false, center: true },
    { scale: true, center: false },
    { scale: false, center: false },
  ])('scale $scale, center $center', async (variant) => {
    const original = model(variant);
    const x = tf.tensor(Float32Array.from(randomImage([6, 6, 2], 9)), [1, 6, 6, 2]);
    expect(() => gradient(original, x)).toThrow(/Cannot read properties of undefined/); // the tfjs bug this works around
    const saved = path.join(dir, `${backend}-${variant.scale}-${variant.center}`);
    await saveLayersModel(original, saved);
    const loaded = await loadModelDir(saved, 'layers');
    if (loaded.kind !== 'layers') throw new Error('expected a layers model');
    const predict = (m: tf.LayersModel) => Array.from((m.predict(x) as tf.Tensor).dataSync());
    expect(predict(loaded.model)).toEqual(predict(original));
    const reference = twin(original, variant);
    const g = Array.from(gradient(loaded.model, x).dataSync());
    expect(g).toEqual(Array.from(gradient(reference, x).dataSync()));
    expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(0);
    tf.dispose([original, loaded.model, reference, x] as never);
  });
});
