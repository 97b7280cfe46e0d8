/**
 * An Inception-style block, built by code: input 15×15×3 → [1×1 conv; 1×1 → 3×3 'same' conv;
 * 3×3 'same' stride-1 average pool → 1×1 conv], every conv followed by BatchNormalization
 * (non-trivial moving statistics, γ, β) and relu → concatenate → global average pooling → dense
 * logits. The tfjs input gradient of the softmax cross-entropy on cpu and wasm against float64
 * central differences through the reference: the same sign on ≥ 99.5% of the pixels that matter
 * (|g64| > 1e-6·max|g64|), and every value within 1e-4·max|g64| (kinks skipped, as in
 * layer-gradients.test.ts). Before the AvgPool gradient fix the pool branch's border pixels missed.
 */
import { tf } from '@gradsign/core/tf';
import { beforeAll, describe, expect, test } from 'vitest';
import { Init, randomImage, setBatchNormStatistics } from '../../../test/fixtures/layer-cases.ts';
import { agreement } from '../../../test/helpers/gradient-agreement.ts';
import { TEST_BACKENDS, useBackend } from '../../../test/helpers/backends.ts';
import { differences, forward64, logSumExp, referenceModel } from '../../../test/reference/float64.ts';

const CLASSES = 10;

function inceptionBlock(seed: number): tf.LayersModel {
  const init = new Init(seed);
  const input = tf.input({ shape: [15, 15, 3] });
  const on = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, kernelSize: number) =>
    on(tf.layers.activation({ activation: 'relu' }), on(tf.layers.batchNormalization({}), on(init.conv(filters, kernelSize, { padding: 'same', useBias: false }), x)));
  const branches = [
    convBnRelu(input, 4, 1),
    convBnRelu(convBnRelu(input, 3, 1), 4, 3),
    convBnRelu(on(tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }), input), 4, 1),
  ];
  const pooled = on(tf.layers.globalAveragePooling2d({}), on(tf.layers.concatenate(), branches));
  const model = tf.model({ inputs: input, outputs: on(init.dense(CLASSES), pooled) });
  setBatchNormStatistics(model, seed);
  return model;
}

/** ∇ₓ −log softmax(model(x))_label by tf.grad. */
function tfjsGradient(model: tf.LayersModel, x: Float64Array, label: number): Float32Array {
  return tf.tidy(() => {
    const loss = (input: tf.Tensor) => tf.neg(tf.slice(tf.logSoftmax(model.apply(input, { training: false }) as tf.Tensor2D), [0, label], [1, 1]).sum());
    return tf.grad(loss)(tf.tensor4d(Float32Array.from(x), [1, 15, 15, 3])).dataSync() as Float32Array;
  });
}

describe.each(TEST_BACKENDS)('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each([1, 2, 3])('image %i: sign and value of the input gradient match float64', (seed) => {
    const model = inceptionBlock(seed);
    const reference = referenceModel(model);
    const x = Float64Array.from(Float32Array.from(randomImage([15, 15, 3], seed)));
    const label = seed % CLASSES;
    const g = tfjsGradient(model, x, label);
    const coords = Array.from(x, (_, i) => i);
    const loss = (z: Float64Array) => {
      const logits = forward64(reference, z);
      return logSumExp(logits) - logits[label]!;
    };
    const a = agreement(g, differences(loss, x, 1e-6, coords), coords, 1e-4);
    expect(a.signAgreement).toBeGreaterThanOrEqual(0.995);
    expect(a.worst, `worst at input ${a.worstAt}`).toBeLessThanOrEqual(1e-4);
    expect(a.kinks).toBeLessThanOrEqual(0.01 * coords.length);
    model.dispose();
  });
});
