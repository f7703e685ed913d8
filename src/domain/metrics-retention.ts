/**
 * The newest `limit` samples of each owner, in their original order: what a batch may add without pushing
 * an owner past its cap on its own (the periodic prune bounds what accumulates across batches).
 */
export function keepNewestPerOwner<T>(
  samples: readonly T[],
  ownerOf: (sample: T) => string,
  takenAt: (sample: T) => number,
  limit: number,
): T[] {
  const byOwner = new Map<string, number[]>();
  samples.forEach((sample, index) => {
    const owner = ownerOf(sample);
    const indexes = byOwner.get(owner);
    if (indexes) indexes.push(index);
    else byOwner.set(owner, [index]);
  });
  const kept = new Set<number>();
  for (const indexes of byOwner.values()) {
    // Newest first; a later arrival wins a tie, as it would in the table (larger id).
    indexes.sort((a, b) => takenAt(samples[b]!) - takenAt(samples[a]!) || b - a);
    for (const index of indexes.slice(0, limit)) kept.add(index);
  }
  return samples.filter((_, index) => kept.has(index));
}
