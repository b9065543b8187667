import DataLoader from 'dataloader';

// Reads asked for in the same turn of the event loop, answered by one statement. When 50 Slack submissions arrive
// at once their handlers reach the same lookups together; one round trip each to the database (a syscall out, one
// back, a statement for PostgreSQL to run) was most of what every ack waited behind. DataLoader collects the keys
// until the turn ends (setImmediate) and calls the batch function once. Nothing is remembered between turns, so a
// read is never older than the turn that asked for it.

/** A loader whose loads in one turn of the event loop are answered by one call of `batch` (keys in order, duplicates kept). */
export function perTurnLoader<K, V>(batch: (keys: readonly K[]) => Promise<V[]>): DataLoader<K, V> {
  return new DataLoader<K, V>(batch, { cache: false, batchScheduleFn: (send) => setImmediate(send) });
}

/** `read`, shared by every caller in the same turn of the event loop (one call per turn, whoever asks). */
export function sharedPerTurn<V>(read: () => Promise<V>): () => Promise<V> {
  const loader = perTurnLoader<true, V>(async (keys) => {
    const value = await read();
    return keys.map(() => value);
  });
  return () => loader.load(true);
}
