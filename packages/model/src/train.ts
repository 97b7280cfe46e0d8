import { ImagesArtifact, Progress, Rng, log, readArtifact, toUnitFloat, type Batch } from '@gradsign/core';
import { tf, tidyRead } from '@gradsign/core/tf';
import { buildSmallCnn } from './small-cnn.ts';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  trainLimit?: number;
}

type Images = Batch<typeof ImagesArtifact.columns>;

export async function readImages(file: string, limit?: number) {
  const reader = await readArtifact(ImagesArtifact, file);
  try {
    const all = await reader.readAll();
    const pixels = reader.listSizes.image as number;
    const n = Math.min(all.id.length, limit ?? all.id.length);
    const data: Images = { id: all.id.subarray(0, n), label: all.label.subarray(0, n), image: all.image.subarray(0, n * pixels) };
    return { data, meta: reader.metadata, pixels, n };
  } finally {
    await reader.close();
  }
}

/** Gathers rows `indices` into a [b, h, w, c] float tensor in [0,1] and one-hot labels. */
function gather(data: Images, indices: number[], shape: [number, number, number], numClasses: number) {
  const pixels = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(indices.length * pixels);
  const y = new Int32Array(indices.length);
  indices.forEach((row, i) => {
    x.set(toUnitFloat(data.image.subarray(row * pixels, (row + 1) * pixels)), i * pixels);
    y[i] = data.label[row] as number;
  });
  return tf.tidy(() => ({
    xs: tf.tensor4d(x, [indices.length, ...shape]),
    ys: tf.oneHot(tf.tensor1d(y, 'int32'), numClasses),
  }));
}

/** Trains the small CNN with seeded init and seeded batch order (model.fit's shuffle uses Math.random). */
export async function trainSmallCnn(trainFile: string, options: TrainOptions) {
  const { data, meta, n } = await readImages(trainFile, options.trainLimit);
  const shape: [number, number, number] = [meta.height, meta.width, meta.channels];
  const numClasses = meta.classNames.length;
  const model = buildSmallCnn({ height: meta.height, width: meta.width, channels: meta.channels }, numClasses, options.seed);
  model.compile({
    optimizer: tf.train.adam(options.learningRate),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  });
  const rng = new Rng(options.seed, 1);
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const progress = new Progress(`train epoch ${epoch + 1}/${options.epochs}`, n, 'img');
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < n; start += options.batchSize) {
      const rows = order.slice(start, start + options.batchSize);
      const { xs, ys } = gather(data, rows, shape, numClasses);
      const loss = (await model.trainOnBatch(xs, ys)) as number;
      xs.dispose();
      ys.dispose();
      lossSum += loss;
      batches++;
      progress.tick(rows.length);
    }
    progress.finish();
    epochLosses.push(lossSum / batches);
    log(`epoch ${epoch + 1}: mean loss ${(lossSum / batches).toFixed(4)}`);
  }
  return { model, meta, trainImages: n, epochLosses };
}

/** Top-1 accuracy of `model` (logits out) on an images artifact. */
export async function accuracy(model: tf.LayersModel, file: string, batchSize = 256): Promise<{ n: number; top1: number }> {
  const { data, meta, n } = await readImages(file);
  const shape: [number, number, number] = [meta.height, meta.width, meta.channels];
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const { xs, ys } = gather(data, rows, shape, meta.classNames.length);
    const predicted = await tidyRead<Int32Array>(() => (model.predict(xs) as tf.Tensor).argMax(-1));
    xs.dispose();
    ys.dispose();
    rows.forEach((row, i) => {
      if (predicted[i] === data.label[row]) correct++;
    });
  }
  return { n, top1: correct / n };
}
