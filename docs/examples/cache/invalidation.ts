// Invalidation by key, tag and pattern: run by test/client/cache/docs-examples.test.ts.
import { type ConnectionOptions, createClient } from '@slotforge/client';

export async function run(connection: ConnectionOptions) {
  const cache = createClient({ ...connection, namespace: 'example-invalidation' });
  try {
    // Tag entries by what they depend on...
    await cache.getOrSet('post:1', async () => ({ title: 'Hello' }), { tags: ['author:7'] });
    await cache.getOrSet('post:2', async () => ({ title: 'Again' }), { tags: ['author:7'] });
    // ...and drop them all with one INCR when it changes (O(1), cluster-safe).
    await cache.invalidateTags('author:7');
    const afterTag = await cache.getMany(['post:1', 'post:2']);

    // Patterns SCAN every master and delete in per-node batches. O(keys): prefer tags on hot paths.
    await Promise.all(Array.from({ length: 10 }, (_, i) => cache.set(`session-view:${i}`, i)));
    const deleted = await cache.invalidatePattern('session-view:*');
    return { afterTag, deleted };
  } finally {
    await cache.close();
  }
}
