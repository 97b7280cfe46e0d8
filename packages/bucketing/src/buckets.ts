/** Bucket assignment and seeded balanced sampling: pure functions, unit-tested at the boundaries. */
import { BUCKETS, GradsignError, Rng, type BucketName } from '@gradsign/core';

export interface Thresholds {
  high: number;
  medium: number;
}

/** The paper's rule: high ≥ t.high, medium in [t.medium, t.high), low < t.medium. */
export function assignBucket(confidence: number, t: Thresholds): BucketName {
  if (confidence >= t.high) return 'high';
  if (confidence >= t.medium) return 'medium';
  return 'low';
}

/**
 * Tercile cut-offs of the confidences: the values at ranks ⌊n/3⌋ and ⌊2n/3⌋ of the sorted list,
 * so about a third fall in each bucket (ties at a cut-off all go to the upper bucket).
 */
export function quantileThresholds(confidences: ArrayLike<number>): Thresholds {
  const sorted = Float64Array.from(confidences).sort();
  if (sorted.length < 3) throw new GradsignError(`quantile buckets need at least 3 correctly classified images, got ${sorted.length}`);
  return { medium: sorted[Math.floor(sorted.length / 3)] as number, high: sorted[Math.floor((2 * sorted.length) / 3)] as number };
}

export interface Candidate {
  row: number;
  id: number;
  confidence: number;
}

/**
 * Draws `perBucket` images from each bucket with a seeded RNG (one stream per bucket, so a
 * bucket's sample does not change when another's candidates do); returns rows sorted by id.
 */
export function sampleBuckets(
  candidates: Record<BucketName, Candidate[]>,
  perBucket: number,
  seed: number,
  hint: string,
): Record<BucketName, Candidate[]> {
  const out = {} as Record<BucketName, Candidate[]>;
  BUCKETS.forEach((bucket, i) => {
    const pool = candidates[bucket].slice().sort((a, b) => a.id - b.id);
    if (pool.length < perBucket) {
      throw new GradsignError(
        `bucket "${bucket}" cannot be filled: ${pool.length} correctly classified image(s) qualified, ${perBucket} are needed`,
        { hint },
      );
    }
    out[bucket] = new Rng(seed, 100 + i).sample(pool, perBucket).sort((a, b) => a.id - b.id);
  });
  return out;
}
