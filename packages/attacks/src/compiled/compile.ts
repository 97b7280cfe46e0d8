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
 * Supported chain (anything else ends the compiled part; the rest of the model — the "head" —
 * is differentiated with tf.grad, so every model still gets the exact semantics):
 *   Conv2D (channelsLast, dilation 1, activation relu|linear), MaxPooling2D (channelsLast),
 *   Dense (activation relu|linear, on [n, features]), Flatten, Activation(relu|linear), ReLU
 *   (plain), Dropout-like layers (identity at inference).
 * The model's input normalisation and output handling (logits or probabilities, labelOffset) are
 * core's makeClassifier and normalize, reused as is; a final softmax is stepped over as core's
 * classifierFromModel does (its logits feed the attack loss), and the loss gradient at the logits
 * is core's saturation-safe one.
 */
import type { ModelSpec } from '@gradsign/core';
import {
  COL2IM_MAX_CHANNELS,
  classifierAttackLoss,
  col2imValid4D,
  conv2dBackpropInputRotated,
  finalSoftmaxLayer,
  logitsBeforeSoftmax,
  makeClassifier,
  normalize,
  padBottomRight4D,
  reluBackward,
  reluMaxPool2x2Backward,
  rotateFilter,
  tf,
} from '@gradsign/core/tf';
import type { AttackModel, ForwardPass } from '../model.ts';

type Layer = tf.layers.Layer;

interface Step {
  readonly name: string;
  /** The output is a ReLU output (≥ 0), so a following max-pool may fuse the ReLU backward. */
  readonly reluOutput: boolean;
  forward(x: tf.Tensor): tf.Tensor;
  /**
   * dL/dx from dL/dy; `x`, `y` are this step's saved input and output. With `acceptsCropped`, a
   * 4D dy may cover only the top-left rows/columns of y (the rest is zero), and so may dx.
   */
  backward(dy: tf.Tensor, x: tf.Tensor, y: tf.Tensor): tf.Tensor;
  readonly acceptsCropped?: boolean;
  /** Set by compile: the next step already applied this step's ReLU mask to dy. */
  skipReluMask?: boolean;
  /** A max-pool that can differentiate a preceding ReLU together with itself. */
  readonly fusableWithRelu?: boolean;
  /** Set by compile on such a max-pool when its input is a ReLU output. */
  fuseRelu?: boolean;
  dispose?(): void;
}

const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

type Config = Record<string, unknown>;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);
const activationOf = (cfg: Config): string => (typeof cfg.activation === 'string' ? cfg.activation : 'linear');

/** The top-left part of t with the spatial size of `like` (t itself when they match). */
function cropLike(t: tf.Tensor, like: tf.Tensor): tf.Tensor {
  if (t.rank !== 4 || (t.shape[1] === like.shape[1] && t.shape[2] === like.shape[2])) return t;
  return tf.slice(t, [0, 0, 0, 0], [-1, like.shape[1]!, like.shape[2]!, -1]);
}

/** A cropped gradient zero-padded (bottom/right) back to `shape`. */
function uncrop(t: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (t.rank !== 4 || (t.shape[1] === shape[1] && t.shape[2] === shape[2])) return t;
  return padBottomRight4D(t as tf.Tensor4D, shape[1]!, shape[2]!);
}

