/**
 * The saturation-safe attack loss (src/tf/loss-gradient.ts) against float64, on the cpu and wasm
 * backends: its logit gradient is (p − onehot(y)) / Σⱼ≠y pⱼ to float32 precision at any logit
 * margin, where the naive float32 gradient loses its true-class entry (margin ≳ 17) and then
 * everything (margin ≳ 104); and a model ending in a softmax is differentiated from its logits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeColourClassifierGraph } from '../../../test/fixtures/imagenet-like.ts';
import { Rng } from '../src/rng.ts';
import {
  attackCrossEntropy,
  classifierFromModel,
  initWasm,
  loadModelDir,
  makeClassifier,
  scaledInputGradient,
  scaledLogitGradient,
  tf,
} from '../src/tf/index.ts';

/** (p − onehot(y)) / Σⱼ≠y pⱼ in float64, with pⱼ/Σⱼ≠y pⱼ = exp(zⱼ − logsumexpⱼ≠y z). */
function exactScaledGradient(z: number[], y: number): number[] {
  const others = z.filter((_, j) => j !== y);
  const m = Math.max(...others);
  const lse = m + Math.log(others.reduce((s, v) => s + Math.exp(v - m), 0));
  return z.map((v, j) => (j === y ? -1 : Math.exp(v - lse)));
}

/** Logits with the true class `margin` above a spread of others. */
function saturatedLogits(rng: Rng, classes: number, y: number, margin: number): number[] {
  const z = Array.from({ length: classes }, () => 4 * rng.next() - 2);
  z[y] = Math.max(...z) + margin;
  return z;
}

const MARGINS = [0.5, 5, 20, 60, 120, 300];

describe.each(['cpu', 'wasm'] as const)('%s backend', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') expect(await initWasm()).toBe(true);
    else await tf.setBackend('cpu');
    await tf.ready();
  });

  test.each(MARGINS)('logit gradient at margin %d matches float64, untargeted and targeted', (margin) => {
    const rng = new Rng(margin * 10);
    const classes = 10;
    const rows = [0, 3, 9].map((y) => ({ y, z: saturatedLogits(rng, classes, y, margin) }));
    // Targeted: the target is the least likely class of a confident image.
    rows.push(...rows.map(({ z }) => ({ z, y: z.indexOf(Math.min(...z)) })));
    const scores = tf.tensor2d(rows.flatMap((r) => r.z), [rows.length, classes]);
    const targets = tf.tensor1d(rows.map((r) => r.y), 'int32');
    const g = scaledLogitGradient(scores, targets).arraySync();
    rows.forEach(({ z, y }, i) => {
      const exact = exactScaledGradient(Array.from(Float32Array.from(z)), y);
      for (let j = 0; j < classes; j++) {
        expect(g[i]![j]!, `row ${i} class ${j}`).toBeCloseTo(exact[j]!, 6);
        // The smallest entries are exact relative to themselves, not only to the largest.
        if (exact[j]! > 1e-30) expect(Math.abs(g[i]![j]! - exact[j]!) / exact[j]!).toBeLessThan(1e-5);
      }
      expect(g[i]![y]).toBe(-1);
    });
    tf.dispose([scores, targets]);
  });

  test('the naive float32 gradient loses the true class at margin 20 and everything at margin 120 (why this exists)', () => {
    const naive = (margin: number) =>
      tf.tidy(() => {
        const z = tf.tensor2d([[margin, 0, 0.5, -1]]);
        return tf.grad((t: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(t), tf.oneHot([0], 4)))))(z).dataSync();
      });
    expect(naive(20)[0]).toBe(0);
    expect(Array.from(naive(120)).every((v) => v === 0)).toBe(true);
  });

  test('tf.grad of attackCrossEntropy is scaledLogitGradient, also when the targets were made in a finished tidy', () => {
    const z = tf.tensor2d([[30, 1, -2, 0.5], [0.1, 0.2, 0.3, 0.4]]);
    const g = tf.tidy(() => {
      const targets = tf.tidy(() => tf.add(tf.tensor1d([0, 1], 'int32'), tf.scalar(0, 'int32')) as tf.Tensor1D);
      const gradient = tf.grad((t: tf.Tensor) => attackCrossEntropy(t as tf.Tensor2D, targets))(z);
      return gradient.arraySync() as number[][];
    });
    expect(g[0]).toEqual(exactScaledGradient([30, 1, -2, 0.5], 0).map((v) => expect.closeTo(v, 6)));
    expect(g[1]).toEqual(exactScaledGradient(Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4])), 1).map((v) => expect.closeTo(v, 6)));
    z.dispose();
  });

  test('a saturated linear classifier: the input gradient has the float64 direction at margins up to 300', () => {
    // logits = W·x: ∇x = Wᵀ g, g the (scaled) logit gradient, so the float64 answer is exact.
    const rng = new Rng(7);
    const [pixels, classes] = [16, 5];
    const w = Array.from({ length: pixels * classes }, () => rng.next() - 0.5);
    const spec = { height: 4, width: 4, channels: 1 as const, normalization: 'unit' as const, output: 'logits' as const, labelOffset: 0 };
    for (const scale of [1, 100, 1000, 3000]) {
      const weights = tf.tensor2d(w.map((v) => v * scale), [pixels, classes]);
      const classifier = makeClassifier((x) => tf.matMul(tf.reshape(x, [-1, pixels]), weights), spec, classes);
      const x = Array.from({ length: pixels }, () => rng.next());
      const z = Array.from({ length: classes }, (_, k) => x.reduce((s, v, p) => s + v * w[p * classes + k]! * scale, 0));
      const y = z.indexOf(Math.max(...z));
      const dz = exactScaledGradient(z, y);
      const exact = x.map((_, p) => dz.reduce((s, v, k) => s + v * w[p * classes + k]! * scale, 0));
      const g = tf.tidy(() => scaledInputGradient(classifier, tf.tensor4d(x, [1, 4, 4, 1]), tf.tensor1d([y], 'int32')).dataSync());
      const max = Math.max(...exact.map(Math.abs));
      exact.forEach((e, p) => {
        if (Math.abs(e) > 1e-4 * max) expect(Math.sign(g[p]!), `scale ${scale} pixel ${p}`).toBe(Math.sign(e));
        expect(Math.abs(g[p]! - e)).toBeLessThanOrEqual(1e-4 * max);
      });
      weights.dispose();
    }
  });
});

