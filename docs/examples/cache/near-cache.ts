// Near cache invalidated by CLIENT TRACKING: run by test/client/cache/docs-examples.test.ts.
import { type ConnectionOptions, createClient } from '@slotforge/client';

export async function run(connection: ConnectionOptions) {
  const namespace = 'example-near';
  const reader = createClient({
    ...connection,
    namespace,
    nearCache: { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 },
  });
  const writer = createClient({ ...connection, namespace });
  try {
    await reader.ready(); // invalidation is live: the local tier may serve
    await writer.set('config', { feature: false });
    const first = await reader.get('config'); // from Redis, now kept locally
    await writer.set('config', { feature: true }); // Redis pushes an invalidation to the reader
    const deadline = Date.now() + 5000;
    let latest = await reader.get<{ feature: boolean }>('config');
    while (!latest?.feature && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      latest = await reader.get('config');
    }
    return { first, latest };
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
}
