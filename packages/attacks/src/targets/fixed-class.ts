/** target:<class> — toward one fixed class for every image. */
import { GradsignError } from '@gradsign/core';
import type { TargetStrategy } from './types.ts';

export function fixedClass(target: number, numClasses: number): TargetStrategy {
  if (!Number.isInteger(target) || target < 0 || target >= numClasses) {
    throw new GradsignError(`target class ${target} is out of range: the model has ${numClasses} classes (0–${numClasses - 1})`, {
      hint: `use "target:<k>" with 0 ≤ k < ${numClasses}`,
    });
  }
  return { name: `target:${target}`, targeted: true, choose: ({ labels }) => new Int32Array(labels.length).fill(target) };
}
