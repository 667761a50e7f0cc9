// Cache-aside with getOrSet: run by test/client/cache/docs-examples.test.ts against standalone, cluster and sentinel.
import { type ConnectionOptions, createClient } from '@slotforge/client';

interface User {
  readonly id: number;
  readonly name: string;
  readonly createdAt: Date;
}

/** Stands in for a database. */
const db = {
  queries: 0,
  async findUser(id: number): Promise<User | undefined> {
    db.queries++;
    return id === 404 ? undefined : { id, name: `user ${id}`, createdAt: new Date('2024-01-01T00:00:00Z') };
  },
};

export async function run(connection: ConnectionOptions) {
  const cache = createClient({ ...connection, namespace: 'example-aside' });
  try {
    const options = {
      ttlMs: 60_000, // fresh for a minute
      staleWhileRevalidateMs: 10_000, // then served stale for 10 s while one caller refreshes
      graceMs: 300_000, // and up to 5 min stale if the database or Redis fails
      negativeTtlMs: 5_000, // "no such user" is cached too, briefly
      lock: true, // one loader across all processes for a cold key
    };
    const [a, b] = await Promise.all([
      cache.getOrSet('user:1', () => db.findUser(1), options),
      cache.getOrSet('user:1', () => db.findUser(1), options),
    ]);
    const missing = await cache.getOrSet('user:404', () => db.findUser(404), options);
    await cache.getOrSet('user:404', () => db.findUser(404), options);
    await cache.delete('user:1', 'user:404');
    return { a, b, missing, queries: db.queries };
  } finally {
    await cache.close();
  }
}
