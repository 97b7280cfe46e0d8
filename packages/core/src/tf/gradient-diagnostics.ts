/**
 * Where an input gradient is zero, and whether it should be. ReLU and max-pool networks have exact
 * zeros: a pixel whose every path to the output passes a ReLU that is off, or loses a max-pool, has
 * a zero gradient for any loss. Those "structural" zeros are found with a random cotangent at the
 * model output (Jᵀr is zero exactly where J's column is, for almost every r). An attack gradient
 * with more zeros than that was rounded away, not blocked by the network: possible gradient masking.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng.ts';
import type { Classifier } from './classifier.ts';

/** Per image, how many values of a [n, h, w, c] tensor are exactly zero: an int32 [n] tensor (read it with tidyRead). */
export function zeroCounts(g: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(g, 0), 'int32'), [1, 2, 3]) as tf.Tensor1D);
}

/** A seeded standard-normal cotangent per image id (Box–Muller), so counts do not depend on batching. */
function randomCotangent(ids: Int32Array, outputs: number, seed: number): Float32Array {
  const r = new Float32Array(ids.length * outputs);
  ids.forEach((id, i) => {
    const rng = new Rng(seed, 2_000_000 + id);
    for (let j = 0; j < outputs; j++) r[i * outputs + j] = Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  });
  return r;
}

/**
 * Per image, how many pixels have a zero gradient for every output of the model (the structural
 * zeros at x): zeros of ∇x ⟨r, scores(x)⟩ for a seeded random r. An int32 [n] tensor, like zeroCounts.
 */
export function structuralZeroCounts(classifier: Classifier, x: tf.Tensor4D, ids: Int32Array, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    const g = tf.grad((input: tf.Tensor) => {
      const scores = classifier.lossScores(input as tf.Tensor4D);
      const [n, outputs] = scores.shape;
      return tf.sum(tf.mul(scores, tf.tensor2d(randomCotangent(ids, outputs, seed), [n, outputs])));
    })(x) as tf.Tensor4D;
    return zeroCounts(g);
  });
}
