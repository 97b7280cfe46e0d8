import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SharedExclusiveLock } from '../src/images/shared-exclusive-lock.ts';

describe('SharedExclusiveLock', () => {
  const traced = (trace: string[], name: string, ms: number) => async () => {
    trace.push(`${name} starts`);
    await sleep(ms);
    trace.push(`${name} ends`);
    return name;
  };

  it('runs shared calls together, an exclusive call alone, and later shared calls after it', async () => {
    const lock = new SharedExclusiveLock();
    const trace: string[] = [];
    const results = await Promise.all([
      lock.shared(traced(trace, 'a', 30)),
      lock.shared(traced(trace, 'b', 10)),
      lock.exclusive(traced(trace, 'X', 10)),
      lock.shared(traced(trace, 'c', 1)),
    ]);
    expect(results).toEqual(['a', 'b', 'X', 'c']);
    expect(trace).toEqual(['a starts', 'b starts', 'b ends', 'a ends', 'X starts', 'X ends', 'c starts', 'c ends']);
  });

  it('lets the next caller in when a call throws', async () => {
    const lock = new SharedExclusiveLock();
    await expect(lock.exclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.shared(async () => 'after')).resolves.toBe('after');
  });
});
