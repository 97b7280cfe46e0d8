/**
 * A readers–writer lock for async work: any number of `shared` calls run together; an `exclusive`
 * call runs alone, after every shared call before it has finished. Waiters enter in arrival order,
 * so a waiting exclusive call is not starved by shared calls that come after it.
 */
export class SharedExclusiveLock {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly waiting: { exclusive: boolean; enter: () => void }[] = [];

  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(false, fn);
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(true, fn);
  }

  private async run<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive);
    try {
      return await fn();
    } finally {
      if (exclusive) this.exclusiveHeld = false;
      else this.sharedHolders--;
      this.admit();
    }
  }

  private canEnter(exclusive: boolean): boolean {
    return !this.exclusiveHeld && (!exclusive || this.sharedHolders === 0);
  }

  private take(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = true;
    else this.sharedHolders++;
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (!this.waiting.length && this.canEnter(exclusive)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise((enter) => this.waiting.push({ exclusive, enter }));
  }

  private admit(): void {
    while (this.waiting.length && this.canEnter(this.waiting[0]!.exclusive)) {
      const next = this.waiting.shift()!;
      this.take(next.exclusive);
      next.enter();
    }
  }
}
