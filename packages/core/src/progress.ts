/** `83` → `1m23s`, `4000` → `1h06m`: durations for people, not parsers. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Progress for long work, on stderr: a redrawn bar on a TTY, otherwise a quiet line every
 * 10% (or every 10 s when the total is unknown), so logs stay readable in CI and under Nx.
 * Both show the rate and, once something is done and the total is known, the time left (ETA).
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastLine = Date.now();
  private lastPercent = 0;
  private printedDone = -1;
  private readonly tty: boolean;

  /** `total` may be NaN when unknown: then only the count and rate are shown. */
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'items',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
  }

  tick(n = 1): void {
    this.done += n;
    this.render(false);
  }

  finish(): void {
    this.render(true);
  }

  /** Seconds left at the rate so far; undefined before anything is done or when the total is unknown. */
  remainingSeconds(): number | undefined {
    const seconds = (Date.now() - this.started) / 1000;
    if (!(Number.isFinite(this.total) && this.total > 0) || this.done <= 0 || seconds <= 0) return undefined;
    return Math.max(0, this.total - this.done) / (this.done / seconds);
  }

  private render(final: boolean): void {
    const known = Number.isFinite(this.total) && this.total > 0;
    const fraction = known ? Math.min(1, this.done / this.total) : 0;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const rateText = `${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)} ${this.unit}/s`;
    const count = known ? `${this.done}/${this.total}` : `${this.done} ${this.unit}`;
    const left = this.remainingSeconds();
    const timing = final || (known && this.done >= this.total) ? ` in ${formatDuration(seconds)}` : left === undefined ? '' : ` ETA ${formatDuration(left)}`;
    if (this.tty) {
      const width = 28;
      const filled = Math.round(fraction * width);
      const bar = known ? ' ' + '█'.repeat(filled) + '░'.repeat(width - filled) : '';
      this.stream.write(`\r\x1b[K${this.label}${bar} ${count} ${rateText}${timing}${final ? '\n' : ''}`);
      return;
    }
    const percent = Math.floor(fraction * 10) * 10;
    const now = Date.now();
    const due = known ? percent > this.lastPercent : now - this.lastLine > 10_000;
    if ((final && this.printedDone !== this.done) || (!final && due)) {
      this.lastPercent = percent;
      this.lastLine = now;
      this.printedDone = this.done;
      this.stream.write(`${this.label}: ${count}${known ? ` (${Math.round(fraction * 100)}%)` : ''} ${rateText}${timing}\n`);
    }
  }
}

/** One informational line on stderr (stdout stays free for machine-readable output). */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
