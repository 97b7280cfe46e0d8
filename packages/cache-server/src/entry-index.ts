/**
 * In-memory view of what is on disk: entry sizes in least-recently-used order.
 * A Map iterates in insertion order, so re-inserting a key on every access
 * keeps the oldest entry first and makes eviction O(1) per entry.
 */
export class EntryIndex {
  private readonly sizes = new Map<string, number>();
  private total = 0;

  get entries(): number {
    return this.sizes.size;
  }

  get bytes(): number {
    return this.total;
  }

  /** Record an entry as the most recently used. */
  add(hash: string, size: number): void {
    this.remove(hash);
    this.sizes.set(hash, size);
    this.total += size;
  }

  /** Mark an entry as just used; no-op for unknown hashes. */
  touch(hash: string): void {
    const size = this.sizes.get(hash);
    if (size === undefined) return;
    this.sizes.delete(hash);
    this.sizes.set(hash, size);
  }

  remove(hash: string): void {
    const size = this.sizes.get(hash);
    if (size === undefined) return;
    this.sizes.delete(hash);
    this.total -= size;
  }

  /** Remove and return the least recently used entry. */
  popOldest(): { hash: string; size: number } | undefined {
    const first = this.sizes.entries().next();
    if (first.done) return undefined;
    const [hash, size] = first.value;
    this.remove(hash);
    return { hash, size };
  }
}