describe('models that end in a softmax are differentiated from their logits', () => {
  let dir: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(path.join(os.tmpdir(), 'gradsign-logits-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const spec = { height: 3, width: 3, channels: 3 as const, normalization: 'unit' as const, output: 'probabilities' as const, labelOffset: 0 };
  const x = () => tf.tensor4d(Float32Array.from({ length: 27 }, (_, i) => (i * 7) % 11 / 10), [1, 3, 3, 3]);

  function dense(activation: 'softmax' | 'linear', withSoftmaxLayer: boolean): tf.Sequential {
    const model = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [3, 3, 3] }),
        tf.layers.dense({ units: 6, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: tf.initializers.randomUniform({ seed: 4 }) }),
      ],
    });
    if (withSoftmaxLayer) model.add(tf.layers.activation({ activation: 'softmax' }));
    return model;
  }

  test.each([
    ['Dense(softmax)', () => dense('softmax', false)],
    ['Dense → Activation(softmax)', () => dense('linear', true)],
  ])('%s: loss scores are the logits, log-probabilities their logSoftmax', (_, build) => {
    const model = build();
    const logitsModel = dense('linear', false); // same seeds: the same weights
    const classifier = classifierFromModel({ kind: 'layers', model }, spec, 6);
    expect(classifier.scoresKind).toBe('logits');
    const scores = tf.tidy(() => classifier.lossScores(x()).dataSync());
    const logits = tf.tidy(() => (logitsModel.predict(x()) as tf.Tensor).dataSync());
    expect(Array.from(scores)).toEqual(Array.from(logits).map((v) => expect.closeTo(v, 6)));
    const logp = tf.tidy(() => classifier.logProbs(x()).dataSync());
    const viaSoftmax = tf.tidy(() => tf.log(model.predict(x()) as tf.Tensor).dataSync());
    expect(Array.from(logp)).toEqual(Array.from(viaSoftmax).map((v) => expect.closeTo(v, 5)));
  });

  test('a probabilities model without a final softmax keeps log-probabilities (and says so)', () => {
    const model = dense('linear', false);
    model.add(tf.layers.activation({ activation: 'sigmoid' }));
    expect(classifierFromModel({ kind: 'layers', model }, spec, 6).scoresKind).toBe('log-probabilities');
  });

  test('a graph model ending in Softmax is read at the Softmax input', async () => {
    await writeColourClassifierGraph(dir, 3, 3);
    const loaded = await loadModelDir(dir);
    if (loaded.kind !== 'graph') throw new Error('expected a graph model');
    const classifier = classifierFromModel(loaded, spec, 1000);
    expect(classifier.scoresKind).toBe('logits');
    const scores = tf.tidy(() => classifier.lossScores(x()).dataSync());
    const logits = tf.tidy(() => (loaded.model.execute(x(), 'logits') as tf.Tensor).dataSync());
    expect(Buffer.from(scores.buffer).equals(Buffer.from(logits.buffer))).toBe(true);
  });
});
