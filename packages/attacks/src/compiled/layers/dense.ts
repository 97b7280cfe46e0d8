/** Dense (relu or linear) on [n, features]: the fused matmul forward, dx = dy · Wᵀ backward. */
import { reluBackward, tf } from '@gradsign/core/tf';
import { activationOf, type LayerCompiler, type Step } from '../step.ts';

export const compileDense: LayerCompiler = (layer, cfg) => {
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
};
