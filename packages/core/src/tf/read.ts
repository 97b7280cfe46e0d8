/**
 * Reading tensor values back to JS. Always asynchronous: on webgpu in Node a synchronous read
 * (dataSync/arraySync) of GPU memory fails ("OffscreenCanvas is not defined"); on wasm and cpu
 * `data()` returns the same values as `dataSync()`, so results do not change.
 */
import * as tf from '@tensorflow/tfjs';

/** The values of the tensor `make` returns (built inside a tidy: intermediates are freed); the tensor is disposed after the read. */
export async function tidyRead<T extends tf.TypedArray = Float32Array>(make: () => tf.Tensor): Promise<T> {
  const t = tf.tidy(make);
  try {
    return (await t.data()) as T;
  } finally {
    t.dispose();
  }
}
