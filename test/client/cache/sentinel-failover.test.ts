import { createClient, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { useSentinel } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Scenario: the Sentinel-managed primary is SIGKILLed under a getOrSet workload with a near cache.
 * Checkers: getOrSet never fails (stale or loader while no primary), writes succeed again on the promoted replica,
 * and the near cache was flushed and serves the new value (it never keeps a value from before the failover).
 * Its own configuration (downAfterMs 1000) so other files never see this broken deployment.
 */
const sentinel = useSentinel({ replicas: 1, sentinels: 3, downAfterMs: 1000 });

/** getOrSet calls allowed to fail: none. */
const MAX_READ_ERRORS = 0;

it('survives a Sentinel failover: getOrSet keeps serving, the near cache is flushed and follows the new primary', async () => {
  const registry = new Registry();
  const options = { sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: 'mymaster' } };
  const reader = createClient({ ...options, namespace: 'sf', nearCache: true, deps: { registry } });
  const writer = createClient({ ...options, namespace: 'sf' });
  try {
    await reader.ready();
    const readOptions = { ttlMs: 60_000, graceMs: 60_000, jitter: 0, softTimeoutMs: 200 };
    const keys = Array.from({ length: 50 }, (_, i) => `k:${i}`);
    for (const key of keys) await reader.getOrSet(key, () => `v1:${key}`, readOptions);
    await writer.set('flag', 'before', { waitReplicas: 1 });
    expect(await reader.get('flag')).toBe('before');

    let stop = false;
    let reads = 0;
    let readErrors = 0;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const key = keys[Math.floor(Math.random() * keys.length)] as string;
        reads++;
        try {
          const value = await reader.getOrSet(key, () => `v1:${key}`, readOptions);
          if (value !== `v1:${key}`) readErrors++;
        } catch {
          readErrors++;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    const old = sentinel().primary;
    const killedAt = Date.now();
    old.process.signal('SIGKILL');
    await old.process.exited;
    // Writes work again once a replica is promoted (the client retries through the failover within its deadline).
    await eventually(
      async () => {
        try {
          await writer.set('flag', 'after');
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'a write on the promoted primary',
    );
    const writableAfterMs = Date.now() - killedAt;
    // Right after the failover the reader's circuit breaker may still be open (get fails fast with E_CIRCUIT_OPEN
    // until its background probe reaches the new primary): keep asking until it answers with the new value.
    await eventually(
      async () => (await reader.get('flag').catch(() => undefined)) === 'after',
      10_000,
      'near cache follows the new primary',
    );
    stop = true;
    await Promise.all(workers);
    const flushes = await registry.getSingleMetricAsString(METRIC_NAMES.nearInvalidations);
    console.info(
      `sentinel failover: writable after ${writableAfterMs} ms; ${reads} getOrSet calls, ${readErrors} failed`,
    );
    expect(readErrors).toBeLessThanOrEqual(MAX_READ_ERRORS);
    expect(reads).toBeGreaterThan(20);
    expect(flushes).toMatch(/source="flush"} [1-9]/);
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
}, 60_000);
