/** inverse — the paper's untargeted gradient: push away from the true label. */
import type { TargetStrategy } from './types.ts';

export const inverse: TargetStrategy = {
  name: 'inverse',
  targeted: false,
  choose: ({ labels }) => Int32Array.from(labels),
};
