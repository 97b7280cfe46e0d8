/**
 * What an attack needs from a model: log-probabilities over [0,1] pixels and the loss gradient in
 * pixel space. Two implementations:
 *
 *  - `tf.grad` (any model, any backend): differentiates `Classifier.logProbs`, so the model's
 *    normalisation and output kind are inside the differentiated function;
 *  - `compiled` (compiled/compile.ts): a chain of standard layers (Conv2D, MaxPooling2D, Dense, ...)
 *    with a hand-written input-gradient backward pass, used when the model allows it.
 *
 * Both compute ∇x Σᵢ −log p(targetᵢ | xᵢ) up to a positive factor per image, from core's
 * saturation-safe gradient at the logits (core/src/tf/loss-gradient.ts), so confident images keep
 * an exact direction; each image's gradient depends on that image only.
 */
import { scaledInputGradient, tf, type Classifier } from '@gradsign/core/tf';

/** Which code computes input gradients. `auto`: `compiled` where supported, else `tf.grad`. */
export type GradientOption = 'auto' | 'compiled' | 'tf.grad';
export type GradientPath = 'compiled' | 'tf.grad';

/** One forward pass whose intermediates are kept, so a backward pass can follow without a second forward. */
export interface ForwardPass {
  /** Log-probabilities [n, classes] at x (owned by the pass). */
  readonly logProbs: tf.Tensor2D;
  /** `lossGradient` at the same x (a new tensor, owned by the caller). */
  backward(targets: tf.Tensor1D): tf.Tensor4D;
  dispose(): void;
}

export interface AttackModel {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly gradientPath: GradientPath;
  /** What the loss is differentiated from: logits (exact on confident images) or log-probabilities (a softmax inside the model may still saturate). */
  readonly scoresKind: Classifier['scoresKind'];
  /** Why the compiled path was not used (when it was not). */
  readonly fallbackReason?: string;
  /** Log-probabilities [n, classes] of pixels [n, h, w, c] in [0,1]. */
  logProbs(x: tf.Tensor4D): tf.Tensor2D;
  /**
   * ∇x Σᵢ −log p(targetsᵢ | xᵢ) divided per image by 1 − p(targetsᵢ | xᵢ) (> 0): the direction is
   * exact even where float32 rounds p to 1, and the scale does not matter to sign, g/‖g‖₂ or g/‖g‖₁.
   */
  lossGradient(x: tf.Tensor4D, targets: tf.Tensor1D): tf.Tensor4D;
  forward(x: tf.Tensor4D): ForwardPass;
  dispose(): void;
}

/** How a model's gradients are computed, as plain data (logged by the stage, sent by workers). */
export type GradientInfo = Pick<AttackModel, 'gradientPath' | 'fallbackReason' | 'scoresKind'>;

export function gradientInfo(model: AttackModel): GradientInfo {
  return { gradientPath: model.gradientPath, scoresKind: model.scoresKind, ...(model.fallbackReason !== undefined ? { fallbackReason: model.fallbackReason } : {}) };
}

/** The `tf.grad` implementation over any Classifier. */
export function attackModelFromClassifier(classifier: Classifier, fallbackReason?: string): AttackModel {
  const { height, width, channels, numClasses } = classifier;
  const lossGradient = (x: tf.Tensor4D, targets: tf.Tensor1D) => scaledInputGradient(classifier, x, targets);
  return {
    height,
    width,
    channels,
    numClasses,
    gradientPath: 'tf.grad',
    scoresKind: classifier.scoresKind,
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
