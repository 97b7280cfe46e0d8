/**
 * The calibration split: a seeded sample of the evaluated images (by position in file order)
 * whose full scores bucketing keeps, for fitting e.g. temperature scaling. Same seed, same split
 * size and same number of images: the same images, whatever the batch size.
 */
import { Rng, type CalibrationConfig } from '@gradsign/core';

/** Its own RNG stream: the buckets' samples use streams 100–102. */
const CALIBRATION_STREAM = 200;

/** How many of `n` images the split holds: `count` (at most n), or `fraction`·n rounded. */
export function calibrationSize(n: number, config: CalibrationConfig): number {
  return 'count' in config ? Math.min(config.count, n) : Math.round(config.fraction * n);
}

/** [n] 1 for the images (by position) in the calibration split. */
export function calibrationMask(n: number, config: CalibrationConfig, seed: number): Uint8Array {
  const mask = new Uint8Array(n);
  const positions = Array.from({ length: n }, (_, i) => i);
  for (const i of new Rng(seed, CALIBRATION_STREAM).sample(positions, calibrationSize(n, config))) mask[i] = 1;
  return mask;
}
