/**
 * GradsignReluGrad: the ReLU backward pass from its output y, dy where y > 0, else 0. Branch-free:
 * (−v & ~v) of the bit pattern v has its sign bit set exactly when v > 0 as int32, i.e. when the
 * float y > 0 (−0 and 0 block the gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { memoryKernel } from './memory-kernel.ts';
import { addKernel } from './registry.ts';

const RELU_GRAD = 'GradsignReluGrad';

const reluGrad = memoryKernel(['dy', 'y'], ([dy]) => dy!.shape, ([d, y], out) => {
  const D = d!.i32;
  const Y = y!.i32;
  const O = out.i32;
  const n = O.length;
  for (let i = 0; i < n; i++) {
    const v = Y[i]!;
    O[i] = D[i]! & ((-v & ~v) >> 31);
  }
});

/** dy where y > 0, else 0 (ReLU backward from its output y). */
export function reluBackward(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  addKernel(RELU_GRAD, reluGrad);
  return tf.engine().runKernel(RELU_GRAD, { dy, y }) as tf.Tensor;
}
