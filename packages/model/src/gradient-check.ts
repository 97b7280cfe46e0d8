/**
 * Before a model is accepted: one forward pass (does every op run on this backend, what does it
 * output?) and one input gradient through the same Classifier the attacks use (does tfjs have a
 * gradient for every op between the logits and the pixels?). Whether that gradient is right:
 * directional-check.ts.
 */
import { GradsignError, log } from '@gradsign/core';
import { scaledInputGradient, tf, tidyRead, type Classifier, type LoadedModel } from '@gradsign/core/tf';

/** The model's raw forward function, as loadClassifier builds it. */
export function forwardOf(loaded: LoadedModel): (x: tf.Tensor4D) => tf.Tensor {
  return loaded.kind === 'layers'
    ? (x) => loaded.model.apply(x, { training: false }) as tf.Tensor
    : (x) => loaded.model.execute(x) as tf.Tensor;
}

export function opFailure(error: unknown, path: string, backend: string, during: string): GradsignError {
  const message = (error as Error)?.message ?? String(error);
  const noGradient = /gradient function not found for (\w+)/i.exec(message);
  if (noGradient) {
    return new GradsignError(
      `tfjs cannot compute the input gradient of the model in ${path}: it has no gradient for op "${noGradient[1]}", so gradient-sign attacks cannot run on it`,
      { hint: `re-export the model without ${noGradient[1]} between input and output (a differentiable equivalent, or move that step out of the model)`, cause: error },
    );
  }
  const unsupported = /Error in gradient of (\w+): (.*)/.exec(message);
  if (unsupported) {
    return new GradsignError(`tfjs cannot compute the input gradient of the model in ${path}: its ${unsupported[1]} gradient says "${unsupported[2]}"`, {
      hint: 'tfjs 4.22 cannot differentiate that configuration (e.g. a convolution with dilation > 1): re-export the model without it',
      cause: error,
    });
  }
  const noKernel = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
  if (noKernel) {
    return new GradsignError(`the model in ${path} uses op "${noKernel[1]}", which the ${noKernel[2]} backend does not implement (${during})`, {
      hint: 'try another backend (--backend cpu, or tensorflow with @tensorflow/tfjs-node installed)',
      cause: error,
    });
  }
  if (/executeAsync/.test(message)) {
    return new GradsignError(`the graph model in ${path} has dynamic control flow, which gradsign cannot differentiate (${message})`, {
      hint: 'export an inference graph without control flow (e.g. a Keras model converted with --input_format=keras)',
      cause: error,
    });
  }
  return new GradsignError(`the model in ${path} failed on the ${backend} backend during ${during}: ${message}`, {
    hint: 'check model.spec (input size, channels) against the model, and that the model runs in TensorFlow.js',
    cause: error,
  });
}

/** Runs one [1, h, w, c] batch through the raw model; returns the output shape. */
export function probeOutputShape(forward: (x: tf.Tensor4D) => tf.Tensor, shape: [number, number, number], path: string, backend: string): number[] {
  try {
    return tf.tidy(() => forward(tf.fill([1, ...shape], 0.5) as tf.Tensor4D).shape);
  } catch (error) {
    throw opFailure(error, path, backend, `a forward pass on a ${shape.join('×')} image`);
  }
}

export interface GradientCheck {
  /** 'ok', or 'zero' when the gradient vanished on the probe image (attacks would do nothing). */
  result: 'ok' | 'zero';
  maxAbs: number;
}

/** The attack's gradient (core's saturation-safe loss) of `label` at `image` ([1, h, w, c] in [0,1]) through the classifier. */
export async function checkInputGradient(classifier: Classifier, image: Float32Array, label: number, path: string, backend: string): Promise<GradientCheck> {
  const shape: [number, number, number, number] = [1, classifier.height, classifier.width, classifier.channels];
  let values: Float32Array;
  try {
    values = await tidyRead(() => scaledInputGradient(classifier, tf.tensor4d(image, shape), tf.tensor1d([label], 'int32')));
  } catch (error) {
    throw opFailure(error, path, backend, 'the input-gradient check');
  }
  let maxAbs = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      throw new GradsignError(`the input gradient of the model in ${path} is not finite (NaN or ±∞) on the check image`, {
        hint: 'check model.spec.output: a model that outputs logits must say "logits", one that ends in softmax "probabilities"',
      });
    }
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  if (maxAbs === 0) {
    log(`warning: the input gradient of the model in ${path} is exactly zero on the check image: gradient-sign attacks will not move it (a gradient-blocking op, or a saturated softmax inside the model?)`);
  }
  return { result: maxAbs === 0 ? 'zero' : 'ok', maxAbs };
}
