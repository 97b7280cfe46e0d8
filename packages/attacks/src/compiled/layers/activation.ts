/** Activation (relu or linear) and plain ReLU layers. */
import { reluBackward, tf } from '@gradsign/core/tf';
import { activationOf, identityStep, type LayerCompiler, type Step } from '../step.ts';

/** ReLU; a following 2×2 max-pool may apply its mask instead (skipReluMask). */
function reluStep(): Step {
  const step: Step = {
    name: 'relu',
    reluOutput: true,
    forward: (x) => tf.relu(x),
    backward: (dy, _x, y) => (step.skipReluMask ? dy : reluBackward(dy, y)),
  };
  return step;
}

export const compileActivation: LayerCompiler = (_layer, cfg) => {
  const act = activationOf(cfg);
  if (act === 'linear') return identityStep('Activation');
  if (act !== 'relu') return `activation "${act}"`;
  return reluStep();
};

export const compileReLU: LayerCompiler = (_layer, cfg) => {
  if ((cfg.maxValue != null && cfg.maxValue !== Infinity) || Number(cfg.threshold ?? 0) !== 0 || Number(cfg.negativeSlope ?? 0) !== 0) {
    return 'ReLU with maxValue/threshold/negativeSlope';
  }
  return reluStep();
};
