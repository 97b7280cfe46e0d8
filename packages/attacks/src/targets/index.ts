import { GradsignError, type Gradient } from '@gradsign/core';
import { fixedClass } from './fixed-class.ts';
import { inverse } from './inverse.ts';
import { leastLikelyArgmin } from './least-likely-argmin.ts';
import { leastLikely } from './least-likely.ts';
import { randomTarget } from './random-target.ts';
import type { TargetStrategy } from './types.ts';

export type { TargetInput, TargetStrategy } from './types.ts';
export { fixedClass, inverse, leastLikely, leastLikelyArgmin, randomTarget };

/** The strategy a pipeline's `gradients` entry names; validates class indices against the model. */
export function targetStrategy(gradient: Gradient, numClasses: number): TargetStrategy {
  switch (gradient) {
    case 'inverse':
      return inverse;
    case 'least-likely':
      return leastLikely;
    case 'least-likely-argmin':
      return leastLikelyArgmin;
    case 'random-target':
      return randomTarget;
    default: {
      const match = /^target:(\d+)$/.exec(gradient);
      if (match) return fixedClass(Number(match[1]), numClasses);
      throw new GradsignError(`unknown gradient "${gradient}"`, {
        hint: 'use inverse, least-likely, least-likely-argmin, random-target or target:<class>',
      });
    }
  }
}
