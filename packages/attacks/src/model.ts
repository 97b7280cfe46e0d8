/**
 * What an attack needs from a model: log-probabilities over [0,1] pixels and the loss gradient in
 * pixel space. Two implementations:
 *
 *  - `tf.grad` (any model, any backend): differentiates `Classifier.logProbs`, so the model's
 *    normalisation and output kind are inside the differentiated function;
 *  - `compiled` (compiled/compile.ts): a chain of standard layers (Conv2D, MaxPooling2D, Dense, ...)
 *    with a hand-written input-gradient backward pass, used when the model allows it.
 *
 * Both compute ∇x Σᵢ −log p(targetᵢ | xᵢ); each image's gradient depends on that image only.
 */
import { tf, type Classifier } from '@gradsign/core/tf';

/** Which code computes input gradients. `auto`: `compiled` where supported, else `tf.grad`. */
export type GradientOption = 'auto' | 'compiled' | 'tf.grad';
export type GradientPath = 'compiled' | 'tf.grad';

/** One forward pass whose intermediates are kept, so a backward pass can follow without a second forward. */
export interface ForwardPass {
  /** Log-probabilities [n, classes] at x (owned by the pass). */
  readonly logProbs: tf.Tensor2D;
  /** ∇x Σᵢ −log p(targetsᵢ | xᵢ) at the same x (a new tensor, owned by the caller). */
  backward(targets: tf.Tensor1D): tf.Tensor4D;
  dispose(): void;
}

export interface AttackModel {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly gradientPath: GradientPath;
  /** Why the compiled path was not used (when it was not). */
  readonly fallbackReason?: string;
  /** Log-probabilities [n, classes] of pixels [n, h, w, c] in [0,1]. */
  logProbs(x: tf.Tensor4D): tf.Tensor2D;
  /** ∇x Σᵢ −log p(targetsᵢ | xᵢ). */
  lossGradient(x: tf.Tensor4D, targets: tf.Tensor1D): tf.Tensor4D;
  forward(x: tf.Tensor4D): ForwardPass;
  dispose(): void;
}

/** Summed cross-entropy of log-probabilities against one-hot targets: Σᵢ −log p(targetᵢ). */
export function summedCrossEntropy(logProbs: tf.Tensor2D, targets: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(logProbs, tf.oneHot(targets, numClasses).toFloat()))) as tf.Scalar);
}

/** The `tf.grad` implementation over any Classifier. */
export function attackModelFromClassifier(classifier: Classifier, fallbackReason?: string): AttackModel {
  const { height, width, channels, numClasses } = classifier;
  const lossGradient = (x: tf.Tensor4D, targets: tf.Tensor1D) =>
    tf.tidy(() => {
      const grad = tf.grad((input: tf.Tensor) => summedCrossEntropy(classifier.logProbs(input as tf.Tensor4D), targets, numClasses));
      return grad(x) as tf.Tensor4D;
    });
  return {
    height,
    width,
    channels,
    numClasses,
    gradientPath: 'tf.grad',
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
    logProbs: (x) => classifier.logProbs(x),
    lossGradient,
    forward(x) {
      // tf.grad has no retained tape: the backward pass runs the forward pass again.
      const logProbs = classifier.logProbs(x);
      return {
        logProbs,
        backward: (targets) => lossGradient(x, targets),
        dispose: () => logProbs.dispose(),
      };
    },
    dispose: () => classifier.dispose(),
  };
}

/** An AttackModel as is, or a Classifier wrapped with the `tf.grad` path (cached per classifier). */
const wrapped = new WeakMap<Classifier, AttackModel>();
export function asAttackModel(model: AttackModel | Classifier): AttackModel {
  if ('lossGradient' in model) return model;
  let m = wrapped.get(model);
  if (!m) {
    m = attackModelFromClassifier(model);
    wrapped.set(model, m);
  }
  return m;
}