/** A Step for one layer, or the reason it cannot be compiled; `linear` drops a Dense layer's (softmax) activation. */
function compileLayer(layer: Layer, linear = false): Step | string {
  const cls = layer.getClassName();
  const cfg: Config = { ...(layer.getConfig() as Config), ...(linear ? { activation: 'linear' } : {}) };
  if (IDENTITY_LAYERS.has(cls)) {
    return { name: cls, reluOutput: false, forward: (x) => x, backward: (dy) => dy };
  }
  if (cls === 'Flatten') {
    return { name: cls, reluOutput: false, forward: (x) => tf.reshape(x, [x.shape[0]!, -1]), backward: (dy, x) => tf.reshape(dy, x.shape) };
  }
  if (cls === 'Activation' || cls === 'ReLU') {
    const act = cls === 'ReLU' ? 'relu' : activationOf(cfg);
    if (cls === 'ReLU' && ((cfg.maxValue != null && cfg.maxValue !== Infinity) || (Number(cfg.threshold ?? 0) !== 0) || Number(cfg.negativeSlope ?? 0) !== 0)) {
      return 'ReLU with maxValue/threshold/negativeSlope';
    }
    if (act === 'linear') return { name: cls, reluOutput: false, forward: (x) => x, backward: (dy) => dy };
    if (act !== 'relu') return `activation "${act}"`;
    const step: Step = {
      name: 'relu',
      reluOutput: true,
      forward: (x) => tf.relu(x),
      backward: (dy, _x, y) => (step.skipReluMask ? dy : reluBackward(dy, y)),
    };
    return step;
  }
  if (cls === 'Conv2D') {
    const act = activationOf(cfg);
    if (cfg.dataFormat !== 'channelsLast') return 'Conv2D with channelsFirst';
    if (pair(cfg.dilationRate ?? 1).some((d) => d !== 1)) return 'dilated Conv2D';
    if (cfg.padding !== 'valid' && cfg.padding !== 'same') return `Conv2D padding "${String(cfg.padding)}"`;
    if (act !== 'relu' && act !== 'linear') return `Conv2D activation "${act}"`;
    const [kernel, bias] = layer.getWeights().map((w) => tf.keep(w.clone())) as [tf.Tensor4D, tf.Tensor1D | undefined];
    const strides = pair(cfg.strides ?? 1);
    const pad = cfg.padding as 'valid' | 'same';
    const relu = act === 'relu';
    const [kh, kw, ci] = kernel.shape;
    // Stride 1 with enough input channels: dx is a forward convolution of dy with the filter rotated
    // by 180° and its channels swapped (what core's Conv2DBackpropInput does per call). Rotated once
    // here, the filter tensor stays the same, so the backend keeps its prepared (packed) operator.
    const rotated = strides[0] === 1 && strides[1] === 1 && ci > COL2IM_MAX_CHANNELS ? tf.keep(rotateFilter(kernel)) : undefined;
    // A 'valid', stride-1 convolution whose dy covers only rows/columns [0, h') × [0, w') of its
    // output (a following 2×2 max-pool of an odd size never passes gradient to the last one) has
    // a dx covering [0, h' + kh − 1) × [0, w' + kw − 1): the same as for an input of that size, so
    // the backward convolution skips the zero border.
    const croppable = pad === 'valid' && strides[0] === 1 && strides[1] === 1;
    // Few input channels (e.g. the first layer, on pixels): dx via cols = dz · Wᵀ (one matmul with
    // the transposed filter made once here) and a gathering col2im.
    const filterT = croppable && !rotated ? (tf.keep(tf.tidy(() => tf.transpose(tf.reshape(kernel, [kh * kw * ci, kernel.shape[3]])))) as tf.Tensor2D) : undefined;
    const step: Step = {
      name: 'conv2d',
      reluOutput: relu,
      acceptsCropped: croppable,
      forward: (x) =>
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel, strides, pad, dataFormat: 'NHWC', ...(bias ? { bias } : {}), activation: relu ? 'relu' : 'linear' }),
      backward: (dy, x, y) => {
        const dz = (relu && !step.skipReluMask ? reluBackward(dy, cropLike(y, dy)) : dy) as tf.Tensor4D;
        const [n, h, w] = dz.shape;
        const inShape = (croppable ? [n, h + kh - 1, w + kw - 1, ci] : x.shape) as [number, number, number, number];
        const viaRotated = rotated && conv2dBackpropInputRotated(dz, rotated, inShape, strides, pad);
        if (viaRotated) return viaRotated;
        if (filterT) {
          // Written at x's full size straight away (no padding pass after a cropped dz).
          const cols = tf.matMul(tf.reshape(dz, [n * h * w, dz.shape[3]]), filterT);
          return col2imValid4D(tf.reshape(cols, [n, h, w, kh * kw * ci]) as tf.Tensor4D, kh, kw, ci, x.shape[1]!, x.shape[2]!);
        }
        return tf.conv2dTranspose(dz, kernel, inShape, strides, pad);
      },
      dispose: () => tf.dispose([kernel, ...(bias ? [bias] : []), ...(rotated ? [rotated] : []), ...(filterT ? [filterT] : [])]),
    };
    return step;
  }
  if (cls === 'MaxPooling2D') {
    if (cfg.dataFormat !== 'channelsLast') return 'MaxPooling2D with channelsFirst';
    const pool = pair(cfg.poolSize ?? 2);
    const strides = pair(cfg.strides ?? cfg.poolSize ?? 2);
    const pad = (cfg.padding ?? 'valid') as 'valid' | 'same';
    const fusable = pool[0] === 2 && pool[1] === 2 && strides[0] === 2 && strides[1] === 2 && pad === 'valid';
    const step: Step = {
      name: 'maxpool',
      reluOutput: false,
      fusableWithRelu: fusable,
      // The fused kernel takes a cropped dy and returns dx cropped to the windows dy covers.
      get acceptsCropped() {
        return step.fuseRelu === true;
      },
      forward: (x) => tf.maxPool(x as tf.Tensor4D, pool, strides, pad),
      backward: (dy, x, y) => {
        if (step.fuseRelu) return reluMaxPool2x2Backward(dy as tf.Tensor4D, x as tf.Tensor4D);
        return tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: pool, strides, pad } as never) as tf.Tensor;
      },
    };
    return step;
  }
  if (cls === 'Dense') {
    const act = activationOf(cfg);
    if (act !== 'relu' && act !== 'linear') return `Dense activation "${act}"`;
    if ((layer.input as tf.SymbolicTensor).shape.length !== 2) return 'Dense on an input of rank > 2';
    const [kernel, bias] = layer.getWeights().map((w) => tf.keep(w.clone())) as [tf.Tensor2D, tf.Tensor1D | undefined];
    const kernelT = tf.keep(tf.transpose(kernel)) as tf.Tensor2D; // made once: dx = dy · Wᵀ
    const relu = act === 'relu';
    const step: Step = {
      name: 'dense',
      reluOutput: relu,
      forward: (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel, ...(bias ? { bias } : {}), activation: relu ? 'relu' : 'linear' }),
      backward: (dy, _x, y) => tf.matMul((relu && !step.skipReluMask ? reluBackward(dy, y) : dy) as tf.Tensor2D, kernelT),
      dispose: () => tf.dispose([kernel, kernelT, ...(bias ? [bias] : [])]),
    };
    return step;
  }
  return `layer ${cls}`;
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
