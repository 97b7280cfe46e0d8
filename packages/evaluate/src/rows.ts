/** Reads an artifact's rows in chunks of any size, across its record-batch boundaries. */
export class RowCursor<B extends Record<string, ArrayLike<unknown>>> {
  private current: B | undefined;
  private offset = 0;
  constructor(
    private readonly source: AsyncIterator<B>,
    private readonly widths: Partial<Record<keyof B, number>>,
  ) {}

  private slice(batch: B, start: number, end: number): B {
    const out: Record<string, unknown> = {};
    for (const [key, values] of Object.entries(batch)) {
      const w = this.widths[key as keyof B] ?? 1;
      out[key] = (values as unknown as { slice(a: number, b: number): unknown }).slice(start * w, end * w);
    }
    return out as B;
  }

  private rows(batch: B): number {
    const [key, values] = Object.entries(batch)[0] as [string, ArrayLike<unknown>];
    return values.length / (this.widths[key as keyof B] ?? 1);
  }

  /** The next `n` rows as one batch (fewer at the end; undefined when exhausted). */
  async take(n: number): Promise<B[]> {
    const parts: B[] = [];
    let need = n;
    while (need > 0) {
      if (!this.current || this.offset >= this.rows(this.current)) {
        const next = await this.source.next();
        if (next.done) break;
        this.current = next.value;
        this.offset = 0;
      }
      const available = this.rows(this.current) - this.offset;
      const take = Math.min(need, available);
      parts.push(this.slice(this.current, this.offset, this.offset + take));
      this.offset += take;
      need -= take;
    }
    return parts;
  }
}
