/**
 * The float64 reference checked on its own: its forward pass against tfjs's float32 one for every
 * layer case, its hand-written input gradient against float64 central differences, and the
 * log-domain cross-entropy gradient at the logits.
 */
import { Rng } from '@gradsign/core';
import { tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { Init, LAYER_CASES, caseModel, randomImage } from '../fixtures/layer-cases.ts';
import { useBackend } from '../helpers/backends.ts';
import { centralDifference, crossEntropyInputGradient, crossEntropyLogitGradient, differences, forward64, inputGradient, logSumExp, referenceModel } from './float64.ts';

beforeAll(() => useBackend('cpu'));

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function tfjsForward(model: tf.LayersModel, x: Float64Array): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(Float32Array.from(x), [1, ...(model.inputs[0]!.shape.slice(1) as number[])])) as tf.Tensor).dataSync() as Float32Array);
}

describe('forward pass matches tfjs (float32) to 1e-5 relative', () => {
  test.each(LAYER_CASES)('$name', (c) => {
    const model = caseModel(c, 4);
    const reference = referenceModel(model);
    for (const seed of [1, 2]) {
      // Images in [0,1] and, for a second look at negative inputs, in [−1, 1].
      const x = randomImage(c.input, seed).map((v) => (seed === 2 ? 2 * v - 1 : v));
      const expected = tfjsForward(model, x);
      const actual = forward64(reference, x);
      const scale = maxAbs(actual);
      expect(scale).toBeGreaterThan(1e-3);
      actual.forEach((v, j) => expect(Math.abs(v - expected[j]!), `logit ${j}`).toBeLessThanOrEqual(1e-5 * scale));
    }
    model.dispose();
  });

  test('an unknown layer is named', () => {
    const model = tf.sequential({ layers: [tf.layers.cropping2D({ inputShape: [5, 5, 1], cropping: 1, name: 'crop_me' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    expect(() => referenceModel(model)).toThrow(/layer crop_me is a Cropping2D, which the reference does not implement/);
  });
});

/** conv(8, 3×3, relu) → maxpool 2 → conv(16, 3×3, relu) → maxpool 2 → flatten → dense(32, relu) → dense(10): the default CNN, smaller. */
function defaultLikeCnn(seed: number): tf.LayersModel {
  const init = new Init(seed);
  return tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [28, 28, 1] }),
      init.conv(8, 3, { activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      init.conv(16, 3, { activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      init.dense(32, { activation: 'relu' }),
      init.dense(10),
    ],
  });
}

/** The other layer types and variants the hand-written gradient covers. */
function variantsCnn(seed: number): tf.LayersModel {
  const init = new Init(seed);
  return tf.sequential({
    layers: [
      tf.layers.inputLayer({ inputShape: [11, 11, 2] }),
      init.conv(4, 3, { padding: 'same', strides: 2 }),
      tf.layers.reLU(),
      tf.layers.dropout({ rate: 0.3 }),
      init.conv(5, 2, { padding: 'same' }),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      init.conv(4, 3, { strides: 2, padding: 'valid', activation: 'linear' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tf.layers.flatten(),
      init.dense(7, { activation: 'relu' }),
      init.dense(4),
    ],
  });
}

describe('hand-written input gradient matches float64 central differences to 1e-7 relative', () => {
  test.each([
    ['default-like CNN', defaultLikeCnn],
    ['strided same convs, ReLU and Activation layers, dropout, same max-pools', variantsCnn],
  ] as const)('%s', (_name, build) => {
    const model = build(5);
    const reference = referenceModel(model);
    const rng = new Rng(11);
    for (const seed of [1, 2]) {
      const x = randomImage(reference.inputShape, seed);
      const r = Float64Array.from(forward64(reference, x), () => rng.next() - 0.5);
      const g = inputGradient(reference, x, r);
      const f = (z: Float64Array) => forward64(reference, z).reduce((s, v, j) => s + v * r[j]!, 0);
      // Every 3rd pixel (every pixel of a 28×28 image takes seconds), which reaches every border.
      const coords = Array.from(g, (_, i) => i).filter((i) => i % 3 === 0);
      const fd = differences(f, x, 1e-6, coords);
      const scale = maxAbs(fd.central);
      expect(scale).toBeGreaterThan(1e-4);
      let kinks = 0;
      coords.forEach((i, j) => {
        if (Math.abs(fd.forward[j]! - fd.backward[j]!) > 1e-7 * scale) kinks++;
        else expect(Math.abs(g[i]! - fd.central[j]!), `pixel ${i}`).toBeLessThanOrEqual(1e-7 * scale);
      });
      expect(kinks).toBeLessThanOrEqual(coords.length * 0.01);
    }
    model.dispose();
  });

  test('is fast enough for BIM on many images: a few ms per image for the default-like CNN', () => {
    const reference = referenceModel(defaultLikeCnn(3));
    const x = randomImage(reference.inputShape, 4);
    const r = new Float64Array(10).fill(0.1);
    inputGradient(reference, x, r);
    const start = performance.now();
    const n = 20;
    for (let i = 0; i < n; i++) inputGradient(reference, x, r);
    const perImage = (performance.now() - start) / n;
    expect(perImage).toBeLessThan(50); // typically 2–4 ms here; the bound allows for a loaded machine
  });

  test('a layer without a hand-written gradient, or a branching model, is named', () => {
    const init = new Init(9);
    const bn = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [4, 4, 1] }), tf.layers.batchNormalization({ name: 'bn_here' }), tf.layers.flatten(), init.dense(2)] });
    expect(() => inputGradient(referenceModel(bn), new Float64Array(16), [1, 0])).toThrow(/no hand-written input gradient for layer bn_here \(BatchNormalization\)/);
    const input = tf.input({ shape: [4, 4, 1] });
    const merged = tf.layers.add({ name: 'join' }).apply([init.conv(1, 1).apply(input) as tf.SymbolicTensor, input]) as tf.SymbolicTensor;
    const branching = tf.model({ inputs: input, outputs: init.dense(2).apply(tf.layers.flatten().apply(merged)) as tf.SymbolicTensor });
    expect(() => inputGradient(referenceModel(branching), new Float64Array(16), [1, 0])).toThrow(/join/);
  });
});

describe('cross-entropy gradient at the logits (log domain)', () => {
  const loss = (z: Float64Array, y: number) => logSumExp(z) - z[y]!;

  test('matches central differences of −log softmax', () => {
    const z = Float64Array.from([1.5, -0.3, 2.2, 0.1, -4]);
    const g = crossEntropyLogitGradient(z, 2);
    const fd = centralDifference((v) => loss(v, 2), z, 1e-6);
    g.forEach((v, j) => expect(v).toBeCloseTo(fd[j]!, 9));
    expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 15);
  });

  test('keeps the true-class entry on a saturated image, where p_y − 1 rounds to 0', () => {
    const z = Float64Array.from([60, 0, -3, 1]);
    const p = z.map((v) => Math.exp(v - logSumExp(z)));
    expect(p[0]! - 1).toBe(0);
    const g = crossEntropyLogitGradient(z, 0);
    const expected = Math.exp(-60) + Math.exp(-63) + Math.exp(-59);
    expect(g[0]! / -expected).toBeCloseTo(1, 12);
    expect(g[3]! / Math.exp(-59)).toBeCloseTo(1, 12);
  });

  test('pulled back to the input, it matches central differences of the loss', () => {
    const reference = referenceModel(variantsCnn(8));
    const x = randomImage(reference.inputShape, 6);
    const g = crossEntropyInputGradient(reference, x, 2);
    const coords = [0, 17, 60, 121, 241];
    const fd = centralDifference((z) => loss(forward64(reference, z), 2), x, 1e-6, coords);
    coords.forEach((i, j) => expect(Math.abs(g[i]! - fd[j]!)).toBeLessThanOrEqual(1e-7 * maxAbs(g)));
  });

  test('centralDifference restricted to some coordinates returns them in order', () => {
    const f = (v: Float64Array) => v[0]! * 2 + v[2]! ** 2;
    expect(Array.from(centralDifference(f, Float64Array.from([1, 1, 3]), 1e-5, [2, 0])).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([6, 2]);
  });
});
