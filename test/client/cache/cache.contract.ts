import { METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually, shiftedClock } from '../contract/index.ts';

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Cache patterns: identical behaviour on standalone, cluster and sentinel. */
export default function cacheContract(fixture: ContractFixture): void {
  it('caches empty string, 0, false and null as values (seed regression: `if (cached)` reloaded them)', async () => {
    const client = fixture.client();
    for (const value of ['', 0, false, null]) {
      let calls = 0;
      const key = `falsy:${String(value)}`;
      const loader = async () => {
        calls++;
        return value;
      };
      expect(await client.getOrSet(key, loader)).toBe(value);
      expect(await client.getOrSet(key, loader)).toBe(value);
      expect(calls).toBe(1);
    }
  });

  it('runs the loader once for 200 concurrent cold calls in one process, counting coalesced calls', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        client.getOrSet('cold', async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 30));
          return { id: 1 };
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(results.every((r) => r.id === 1)).toBe(true);
    expect(await counter(registry, METRIC_NAMES.coalescedCalls, { scope: 'process' })).toBe(199);
    expect(await counter(registry, METRIC_NAMES.cacheMisses)).toBe(1);
  });

  it('counts hits and misses and records the loader duration in sub-millisecond buckets', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    await client.getOrSet('metered', () => 1);
    await client.getOrSet('metered', () => 1);
    await client.getOrSet('metered', () => 1);
    expect(await counter(registry, METRIC_NAMES.cacheHits, { tier: 'redis' })).toBe(2);
    expect(await counter(registry, METRIC_NAMES.cacheMisses)).toBe(1);
    const histogram = (await registry.getMetricsAsJSON()).find((m) => m.name === METRIC_NAMES.loaderDuration);
    const buckets = ((histogram?.values ?? []) as { metricName?: string; labels: Record<string, unknown> }[])
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((v) => v.labels.le);
    expect(buckets[0]).toBe(0.0001);
    const text = await registry.metrics();
    expect(text).not.toContain('metered');
  });

  it('serves the stale value while a refresh runs (stale-while-revalidate)', async () => {
    const clock = shiftedClock();
    const client = fixture.client({ deps: { clock } });
    const options = { ttlMs: 1000, staleWhileRevalidateMs: 60_000, jitter: 0 };
    expect(await client.getOrSet('swr', async () => 'v1', options)).toBe('v1');
    clock.advance(2000);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const started = Date.now();
    const served = await client.getOrSet(
      'swr',
      async () => {
        await gate;
        return 'v2';
      },
      options,
    );
    // The loader is blocked on `gate` until after this returns: getting 'v1' at all proves nobody waited for it.
    expect(served).toBe('v1');
    expect(Date.now() - started).toBeLessThan(2000);
    release();
    await eventually(
      async () => (await client.getOrSet('swr', async () => 'v3', options)) === 'v2',
      5000,
      'refreshed value',
    );
  });

  it('serves the stale value within grace when the loader fails, and E_LOADER with the cause after it', async () => {
    const clock = shiftedClock();
    const registry = new Registry();
    const client = fixture.client({ deps: { clock, registry } });
    const options = { ttlMs: 1000, graceMs: 10_000, jitter: 0 };
    await client.getOrSet('grace', async () => 'good', options);
    clock.advance(2000);
    const boom = new Error('database down');
    expect(
      await client.getOrSet(
        'grace',
        async () => {
          throw boom;
        },
        options,
      ),
    ).toBe('good');
    expect(await counter(registry, METRIC_NAMES.cacheStaleServed, { reason: 'loader-error' })).toBe(1);
    clock.advance(20_000);
    const error = await client
      .getOrSet(
        'grace',
        async () => {
          throw boom;
        },
        options,
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_LOADER', cause: boom });
    expect((error as Error).message).toContain('grace');
    // Both loader failures are counted (the first was masked by the stale value), each once.
    expect(await counter(registry, METRIC_NAMES.errors, { code: 'E_LOADER' })).toBe(2);
    const failing = await Promise.all(
      Array.from({ length: 10 }, () =>
        client
          .getOrSet('grace-cold', async () => {
            await new Promise((r) => setTimeout(r, 20));
            throw boom;
          })
          .catch((e: unknown) => e),
      ),
    );
    expect(failing.every((e) => (e as { code?: string }).code === 'E_LOADER')).toBe(true);
    expect(await counter(registry, METRIC_NAMES.errors, { code: 'E_LOADER' })).toBe(3);
  });

  it('caches "not found" for negativeTtlMs only', async () => {
    const client = fixture.client();
    let calls = 0;
    const loader = async () => {
      calls++;
      return undefined;
    };
    expect(await client.getOrSet('nothing', loader, { negativeTtlMs: 60_000 })).toBeUndefined();
    expect(await client.getOrSet('nothing', loader, { negativeTtlMs: 60_000 })).toBeUndefined();
    expect(calls).toBe(1);
    await client.getOrSet('uncached-nothing', loader);
    await client.getOrSet('uncached-nothing', loader);
    expect(calls).toBe(3);
  });

  it('applies TTL jitter so keys written together expire apart', async () => {
    let i = 0;
    const randoms = [0, 0.5, 0.99];
    const client = fixture.client({ deps: { random: () => randoms[i++ % 3] as number } });
    for (const key of ['j0', 'j1', 'j2']) await client.getOrSet(key, () => 1, { ttlMs: 100_000, jitter: 0.2 });
    const pttls = await Promise.all(
      ['j0', 'j1', 'j2'].map(async (k) => Number(await client.commands.call('PTTL', [client.context.keys.key(k)]))),
    );
    expect(pttls[0]).toBeGreaterThan(99_000);
    expect(pttls[1]).toBeGreaterThan(89_000);
    expect(pttls[1]).toBeLessThanOrEqual(90_000);
    expect(pttls[2]).toBeLessThanOrEqual(80_200);
  });

  it('invalidates by tag with one write of a new tag version, leaving other entries alone', async () => {
    const client = fixture.client();
    let loads = 0;
    const load = (v: string) => async () => {
      loads++;
      return v;
    };
    await client.getOrSet('post:1', load('p1'), { tags: ['user:7'] });
    await client.getOrSet('post:2', load('p2'), { tags: ['user:7', 'topic:x'] });
    await client.getOrSet('post:3', load('p3'), { tags: ['topic:x'] });
    await client.set('plain', 'kept', { tags: ['user:7'] });
    expect(loads).toBe(3);
    await client.invalidateTags('user:7');
    expect(await client.getOrSet('post:1', load('p1b'), { tags: ['user:7'] })).toBe('p1b');
    expect(await client.getOrSet('post:2', load('p2b'), { tags: ['user:7', 'topic:x'] })).toBe('p2b');
    expect(await client.getOrSet('post:3', load('never'), { tags: ['topic:x'] })).toBe('p3');
    expect(await client.get('plain')).toBeUndefined();
    expect(await client.getMany(['post:1', 'post:3', 'plain'])).toEqual(['p1b', 'p3', undefined]);
  });

  it('invalidates by pattern on every master with SCAN (never KEYS) and no CROSSSLOT', async () => {
    const client = fixture.client();
    const { commands } = client.context;
    await Promise.all(commands.masters().map((n) => commands.callNode(n, 'CONFIG', ['RESETSTAT'])));
    await Promise.all(Array.from({ length: 150 }, (_, i) => client.set(`user:${i}`, i)));
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.set(`order:${i}`, i)));
    expect(await client.invalidatePattern('user:*', { scanCount: 40 })).toBe(150);
    expect(await client.getMany(['user:0', 'user:149', 'order:0', 'order:19'])).toEqual([undefined, undefined, 0, 19]);
    for (const node of commands.masters()) {
      const stats = String(await commands.callNode(node, 'INFO', ['commandstats']));
      expect(stats).not.toContain('cmdstat_keys');
      expect(stats).toContain('cmdstat_scan');
    }
  });

  it('read-through loads by key; write-through writes the source first; a failed source write caches nothing', async () => {
    const client = fixture.client();
    const source = new Map<string, number>([['a', 1]]);
    const reader = client.readThrough<number | undefined>({ load: async (k) => source.get(k) });
    expect(await reader.get('a')).toBe(1);
    source.set('a', 2);
    expect(await reader.get('a')).toBe(1);
    const writer = client.writeThrough<number>({
      write: async (k, v) => {
        if (v < 0) throw new Error('rejected by the source');
        source.set(k, v);
      },
    });
    await writer.set('a', 3);
    expect(source.get('a')).toBe(3);
    expect(await reader.get('a')).toBe(3);
    await expect(writer.set('a', -1)).rejects.toThrow('rejected by the source');
    expect(await client.get('a')).toBe(3);
  });

  it('write-behind writes the cache at once, coalesces, bounds its queue and flushes on close', async () => {
    const client = fixture.client();
    const flushed: [string, number][] = [];
    const behind = client.writeBehind<number>({
      flush: async (entries) => {
        flushed.push(...entries.map(([k, v]) => [k, v] as [string, number]));
      },
      maxQueue: 3,
      flushIntervalMs: 60_000,
    });
    await behind.set('x', 1);
    await behind.set('x', 2);
    await behind.set('y', 1);
    await behind.set('z', 1);
    await expect(behind.set('w', 1)).rejects.toMatchObject({ code: 'E_QUEUE_FULL', option: 'maxQueue' });
    expect(await client.get('x')).toBe(2);
    expect(flushed).toEqual([]);
    await client.close();
    expect(flushed.sort()).toEqual([
      ['x', 2],
      ['y', 1],
      ['z', 1],
    ]);
  });

  it('warms keys with bounded concurrency and progress events, counting failures', async () => {
    const client = fixture.client();
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: number[] = [];
    client.events.on('warm:progress', ({ done }) => progress.push(done));
    const keys = Array.from({ length: 40 }, (_, i) => `warm:${i}`);
    const result = await client.warm({
      keys,
      concurrency: 4,
      load: async (key) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (key === 'warm:13') throw new Error('bad row');
        return key.toUpperCase();
      },
    });
    expect(result).toMatchObject({ done: 39, failed: 1 });
    expect(result.errors[0]?.key).toBe('warm:13');
    expect(maxInFlight).toBe(4);
    expect(progress.length).toBe(40);
    expect(await client.getMany(['warm:0', 'warm:39', 'warm:13'])).toEqual(['WARM:0', 'WARM:39', undefined]);
  });

  it('treats an unreadable value as a miss and overwrites it, while plain get reports E_CODEC', async () => {
    const client = fixture.client();
    const full = client.context.keys.key('garbage');
    await client.commands.set(full, 'written by another tool');
    await expect(client.get('garbage')).rejects.toMatchObject({ code: 'E_CODEC', key: full });
    expect(await client.getOrSet('garbage', () => 'fresh')).toBe('fresh');
    expect(await client.get('garbage')).toBe('fresh');
  });

  it('runs the loader once across two clients with the distributed lock', async () => {
    const a = fixture.client();
    const b = fixture.client({ namespace: a.options.namespace });
    let calls = 0;
    const loader = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 100));
      return 'shared';
    };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).getOrSet('locked', loader, { lock: true })),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['shared']));
  });

  it('near cache: serves local hits and drops them when another instance writes (CLIENT TRACKING)', async () => {
    const registry = new Registry();
    const a = fixture.client({ nearCache: true, deps: { registry } });
    const b = fixture.client({ namespace: a.options.namespace });
    await a.ready();
    const keys = Array.from({ length: 20 }, (_, i) => `near:${i}`);
    await Promise.all(keys.map((k) => b.set(k, 'v1')));
    for (const k of keys) expect(await a.get(k)).toBe('v1');
    for (const k of keys) expect(await a.get(k)).toBe('v1');
    expect(await counter(registry, METRIC_NAMES.nearInvalidations, { source: 'tracking' })).toBeGreaterThanOrEqual(0);
    expect(a.near?.store.size).toBe(20);
    await Promise.all(keys.map((k) => b.set(k, 'v2')));
    await eventually(
      async () => (await Promise.all(keys.map((k) => a.get(k)))).every((v) => v === 'v2'),
      5000,
      'v2 everywhere',
    );
    await b.delete('near:0');
    await eventually(async () => (await a.get('near:0')) === undefined, 5000, 'delete seen');
  });
}
