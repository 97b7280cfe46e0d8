/**
 * The attack loss, Σᵢ −log p(yᵢ | xᵢ), with a gradient at the logits that cannot vanish or lose its
 * sign on confident images.
 *
 * Differentiated naively in float32 (p − onehot(y)), a confident image's true-class entry p_y − 1
 * rounds to 0 once p_y rounds to 1 (a logit margin above ~17), and every other entry pⱼ underflows
 * to 0 beyond a margin of ~100: what reaches the pixels is then the wrong direction, or nothing.
 * Here the gradient is computed in the log domain and rescaled per image by 1 / Σⱼ≠y pⱼ:
 *
 *   m = maxⱼ≠y zⱼ,  sⱼ = exp(zⱼ − m) (j ≠ y),  S = Σⱼ≠y sⱼ,   ∂L/∂zⱼ ∝ sⱼ / S (j ≠ y),  ∂L/∂z_y ∝ −1
 *
 * which is (p − onehot(y)) / Σⱼ≠y pⱼ exactly, with max |·| = 1 and no cancellation. Every attack
 * here uses the gradient only through sign(g), g/‖g‖₂ or g/‖g‖₁ of each image, which a positive
 * per-image factor does not change; so the attack is the same, and exact where it was not.
 */
import * as tf from '@tensorflow/tfjs';
import type { Classifier } from './classifier.ts';

/**
 * ∂/∂z Σᵢ −log softmax(zᵢ)[yᵢ], divided per row by Σⱼ≠yᵢ softmax(zᵢ)ⱼ: the target entry is −1,
 * the others sⱼ/S in (0, 1]. `scores` are logits (or log-probabilities, for which softmax is the identity).
 */
export function scaledLogitGradient(scores: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const isTarget = tf.cast(tf.oneHot(targets, scores.shape[1]), 'bool');
    const others = tf.where(isTarget, tf.fill(scores.shape, -Infinity), scores);
    const s = tf.exp(tf.sub(others, tf.max(others, 1, true)));
    const share = tf.div(s, tf.sum(s, 1, true));
    return tf.sub(share, tf.cast(isTarget, 'float32')) as tf.Tensor2D;
  });
}

/**
 * Σᵢ −log softmax(scoresᵢ)[targetsᵢ], whose gradient with respect to `scores` is
 * `scaledLogitGradient`: a positive per-image multiple of the true gradient (see the header).
 */
export function attackCrossEntropy(scores: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
    // Saved tensors outlive the caller's tidy (the backward pass may run after it): targets too.
    save([z, targets]);
    const value = tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(targets, z.shape[1]!))));
    return {
      value,
      gradFunc: (dy: tf.Tensor, [savedZ, savedTargets]: tf.Tensor[]) => tf.mul(scaledLogitGradient(savedZ as tf.Tensor2D, savedTargets as tf.Tensor1D), dy),
    };
  });
  return loss(scores) as tf.Scalar;
}

/** The attack loss of a classifier at pixels x: class indices are shifted by its labelOffset. */
export function classifierAttackLoss(classifier: Classifier, x: tf.Tensor4D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const shifted = classifier.labelOffset > 0 ? tf.add(targets, tf.scalar(classifier.labelOffset, 'int32')) : targets;
    return attackCrossEntropy(classifier.lossScores(x), shifted as tf.Tensor1D);
  });
}

/**
 * A positive per-image multiple of ∇x Σᵢ −log p(targetᵢ | xᵢ) through `tf.grad`: the exact
 * gradient divided by 1 − p(targetᵢ | xᵢ) (for models whose scores are logits).
 */
export function scaledInputGradient(classifier: Classifier, x: tf.Tensor4D, targets: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((input: tf.Tensor) => classifierAttackLoss(classifier, input as tf.Tensor4D, targets))(x) as tf.Tensor4D);
}
