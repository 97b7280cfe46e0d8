import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.ts';

describe('Rng', () => {
  it('is deterministic per seed and stream, and differs across them', () => {
    const a = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const b = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42)));
    const c = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(43)));
    const d = Array.from({ length: 5 }, ((r) => () => r.nextUint32())(new Rng(42, 1)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(d);
  });

  it('draws uniform integers without bias', () => {
    const rng = new Rng(7);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => rng.int(0)).toThrow();
  });

  it('samples k distinct items and shuffles into a permutation', () => {
    const rng = new Rng(1);
    const items = Array.from({ length: 100 }, (_, i) => i);
    const sample = rng.sample(items, 30);
    expect(new Set(sample).size).toBe(30);
    expect(rng.shuffle(items.slice()).sort((x, y) => x - y)).toEqual(items);
    expect(() => rng.sample(items, 101)).toThrow();
  });
});
