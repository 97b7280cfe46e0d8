/**
 * The compiled gradient path: a layers model whose layers form a chain of standard layers gets a
 * hand-written input-gradient backward pass instead of `tf.grad`. It computes the same gradient
 * (up to float32 rounding) with less work:
 *
 *  - the forward pass uses the fused inference kernels (conv + bias + ReLU in one XNNPACK call)
 *    and keeps its activations, so a backward pass (and the target choice of least-likely-argmin)
 *    needs no second forward pass;
 *  - no weight gradients, no bias gradients, no step/cast/multiply chains for ReLU: a ReLU that
 *    feeds a 2×2 max-pool is differentiated together with it in one branch-free pass
 *    (core's src/tf/kernels/); transposed dense weights are made once, not per step.
 *
 * Supported chain (one compiler per layer class in layers/; anything else ends the compiled part,
 * and the rest of the model — the "head" — is differentiated with tf.grad, so every model still
 * gets the exact semantics):
 *   Conv2D (channelsLast, dilation 1, activation relu|linear), MaxPooling2D (channelsLast),
 *   Dense (activation relu|linear, on [n, features]), Flatten, Activation(relu|linear), ReLU
 *   (plain), Dropout-like layers (identity at inference).
 * The model's input normalisation and output handling (logits or probabilities, labelOffset) are
 * core's makeClassifier and normalize, reused as is; a final softmax is stepped over as core's
 * classifierFromModel does (its logits feed the attack loss), and the loss gradient at the logits
 * is core's saturation-safe one.
 */
import type { ModelSpec } from '@gradsign/core';
import { classifierAttackLoss, finalSoftmaxLayer, logitsBeforeSoftmax, makeClassifier, normalize, padBottomRight4D, tf } from '@gradsign/core/tf';
import type { AttackModel, ForwardPass } from '../model.ts';
import { compileLayer } from './layers/index.ts';
import type { Step } from './step.ts';

type Layer = tf.layers.Layer;

/** A cropped gradient zero-padded (bottom/right) back to `shape`. */
function uncrop(t: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (t.rank !== 4 || (t.shape[1] === shape[1] && t.shape[2] === shape[2])) return t;
  return padBottomRight4D(t as tf.Tensor4D, shape[1]!, shape[2]!);
}

/** The model's layers (without InputLayers) if they form a single chain input → output. */
function chainOf(model: tf.LayersModel): Layer[] | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return 'the model has several inputs or outputs';
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (let i = 0; i < layers.length; i++) {
    const nodes = layers[i]!.inboundNodes;
    if (nodes.length !== 1 || nodes[0]!.inboundLayers.length !== 1) return `layer ${layers[i]!.name} is not part of a single chain`;
    const from = nodes[0]!.inboundLayers[0]!;
    if (i === 0 ? from.getClassName() !== 'InputLayer' : from !== layers[i - 1]) return `layer ${layers[i]!.name} is not part of a single chain`;
  }
  const last = layers[layers.length - 1];
  if (!last || model.outputs[0]!.sourceLayer !== last) return 'the model output is not its last layer';
  return layers;
}

export interface CompiledModelOptions {
  numClasses: number;
  dispose?: () => void;
}

/**
 * Compiles a layers model into an AttackModel, or returns why it cannot (then use the tf.grad path).
 * A model whose first layer is already unsupported is not compiled (nothing to gain).
 */
