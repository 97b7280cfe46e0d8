/**
 * A small CNN trained on Fashion-MNIST until it is saturated: a few thousand images, several
 * epochs, a high learning rate. Its most confident test images have 1 − p(label) far below 1e-6,
 * from weights a real training produced (artificially scaled logits would not exercise the
 * backward pass the way a trained network does). Seeded: the same model every run.
 */
import { readIdxGz } from '../../packages/preprocess/src/idx.ts';
import { tf } from '@gradsign/core/tf';
import { Rng } from '@gradsign/core';

const DATASET = '/usr/share/datasets/fashion-mnist';
const PIXELS = 28 * 28;

export interface ConfidentCnn {
  model: tf.Sequential;
  /** Test images (flat [n·784] in [0,1]) and labels. */
  test: { pixels: Float32Array; labels: Int32Array };
}

function build(seed: number): tf.Sequential {
  let s = seed;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: 10, kernelInitializer: init() }),
    ],
  });
}

const unit = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);

/** Trains on the first `trainImages` training images (seeded batch order) on the active backend. */
export async function trainConfidentCnn({ trainImages = 5000, epochs = 6, learningRate = 0.01, batchSize = 64, seed = 1 } = {}): Promise<ConfidentCnn> {
  const [xTrain, yTrain, xTest, yTest] = await Promise.all(
    ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].map((f) => readIdxGz(`${DATASET}/${f}.gz`)),
  );
  const model = build(seed);
  model.compile({ optimizer: tf.train.adam(learningRate), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
  const pixels = unit(xTrain!.data.subarray(0, trainImages * PIXELS));
  const labels = Int32Array.from(yTrain!.data.subarray(0, trainImages));
  const rng = new Rng(seed, 7);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: trainImages }, (_, i) => i));
    for (let start = 0; start < trainImages; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const x = new Float32Array(rows.length * PIXELS);
      rows.forEach((r, i) => x.set(pixels.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS));
      const [xs, ys] = tf.tidy(() => [tf.tensor4d(x, [rows.length, 28, 28, 1]), tf.oneHot(tf.tensor1d(rows.map((r) => labels[r]!), 'int32'), 10)]);
      await model.trainOnBatch(xs!, ys!);
      tf.dispose([xs!, ys!]);
    }
  }
  return { model, test: { pixels: unit(xTest!.data), labels: Int32Array.from(yTest!.data) } };
}
