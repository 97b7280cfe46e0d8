/**
 * The input gradient agrees with central finite differences of the loss on small CNNs, on the wasm
 * and cpu backends, for both gradient paths; and the compiled path agrees with tf.grad on models
 * that exercise its edges (normalisation, probabilities output, labelOffset, a layer it does not
 * support, strided 'same' convolutions, a ReLU layer, dropout).
 *
 * Finite differences in float32: the loss is ~1 with rounding ~1e-7, so a step h = 1e-3 gives an
 * error ~1e-4 on derivatives of size ~1e-2…1e-1. A ReLU/max-pool network is piecewise linear, so
 * where no activation changes sign and no pooling maximum changes within ±h the central difference
 * is exact up to that rounding. Where one does (a kink: the forward and backward differences
 * disagree) the coordinate is skipped; kinks must stay rare (≤ 5%), and every other coordinate
 * must match.
 */
import type { ModelSpec } from '@gradsign/core';
import { tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { attackModelFromLayers, type AttackModel, type GradientOption } from '../src/index.ts';
import { makeBatch, tinyCnn, unitSpec, useBackend, type TestBackend } from './helpers.ts';

const H = 10;
const W = 10;

interface Variant {
  name: string;
  build(): tf.LayersModel;
  spec: ModelSpec;
  classes: number;
  channels: 1 | 3;
}

/** A chain of valid convolutions and 2×2 pools over odd sizes: the compiled backward pass crops
 * the rows/columns no pooling window covers (and pads them back at the end). */
function oddSizes(height: number, layers: tf.layers.Layer[]): () => tf.LayersModel {
  return () => tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [height, height, 1] }), ...layers] });
}
let seed = 100;
const init = () => tf.initializers.glorotUniform({ seed: seed++ });
const bias = () => tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: seed++ });

const variants: Variant[] = [
  { name: 'default-like CNN (logits)', build: () => tinyCnn(H, W, 1, 5), spec: unitSpec(H, W, 1), classes: 5, channels: 1 },
  {
    name: 'RGB, torch normalisation, probabilities output (softmax layer left to tf.grad), labelOffset 1',
    build: () => {
      const m = tinyCnn(H, W, 3, 7, 2);
      m.add(tf.layers.activation({ activation: 'softmax' }));
      return m;
    },
    spec: unitSpec(H, W, 3, { normalization: 'torch', output: 'probabilities', labelOffset: 1 }),
    classes: 6,
    channels: 3,
  },
  {
    name: 'strided same-padded conv, ReLU layer, dropout, inception normalisation',
    build: () => {
      let s = 11;
      const init = () => tf.initializers.glorotUniform({ seed: s++ });
      return tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [H, W, 1], filters: 5, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init() }),
          tf.layers.reLU(),
          tf.layers.dropout({ rate: 0.5 }),
          tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: 'relu', kernelInitializer: init() }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 1 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 4, kernelInitializer: init() }),
        ],
      });
    },
    spec: unitSpec(H, W, 1, { normalization: 'inception' }),
    classes: 4,
    channels: 1,
  },
  {
    name: 'the default CNN\'s shape, smaller (28 → 26 → 13 → 11 → 5: cropped gradients)',
    build: () =>
      oddSizes(28, [
        tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
        tf.layers.dense({ units: 10, kernelInitializer: init() }),
      ])(),
    spec: unitSpec(28, 28, 1),
    classes: 10,
    channels: 1,
  },
  {
    name: 'conv → conv → pool over odd sizes (a cropped gradient reaches a ReLU conv)',
    build: () =>
      oddSizes(12, [
        tf.layers.conv2d({ filters: 5, kernelSize: 3, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
        tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: 'relu', kernelInitializer: init(), biasInitializer: bias() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, kernelInitializer: init() }),
      ])(),
    spec: unitSpec(12, 12, 1),
    classes: 3,
    channels: 1,
  },
];

const shapeOf = (model: AttackModel, n: number): [number, number, number, number] => [n, model.height, model.width, model.channels];

/**
 * ∇x Σᵢ −log p(targetᵢ | xᵢ): lossGradient returns it divided per image by 1 − p(targetᵢ | xᵢ)
 * (core's saturation-safe scaling), so multiply that factor back (in float64).
 */
function gradientOf(model: AttackModel, pixels: Float32Array, n: number, targets: number[]): Float64Array {
  const [scaled, lp] = tf.tidy(() => {
    const x = tf.tensor4d(pixels, shapeOf(model, n));
    return [model.lossGradient(x, tf.tensor1d(targets, 'int32')).dataSync() as Float32Array, model.logProbs(x).dataSync() as Float32Array];
  });
  const size = scaled.length / n;
  return Float64Array.from(scaled, (g, j) => {
    const i = Math.floor(j / size);
    return g * -Math.expm1(lp[i * model.numClasses + targets[i]!]!);
  });
}

