import { afterEach, describe, expect, it, vi } from 'vitest';
import { Progress, formatDuration } from '../src/progress.ts';

/** A non-TTY stream that keeps what is written. */
function capture() {
  let text = '';
  const stream = { isTTY: false, write: (chunk: string) => ((text += chunk), true) };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('formatDuration', () => {
  it('reads as seconds, minutes or hours', () => {
    expect(formatDuration(4.25)).toBe('4.3s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(83)).toBe('1m23s');
    expect(formatDuration(3599.6)).toBe('1h00m');
    expect(formatDuration(4000)).toBe('1h06m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('Progress', () => {
  afterEach(() => vi.useRealTimers());

  it('estimates the time left from the rate so far and shows it as ETA', () => {
    vi.useFakeTimers();
    const out = capture();
    const progress = new Progress('attack x', 100, 'img', out.stream);
    expect(progress.remainingSeconds()).toBeUndefined();
    vi.advanceTimersByTime(10_000);
    progress.tick(25); // 2.5 img/s → 75 left → 30 s
    expect(progress.remainingSeconds()).toBeCloseTo(30, 6);
    expect(out.text()).toContain('25/100 (25%) 2.5 img/s ETA 30s');
    vi.advanceTimersByTime(30_000);
    progress.tick(75);
    progress.finish();
    expect(progress.remainingSeconds()).toBe(0);
    expect(out.text()).toContain('100/100 (100%) 2.5 img/s in 40s');
  });

  it('has no estimate when the total is unknown', () => {
    vi.useFakeTimers();
    const progress = new Progress('read', Number.NaN, 'rows', capture().stream);
    vi.advanceTimersByTime(1000);
    progress.tick(10);
    expect(progress.remainingSeconds()).toBeUndefined();
  });
});