export function compileLayersModel(model: tf.LayersModel, spec: ModelSpec, options: CompiledModelOptions): AttackModel | string {
  const fullChain = chainOf(model);
  if (typeof fullChain === 'string') return fullChain;
  // A final softmax of a probabilities model is stepped over: the loss takes the logits before it.
  const softmax = spec.output === 'probabilities' ? finalSoftmaxLayer(model) : undefined;
  const chain = softmax?.kind === 'activation' ? fullChain.slice(0, -1) : fullChain;
  const steps: Step[] = [];
  let stopReason: string | undefined;
  for (const layer of chain) {
    const step = compileLayer(layer, layer === softmax?.layer);
    if (typeof step === 'string') {
      stopReason = step;
      break;
    }
    steps.push(step);
  }
  if (steps.length === 0) {
    return `its first layer is not supported by the compiled path (${stopReason})`;
  }
  // A ReLU output followed by a 2×2/2 max-pool: differentiate both in one pass.
  for (let i = 1; i < steps.length; i++) {
    const pool = steps[i]!;
    if (pool.fusableWithRelu && steps[i - 1]!.reluOutput) {
      pool.fuseRelu = true;
      steps[i - 1]!.skipReluMask = true;
    }
  }
  const suffix = chain.slice(steps.length);
  const bodyDims = (chain[steps.length - 1]!.outputShape as number[]).slice(1);
  const bodySize = bodyDims.reduce((a, b) => a * b, 1);

  // The head: the unsupported rest of the model (if any), then core's output handling (logits or
  // probabilities → log-probabilities, labelOffset), exactly as makeClassifier does it for pixels.
  // The final softmax is already gone: in the suffix or at the end of the chain.
  const head = makeClassifier(
    (t) => {
      let out: tf.Tensor = tf.reshape(t, [t.shape[0], ...bodyDims]);
      for (const layer of suffix) {
        out = layer === softmax?.layer ? logitsBeforeSoftmax(softmax, out) : (layer.apply(out, { training: false }) as tf.Tensor);
      }
      return out;
    },
    { height: 1, width: 1, channels: 1, normalization: 'unit', output: softmax ? 'logits' : spec.output, labelOffset: spec.labelOffset },
    options.numClasses,
  );
  const headInput = (o: tf.Tensor) => tf.reshape(o, [o.shape[0]!, 1, 1, bodySize]) as tf.Tensor4D;
  const normalized = spec.normalization !== 'unit';

  function forward(x: tf.Tensor4D): ForwardPass {
    // activations[i] is step i's input; activations[steps.length] the body output.
    const kept = tf.tidy(() => {
      const activations: tf.Tensor[] = [normalized ? normalize(x, spec.normalization, spec.channels) : x];
      for (const step of steps) activations.push(step.forward(activations[activations.length - 1]!));
      const logProbs = head.logProbs(headInput(activations[activations.length - 1]!));
      return [...activations, logProbs];
    });
    const logProbs = kept.pop() as tf.Tensor2D;
    const activations = kept;
    let disposed = false;
    return {
      logProbs,
      backward(targets) {
        if (disposed) throw new Error('ForwardPass.backward after dispose');
        return tf.tidy(() => {
          const out = activations[steps.length]!;
          const o4 = headInput(out);
          let dy: tf.Tensor = tf.reshape(tf.grad((o: tf.Tensor) => classifierAttackLoss(head, o as tf.Tensor4D, targets))(o4), out.shape);
          for (let i = steps.length - 1; i >= 0; i--) {
            const step = steps[i]!;
            const y = activations[i + 1]!;
            dy = step.backward(step.acceptsCropped ? dy : uncrop(dy, y.shape), activations[i]!, y);
          }
          dy = uncrop(dy, x.shape);
          if (!normalized) return dy as tf.Tensor4D;
          // The normalisation is affine per channel: its vector-Jacobian product via tf.grad is cheap.
          const g = dy;
          return tf.grad((p: tf.Tensor) => tf.sum(tf.mul(normalize(p as tf.Tensor4D, spec.normalization, spec.channels), g)))(x) as tf.Tensor4D;
        });
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        // Identity steps pass tensors through, and activations[0] is the caller's x without normalisation.
        tf.dispose([...new Set([...activations, logProbs])].filter((t) => t !== x));
      },
    };
  }

  return {
    height: spec.height,
    width: spec.width,
    channels: spec.channels,
    numClasses: options.numClasses,
    gradientPath: 'compiled',
    scoresKind: head.scoresKind,
    ...(stopReason ? { fallbackReason: `compiled up to ${steps.length} of ${chain.length} layers; the rest uses tf.grad (${stopReason})` } : {}),
    logProbs(x) {
      const pass = forward(x);
      const lp = tf.clone(pass.logProbs);
      pass.dispose();
      return lp;
    },
    lossGradient(x, targets) {
      const pass = forward(x);
      try {
        return pass.backward(targets);
      } finally {
        pass.dispose();
      }
    },
    forward,
    dispose() {
      for (const step of steps) step.dispose?.();
      options.dispose?.();
    },
  };
}
