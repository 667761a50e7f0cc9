import { createClient, LocalStore, METRIC_NAMES, type SlotforgeClient } from '@slotforge/client';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { command } from '../../../runtime/redis/index.ts';
import { useStandalone } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

describe('local store', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const store = new LocalStore(2, 1_000_000);
    store.set('a', 1, Number.MAX_SAFE_INTEGER, 10);
    store.set('b', 2, Number.MAX_SAFE_INTEGER, 10);
    store.get('a', 0);
    store.set('c', 3, Number.MAX_SAFE_INTEGER, 10);
    expect([store.get('a', 0), store.get('b', 0), store.get('c', 0)]).toEqual([{ value: 1 }, undefined, { value: 3 }]);
  });

  it('stays under maxBytes and refuses an entry larger than the bound', () => {
    const store = new LocalStore(100, 100);
    for (let i = 0; i < 10; i++) store.set(`k${i}`, i, Number.MAX_SAFE_INTEGER, 30);
    expect(store.bytes).toBeLessThanOrEqual(100);
    expect(store.size).toBe(3);
    store.set('huge', 'x', Number.MAX_SAFE_INTEGER, 101);
    expect(store.get('huge', 0)).toBeUndefined();
  });

  it('expires entries at their deadline', () => {
    const store = new LocalStore(10, 1000);
    store.set('k', 1, 100, 1);
    expect(store.get('k', 99)).toEqual({ value: 1 });
    expect(store.get('k', 100)).toBeUndefined();
  });
});

describe('near cache on a real server', () => {
  const redis = useStandalone({ config: { 'maxmemory-policy': 'noeviction' } });
  const clients: SlotforgeClient[] = [];
  const open = (options: Parameters<typeof createClient>[0] = {}) => {
    const client = createClient({ port: redis().port, namespace: 'near', ...options });
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
  });

  it('serves repeated reads locally without a round trip', async () => {
    const registry = new Registry();
    const a = open({ nearCache: true, deps: { registry } });
    await a.ready();
    await a.set('hot', { n: 1 });
    // Our own write is invalidated too (asynchronously, by tracking): read until the entry is local.
    await eventually(
      async () => {
        await a.get('hot');
        return a.near?.store.size === 1;
      },
      5000,
      'entry stored locally',
    );
    const admin = redis().connect();
    const processed = async () =>
      Number(String(await admin.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
    const before = await processed();
    for (let i = 0; i < 100; i++) expect(await a.get('hot')).toEqual({ n: 1 });

    const after = await processed();
    admin.disconnect();
    // Only the first INFO is counted between the two readings: the 100 reads never reached the server.
    expect(after - before).toBe(1);
    const hits = await registry.getSingleMetricAsString(METRIC_NAMES.cacheHits);
    expect(Number(hits.match(/tier="near"} (\d+)/)?.[1])).toBeGreaterThanOrEqual(100);
  });

  it('never outlives the Redis TTL', async () => {
    const a = open({ nearCache: true });
    await a.ready();
    const before = Date.now();
    await a.set('short', 'v', { ttlMs: 3000 });
    const afterSet = Date.now();
    // Read until it is held locally (our own write's invalidation may drop the first copy).
    await eventually(
      async () => (await a.get('short')) === 'v' && a.near?.store.size === 1,
      2500,
      'entry held locally',
    );
    // The local copy expires no later than the Redis key (send time + PTTL), not after nearCache.maxTtlMs (60 s).
    const localExpiry = a.near?.store.expiresAt('near:short') ?? 0;
    expect(localExpiry).toBeGreaterThan(afterSet);
    expect(localExpiry - afterSet).toBeLessThanOrEqual(3000);
    await eventually(async () => (await a.get('short')) === undefined, 6000, 'local entry expired with the Redis key');
    expect(Date.now() - before).toBeGreaterThanOrEqual(2900);
    // Gone as of its own expiry (the client's clock, not Date.now(): the two may differ by a few ms; a rehearsal
    // once read the entry 1 ms before Date.now() caught up).
    expect(a.near?.store.get('near:short', localExpiry)).toBeUndefined();
  });

  it('flushes on reconnect and rebuilds tracking, then invalidates again', async () => {
    const a = open({ nearCache: true });
    const b = open();
    await a.ready();
    await b.set('k', 'v1');
    expect(await a.get('k')).toBe('v1');
    const flushes: string[] = [];
    a.events.on('near:flush', ({ reason }) => flushes.push(reason));
    // Kill the tracking subscriber: invalidations sent meanwhile would be lost, so the tier must drop everything.
    await command(redis(), 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    await eventually(() => flushes.length > 0, 5000, 'flush after the subscriber was killed');
    expect(a.near?.store.size).toBe(0);
    await eventually(() => a.near?.live === true, 5000, 'tracking rebuilt');
    expect(await a.get('k')).toBe('v1');
    await b.set('k', 'v2');
    await eventually(async () => (await a.get('k')) === 'v2', 5000, 'invalidation after rebuild');
  });

  it('drops entries of an invalidated tag on other instances', async () => {
    const a = open({ nearCache: true });
    const b = open();
    await a.ready();
    await b.set('tagged', 'v1', { tags: ['t1'] });
    expect(await a.get('tagged')).toBe('v1');
    await b.invalidateTags('t1');
    await eventually(async () => (await a.get('tagged')) === undefined, 5000, 'tagged entry dropped');
  });

  it('bus mode: invalidates other instances through pub/sub', async () => {
    const a = open({ nearCache: { invalidation: 'bus' } });
    const b = open({ nearCache: { invalidation: 'bus' } });
    await a.ready();
    await b.ready();
    await b.set('bus', 'v1');
    expect(await a.get('bus')).toBe('v1');
    await b.set('bus', 'v2');
    await eventually(async () => (await a.get('bus')) === 'v2', 5000, 'bus invalidation');
  });

  it('validates its options', () => {
    expect(() => open({ nearCache: { maxEntries: 0 } })).toThrow(
      'option nearCache.maxEntries must be an integer >= 1 (got 0)',
    );
    expect(() => open({ nearCache: { invalidation: 'gossip' as 'bus' } })).toThrow(
      "option nearCache.invalidation must be one of 'tracking', 'bus' (got 'gossip')",
    );
  });
});
