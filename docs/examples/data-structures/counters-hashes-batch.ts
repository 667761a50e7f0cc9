// Counters, hashes and batches: run by test/client/structures/docs-examples.contract.ts on every deployment.
import { type ConnectionOptions, createBatch, createClient, createCounters, createHashes } from '@slotforge/client';

export async function run(connection: ConnectionOptions) {
  const client = createClient({ ...connection, namespace: 'example-structures' });
  try {
    const counters = client.use(createCounters, {});
    // INCRBY + PEXPIRE in one script: a daily counter that can never lose its TTL.
    await counters.incr('signups:2024-05-06', { ttlMs: 86_400_000 });
    const signups = await counters.incr('signups:2024-05-06', { by: 2, ttlMs: 86_400_000 });

    const hashes = client.use(createHashes, {});
    // HSET + PEXPIRE in one script; each field keeps its type (Date, BigInt, 0, '', null...).
    await hashes.set(
      'profile:7',
      { name: 'Ada', since: new Date('2024-01-01T00:00:00Z'), karma: 0 },
      { ttlMs: 3_600_000 },
    );
    const since = await hashes.get<Date>('profile:7', 'since');

    const batch = client.use(createBatch, {});
    // 100 keys over ~100 slots: one MGET per slot, one pipeline per master, never CROSSSLOT.
    const keys = Array.from({ length: 100 }, (_, i) => `product:${i}`);
    await batch.setMany(
      keys.map((k, i) => [k, { price: i }] as const),
      { ttlMs: 60_000 },
    );
    const products = await batch.getMany<{ price: number }>(keys);
    return { signups, since, total: products.reduce((sum, p) => sum + (p?.price ?? 0), 0) };
  } finally {
    await client.close();
  }
}