/** Forward and backward differences of −log p(target | x) for the first image, at the given coordinates. */
function finiteDifferences(model: AttackModel, pixels: Float32Array, size: number, coords: number[], target: number, h: number) {
  const probes = new Float32Array((2 * coords.length + 1) * size);
  coords.forEach((c, j) => {
    probes.set(pixels.subarray(0, size), 2 * j * size);
    probes.set(pixels.subarray(0, size), (2 * j + 1) * size);
    probes[2 * j * size + c] = pixels[c]! + h;
    probes[(2 * j + 1) * size + c] = pixels[c]! - h;
  });
  probes.set(pixels.subarray(0, size), 2 * coords.length * size);
  const lp = tf.tidy(() => model.logProbs(tf.tensor4d(probes, shapeOf(model, 2 * coords.length + 1))).dataSync() as Float32Array);
  const k = model.numClasses;
  const loss = (probe: number) => -lp[probe * k + target]!;
  const center = loss(2 * coords.length);
  // The perturbed coordinates are exact in float32; the actual steps are the differences of the inputs.
  const forward = Float64Array.from(coords, (c, j) => (loss(2 * j) - center) / (probes[2 * j * size + c]! - pixels[c]!));
  const backward = Float64Array.from(coords, (c, j) => (center - loss(2 * j + 1)) / (pixels[c]! - probes[(2 * j + 1) * size + c]!));
  return { forward, backward, central: Float64Array.from(forward, (f, j) => (f + backward[j]!) / 2) };
}

describe.each(['wasm', 'cpu'] as TestBackend[])('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(variants)('$name', (variant) => {
    let models: Record<'compiled' | 'tf.grad', AttackModel>;
    beforeAll(() => {
      const layers = variant.build();
      models = {
        compiled: attackModelFromLayers(layers, variant.spec, variant.classes, 'compiled' satisfies GradientOption),
        'tf.grad': attackModelFromLayers(layers, variant.spec, variant.classes, 'tf.grad'),
      };
    });

    test.each(['compiled', 'tf.grad'] as const)('%s gradient matches central finite differences', (path) => {
      const size = variant.spec.height * variant.spec.width * variant.channels;
      const batch = makeBatch(2, size, variant.classes, 5);
      // Keep every coordinate ± h inside [0,1]: the model is defined on pixels.
      const pixels = batch.pixels.map((v) => 0.05 + 0.9 * v);
      const target = batch.labels[0]!;
      const g = gradientOf(models[path], pixels, 2, [target, batch.labels[1]!]);
      // Every coordinate of small inputs; for larger ones every 7th, which still reaches every border.
      const coords = Array.from({ length: size }, (_, j) => j).filter((j) => size <= 300 || j % 7 === 0 || j >= size - 30);
      const fd = finiteDifferences(models[path], pixels, size, coords, target, 1e-3);
      const scale = Math.max(...Array.from(fd.central, Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      const tol = 2e-3 * scale + 2e-4;
      let kinks = 0;
      coords.forEach((c, j) => {
        if (Math.abs(fd.forward[j]! - fd.backward[j]!) > 2 * tol) kinks++;
        else expect(Math.abs(fd.central[j]! - g[c]!), `coordinate ${c}`).toBeLessThanOrEqual(tol);
      });
      expect(kinks / coords.length).toBeLessThanOrEqual(0.05);
    });

    test('compiled and tf.grad agree (gradients and log-probabilities)', () => {
      const size = variant.spec.height * variant.spec.width * variant.channels;
      const batch = makeBatch(3, size, variant.classes, 9);
      const targets = Array.from(batch.labels);
      const a = gradientOf(models.compiled, batch.pixels, 3, targets);
      const b = gradientOf(models['tf.grad'], batch.pixels, 3, targets);
      const scale = Math.max(...Array.from(b, Math.abs));
      let worst = 0;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
      expect(worst).toBeLessThanOrEqual(1e-5 * scale);
      const x = () => tf.tensor4d(batch.pixels, shapeOf(models.compiled, 3));
      const la = tf.tidy(() => models.compiled.logProbs(x()).dataSync());
      const lb = tf.tidy(() => models['tf.grad'].logProbs(x()).dataSync());
      for (let j = 0; j < la.length; j++) expect(la[j]).toBeCloseTo(lb[j]!, 5);
    });
  });

  test('the compiled path reports what it could not compile, and steps over a final softmax', () => {
    const m = variants[1]!;
    const softmaxModel = attackModelFromLayers(m.build(), m.spec, m.classes, 'compiled');
    expect(softmaxModel.fallbackReason).toBeUndefined();
    expect(softmaxModel.scoresKind).toBe('logits');
    const tanhModel = tinyCnn(H, W, 1, 4);
    tanhModel.add(tf.layers.activation({ activation: 'tanh' }));
    const compiled = attackModelFromLayers(tanhModel, unitSpec(H, W, 1), 4, 'compiled');
    expect(compiled.gradientPath).toBe('compiled');
    expect(compiled.fallbackReason).toMatch(/compiled up to 7 of 8 layers.*activation "tanh"/);
    const auto = attackModelFromLayers(tf.sequential({ layers: [tf.layers.cropping2D({ inputShape: [H, W, 1], cropping: 1 }), tf.layers.flatten(), tf.layers.dense({ units: 3 })] }), unitSpec(H, W, 1), 3);
    expect(auto.gradientPath).toBe('tf.grad');
    expect(auto.fallbackReason).toMatch(/Cropping2D/);
  });
});
