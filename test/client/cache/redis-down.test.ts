import { createClient, isSlotforgeError, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { useStandalone } from '../../support/index.ts';

/** Stops its own server (distinct configuration), so no other file sees it down. */
const redis = useStandalone({ config: { hz: '11' } });

it('keeps serving when Redis is down: stale within grace, else the loader; plain reads fail by their deadline (breaker off)', async () => {
  const registry = new Registry();
  // Without the circuit breaker (circuit-breaker.test.ts covers it): each call waits for Redis up to its deadline.
  const client = createClient({
    port: redis().port,
    namespace: 'down',
    commandTimeoutMs: 1500,
    circuitBreaker: false,
    deps: { registry },
  });
  try {
    const options = { ttlMs: 60_000, graceMs: 60_000, softTimeoutMs: 200 };
    expect(await client.getOrSet('known', () => 'cached', options)).toBe('cached');
    await redis().stop();

    const started = Date.now();
    expect(await client.getOrSet('known', () => 'from-loader', options)).toBe('cached');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await client.getOrSet('unknown', () => 'from-loader', options)).toBe('from-loader');

    const readStart = Date.now();
    const error = await client.get('known').catch((e: unknown) => e);
    const elapsed = Date.now() - readStart;
    expect(isSlotforgeError(error)).toBe(true);
    expect(['E_CONNECTION', 'E_TIMEOUT']).toContain((error as { code: string }).code);
    expect((error as { key: string }).key).toBe('down:known');
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(3500);
    const stale = await registry.getSingleMetricAsString(METRIC_NAMES.cacheStaleServed);
    expect(stale).toMatch(/reason="redis-error"} 1/);
    const errors = await registry.getSingleMetricAsString(METRIC_NAMES.errors);
    expect(errors).toMatch(/code="E_(CONNECTION|TIMEOUT)"} [1-9]/);
  } finally {
    await client.close();
  }
});
