/**
 * Conv2D (channelsLast, dilation 1, 'valid' or 'same', relu or linear): the fused conv + bias +
 * ReLU forward; a backward pass that computes dx only, with the filter prepared once (core's
 * conv input gradient, src/tf/kernels/conv2d-backprop-input.ts).
 */
import {
  COL2IM_MAX_CHANNELS,
  col2imValid4D,
  conv2dBackpropInputRotated,
  reluBackward,
  rotateFilter,
  tf,
} from '@gradsign/core/tf';
import { activationOf, pair, type LayerCompiler, type Step } from '../step.ts';

/** The top-left part of t with the spatial size of `like` (t itself when they match). */
function cropLike(t: tf.Tensor, like: tf.Tensor): tf.Tensor {
  if (t.rank !== 4 || (t.shape[1] === like.shape[1] && t.shape[2] === like.shape[2])) return t;
  return tf.slice(t, [0, 0, 0, 0], [-1, like.shape[1]!, like.shape[2]!, -1]);
}

export const compileConv2D: LayerCompiler = (layer, cfg) => {
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
  // Stride 1 with enough input channels: dx is a forward convolution of dy with the rotated filter
  // (what core's Conv2DBackpropInput does per call). Rotated once here, the filter tensor stays the
  // same, so the backend keeps its prepared (packed) operator.
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
};
