/** least-likely-argmin — Kurakin et al. 2016: toward the least probable class over ALL classes. */
import type { TargetStrategy } from './types.ts';

export const leastLikelyArgmin: TargetStrategy = {
  name: 'least-likely-argmin',
  targeted: true,
  needsCleanLogProbs: true,
  choose: ({ cleanLogProbs, labels, numClasses }) => {
    if (!cleanLogProbs) throw new Error('least-likely-argmin needs clean log-probabilities');
    return Int32Array.from(labels, (_, i) => {
      let best = 0;
      for (let c = 1; c < numClasses; c++) {
        if ((cleanLogProbs[i * numClasses + c] as number) < (cleanLogProbs[i * numClasses + best] as number)) best = c;
      }
      return best;
    });
  },
};
