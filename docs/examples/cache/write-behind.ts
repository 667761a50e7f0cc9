// Write-through and write-behind: run by test/client/cache/docs-examples.test.ts.
import { type ConnectionOptions, createClient } from '@slotforge/client';

export async function run(connection: ConnectionOptions) {
  const cache = createClient({ ...connection, namespace: 'example-writes' });
  const database = new Map<string, number>();
  // Write-through: the source of truth first, then the cache; the caller waits for both.
  const prices = cache.writeThrough<number>({ write: (sku, price) => void database.set(`price:${sku}`, price) });
  await prices.set('sku-1', 100);

  // Write-behind: the cache now, the source in batches later; bounded queue; flushed by close().
  const views = cache.writeBehind<number>({
    flush: (entries) => {
      for (const [key, count] of entries) database.set(`views:${key}`, count);
    },
    maxQueue: 1000,
    flushIntervalMs: 60_000,
  });
  await views.set('page-1', 1);
  await views.set('page-1', 2); // coalesced: the source gets only the last value
  const cachedViews = await cache.get<number>('page-1');
  const beforeClose = database.has('views:page-1');
  await cache.close();
  return { price: database.get('price:sku-1'), cachedViews, beforeClose, afterClose: database.get('views:page-1') };
}
