/**
 * The default classifier for the embedded setup: conv32-pool-conv64-pool-fc128-fc10, logits out
 * (the same network as the PyTorch reference in bench/torch_bench.py). Every initializer is seeded.
 */
import { tf } from '@gradsign/core/tf';

export function buildSmallCnn(input: { height: number; width: number; channels: number }, numClasses: number, seed: number): tf.LayersModel {
  let s = seed * 16;
  const init = () => tf.initializers.glorotUniform({ seed: s++ });
  return tf.sequential({
    name: 'small_cnn',
    layers: [
      tf.layers.conv2d({
        inputShape: [input.height, input.width, input.channels],
        filters: 32,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', kernelInitializer: init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init() }),
      tf.layers.dense({ units: numClasses, kernelInitializer: init() }),
    ],
  });
}
