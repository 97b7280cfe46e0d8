import { describe, expect, it } from 'vitest';
import { GradsignError } from '@gradsign/core';
import { assignBucket, quantileThresholds, sampleBuckets, type Candidate } from '../src/buckets.ts';

const paper = { high: 0.3, medium: 0.15 };

describe('bucket assignment', () => {
  it('follows the paper at the boundaries: high ≥ 0.30, medium [0.15, 0.30), low < 0.15', () => {
    expect(assignBucket(0.3, paper)).toBe('high');
    expect(assignBucket(0.2999999, paper)).toBe('medium');
    expect(assignBucket(0.15, paper)).toBe('medium');
    expect(assignBucket(0.1499999, paper)).toBe('low');
    expect(assignBucket(1, paper)).toBe('high');
    expect(assignBucket(0, paper)).toBe('low');
  });

  it('cuts terciles so each bucket gets about a third', () => {
    const conf = Array.from({ length: 300 }, (_, i) => (i + 1) / 300);
    const t = quantileThresholds(conf);
    const counts = { low: 0, medium: 0, high: 0 };
    for (const c of conf) counts[assignBucket(c, t)]++;
    expect(counts).toEqual({ low: 100, medium: 100, high: 100 });
  });
});

describe('seeded sampling', () => {
  const pool = (bucket: string, n: number): Candidate[] =>
    Array.from({ length: n }, (_, i) => ({ row: i, id: i * 3 + bucket.length, confidence: 0.5 }));
  const candidates = { low: pool('low', 40), medium: pool('medium', 50), high: pool('high', 60) };

  it('draws perBucket distinct images per bucket, the same for the same seed, sorted by id', () => {
    const a = sampleBuckets(candidates, 10, 1, 'hint');
    const b = sampleBuckets(candidates, 10, 1, 'hint');
    const c = sampleBuckets(candidates, 10, 2, 'hint');
    expect(a).toEqual(b);
    expect(a.low).not.toEqual(c.low);
    for (const bucket of ['low', 'medium', 'high'] as const) {
      expect(new Set(a[bucket].map((x) => x.id)).size).toBe(10);
      expect(a[bucket].map((x) => x.id)).toEqual(a[bucket].map((x) => x.id).slice().sort((x, y) => x - y));
    }
  });

  it("keeps one bucket's sample when another bucket's candidates change", () => {
    const a = sampleBuckets(candidates, 10, 1, 'hint');
    const b = sampleBuckets({ ...candidates, high: pool('high', 80) }, 10, 1, 'hint');
    expect(b.low).toEqual(a.low);
  });

  it('names the bucket that cannot be filled, how many qualified, and how to fix it', () => {
    try {
      sampleBuckets(candidates, 45, 1, 'lower buckets.perBucket');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GradsignError);
      expect((error as GradsignError).message).toBe('bucket "low" cannot be filled: 40 correctly classified image(s) qualified, 45 are needed');
      expect((error as GradsignError).hint).toBe('lower buckets.perBucket');
    }
  });
});
