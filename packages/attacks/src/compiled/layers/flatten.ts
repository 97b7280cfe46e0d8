/** Flatten: a reshape to [n, features] and back. */
import { tf } from '@gradsign/core/tf';
import type { LayerCompiler } from '../step.ts';

export const compileFlatten: LayerCompiler = () => ({
  name: 'Flatten',
  reluOutput: false,
  forward: (x) => tf.reshape(x, [x.shape[0]!, -1]),
  backward: (dy, x) => tf.reshape(dy, x.shape),
});
