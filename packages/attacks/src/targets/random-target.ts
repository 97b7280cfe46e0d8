/** random-target — a uniformly random class other than the true one, seeded by image id. */
import { Rng } from '@gradsign/core';
import type { TargetStrategy } from './types.ts';

export const randomTarget: TargetStrategy = {
  name: 'random-target',
  targeted: true,
  choose: ({ ids, labels, numClasses, seed }) =>
    Int32Array.from(labels, (label, i) => {
      const pick = new Rng(seed, 7_000_000 + (ids[i] as number)).int(numClasses - 1);
      return pick >= label ? pick + 1 : pick;
    }),
};
