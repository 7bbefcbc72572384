/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of start; rejects with the
 * first error (the calls already started run to their end).
 *
 * @example
 * await forEachLimit(keys, 16, async (key) => save(key));
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
