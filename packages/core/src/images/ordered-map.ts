/**
 * Runs `fn` over `items` with up to `concurrency` calls in flight and yields the results in input
 * order, so output stays deterministic while several images decode at once. At most
 * `concurrency` results are held at a time. `fn` must not reject (return failures as values):
 * when the consumer stops early, the calls still in flight finish unobserved.
 */
export async function* mapInOrder<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, concurrency: number): AsyncGenerator<R> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  const fill = () => {
    while (next < items.length && inFlight.length < concurrency) {
      const i = next++;
      inFlight.push(fn(items[i]!, i));
    }
  };
  fill();
  while (inFlight.length) {
    const result = await inFlight.shift()!;
    fill();
    yield result;
  }
}
