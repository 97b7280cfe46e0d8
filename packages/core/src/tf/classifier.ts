/**
 * A differentiable classifier over [0,1] pixel images. The model's own input normalisation and
 * output kind (logits or probabilities) live here, once, so attacks never think about them and ε
 * means the same for every model (README, "How it works"; packages/attacks/README.md).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, Normalization } from '../config.ts';
import { GradsignError } from '../errors.ts';

export interface Classifier {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Log-probabilities [batch, numClasses] from pixels [batch, h, w, c] in [0,1]; differentiable. */
  logProbs(pixels: tf.Tensor4D): tf.Tensor2D;
  /**
   * What the attack loss differentiates: [batch, outputs] over every model output (labelOffset
   * included), with log p = logSoftmax(scores). Logits where the model gives them or ends in a
   * softmax we can step over; log-probabilities otherwise (then a saturated softmax inside the
   * model can still round the gradient away: `scoresKind` says which).
   */
  lossScores(pixels: tf.Tensor4D): tf.Tensor2D;
  readonly scoresKind: 'logits' | 'log-probabilities';
  /** Output index of class 0. */
  readonly labelOffset: number;
  dispose(): void;
}

/** The preset normalisations, as functions of [0,1] pixels. */
export function normalize(x: tf.Tensor4D, normalization: Normalization, channels: number): tf.Tensor4D {
  if (normalization === 'unit') return x;
  if (normalization === 'inception') return tf.sub(tf.mul(x, 2), 1);
  if (normalization === 'caffe') {
    // Keras "caffe" mode: RGB→BGR, 0–255, minus the ImageNet BGR means.
    const bgr = channels === 3 ? tf.reverse(x, -1) : x;
    return tf.sub(tf.mul(bgr, 255), tf.tensor1d([103.939, 116.779, 123.68].slice(0, channels)));
  }
  const { mean, std } =
    normalization === 'torch' ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : normalization;
  if (mean.length !== channels && mean.length !== 1) {
    throw new GradsignError(`normalization mean has ${mean.length} values but the model has ${channels} channels`, {
      hint: 'give one mean and std per channel, or one for all',
    });
  }
  return tf.div(tf.sub(x, tf.tensor1d(mean.slice(0, channels))), tf.tensor1d(std.slice(0, channels)));
}

/** Wraps a forward function `raw(normalizedInput) → outputs` (what `spec.output` says) as a Classifier. */
export function makeClassifier(
  raw: (input: tf.Tensor4D) => tf.Tensor,
  spec: ModelSpec,
  numClasses: number,
  dispose: () => void = () => undefined,
): Classifier {
  const lossScores = (pixels: tf.Tensor4D) =>
    tf.tidy(() => {
      const out = raw(normalize(pixels, spec.normalization, spec.channels)) as tf.Tensor2D;
      return spec.output === 'logits' ? out : (tf.log(tf.clipByValue(out, 1e-30, 1)) as tf.Tensor2D);
    });
  return {
    height: spec.height,
    width: spec.width,
    channels: spec.channels,
    numClasses,
    scoresKind: spec.output === 'logits' ? 'logits' : 'log-probabilities',
    labelOffset: spec.labelOffset,
    lossScores,
    logProbs(pixels) {
      return tf.tidy(() => logProbsFromScores(lossScores(pixels), this));
    },
    dispose,
  };
}

type Outputs = Pick<Classifier, 'scoresKind' | 'labelOffset' | 'numClasses'>;

/** The class outputs of a [batch, outputs] tensor: `numClasses` columns from `labelOffset`. */
export function classOutputs(t: tf.Tensor2D, c: Outputs): tf.Tensor2D {
  return c.labelOffset > 0 || t.shape[1] !== c.numClasses ? (tf.slice(t, [0, c.labelOffset], [-1, c.numClasses]) as tf.Tensor2D) : t;
}

/** What `logProbs` returns, from what `lossScores` returned (so one forward pass gives both). */
export function logProbsFromScores(scores: tf.Tensor2D, c: Outputs): tf.Tensor2D {
  return classOutputs(c.scoresKind === 'logits' ? tf.logSoftmax(scores) : scores, c);
}
