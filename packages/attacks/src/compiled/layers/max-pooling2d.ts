/**
 * MaxPooling2D (channelsLast). A 2×2, stride-2, 'valid' pool after a ReLU output differentiates
 * that ReLU together with itself in one pass (core's ReluMaxPool2x2Grad); any other pool uses
 * tfjs's MaxPoolGrad.
 */
import { reluMaxPool2x2Backward, tf } from '@gradsign/core/tf';
import { pair, type LayerCompiler, type Step } from '../step.ts';

export const compileMaxPooling2D: LayerCompiler = (_layer, cfg) => {
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
};
