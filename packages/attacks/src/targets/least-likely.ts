/** least-likely — the paper's targeted gradient: toward the lowest-ranked class of the CLEAN top-5. */
import type { TargetStrategy } from './types.ts';

export const leastLikely: TargetStrategy = {
  name: 'least-likely',
  targeted: true,
  choose: ({ top5, labels }) => {
    const k = top5.length / labels.length;
    return Int32Array.from(labels, (_, i) => top5[i * k + k - 1] as number);
  },
};
