/** Timing helpers shared by the bench suites: options, timed runs, images/s statistics. */

export interface Stats {
  median: number;
  min: number;
  max: number;
}

/** The value after `--name` in argv. */
export function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Images/s of `batch` images per run, from seconds per run. */
export function stats(batch: number, seconds: number[]): Stats {
  const rates = seconds.map((s) => batch / s);
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

/** Seconds per call of `fn` over `runs` timed runs after one warm-up (none with warmUp false). */
export async function time(fn: () => Promise<unknown> | unknown, runs: number, warmUp = true): Promise<number[]> {
  if (warmUp) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

export const fmt = (s: Stats, digits = 0) => `${s.median.toFixed(digits).padStart(5)} img/s [${s.min.toFixed(digits)}–${s.max.toFixed(digits)}]`;
