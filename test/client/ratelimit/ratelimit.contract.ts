import { randomUUID } from 'node:crypto';
import { createRateLimiter, isSlotforgeError, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { shiftedClock } from '../contract/index.ts';

async function decisions(registry: Registry, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === METRIC_NAMES.rateLimitDecisions);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Rate limiting: sliding window and GCRA, the same on standalone, cluster and sentinel. */
export default function rateLimitContract(fixture: ContractFixture): void {
  it('sliding log: admits `limit` requests, then rejects with retryAfterMs, counting decisions by limiter', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    const limiter = client.use(createRateLimiter, {
      name: 'api',
      limit: 3,
      windowMs: 60_000,
      algorithm: 'sliding-log',
    });
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await limiter.consume('user-1'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(results[0]?.retryAfterMs).toBe(0);
    expect(results[3]?.retryAfterMs).toBeGreaterThan(55_000);
    expect(results[3]?.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(results[2]?.resetMs).toBeGreaterThan(55_000);
    expect((await limiter.consume('user-2')).allowed).toBe(true);
    expect(await decisions(registry, { limiter: 'api', decision: 'allowed' })).toBe(4);
    expect(await decisions(registry, { limiter: 'api', decision: 'denied' })).toBe(2);
    await limiter.reset('user-1');
    expect((await limiter.consume('user-1')).remaining).toBe(2);
  });

  it('sliding window (counter, the default): weighs the previous window by its overlap; one short string per id', async () => {
    const client = fixture.client();
    const windowMs = 2_000;
    const limiter = client.use(createRateLimiter, { name: 'counter', limit: 10, windowMs });
    const log = client.use(createRateLimiter, { name: 'log', limit: 10, windowMs, algorithm: 'sliding-log' });
    // Start right after a window boundary (windows are aligned on multiples of windowMs, server time).
    const serverNow = () => client.commands.time();
    const phase = async () => (await serverNow()) % windowMs;
    for (let p = await phase(); p > 200; p = await phase()) {
      await new Promise((r) => setTimeout(r, Math.max(1, windowMs - p)));
    }
    const firstWindow = Math.floor((await serverNow()) / windowMs);
    const first = [];
    for (let i = 0; i < 11; i++) first.push(await limiter.consume('u'));
    expect(first.map((r) => r.allowed)).toEqual([...Array(10).fill(true), false]);
    expect(first[9]?.remaining).toBe(0);
    // Rejected with 10 in the current window: retry when the next window has started and enough of this one left.
    expect(first[10]?.retryAfterMs).toBeGreaterThan(windowMs * 0.85);
    expect(first[10]?.retryAfterMs).toBeLessThanOrEqual(windowMs * 1.1 + 1);
    for (let i = 0; i < 10; i++) await log.consume('u');
    const counterBytes = Number(await client.commands.call('MEMORY', ['USAGE', limiter.keyOf('u')]));
    const logBytes = Number(await client.commands.call('MEMORY', ['USAGE', log.keyOf('u')]));
    // Beyond the key name: under 100 bytes whatever the limit; the log grows with every admitted request.
    expect(counterBytes - limiter.keyOf('u').length).toBeLessThan(100);
    expect(logBytes).toBeGreaterThan(counterBytes + 10 * 10);
    // Half-way through the next window the previous one still counts for half: about 5 more are admitted, not 10.
    for (let t = await serverNow(); ; t = await serverNow()) {
      const p = t % windowMs;
      if (Math.floor(t / windowMs) === firstWindow + 1 && p >= windowMs / 2 && p <= windowMs * 0.6) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    let admitted = 0;
    while ((await limiter.consume('u')).allowed) admitted++;
    expect(admitted).toBeGreaterThanOrEqual(4);
    expect(admitted).toBeLessThanOrEqual(6);
  }, 20_000);

  for (const algorithm of ['sliding-window', 'sliding-log', 'gcra'] as const) {
    it(`${algorithm}: only ADMITTED requests count, so a client that keeps retrying gets in again (seed regression)`, async () => {
      const client = fixture.client();
      const limiter = client.use(createRateLimiter, { name: 'retry', limit: 2, windowMs: 600, algorithm });
      const first = Date.now();
      expect((await limiter.consume('u')).allowed).toBe(true);
      expect((await limiter.consume('u')).allowed).toBe(true);
      let denied = 0;
      let admittedAt: number | undefined;
      // Hammer every 20 ms: the seed's isRateLimited added each attempt to the window and never let this client in.
      while (Date.now() - first < 3_000) {
        const result = await limiter.consume('u');
        if (result.allowed) {
          admittedAt = Date.now();
          break;
        }
        denied++;
        expect(result.retryAfterMs).toBeGreaterThan(0);
        // The counter's estimate may ask to wait into the next window (up to two windows).
        expect(result.retryAfterMs).toBeLessThanOrEqual(algorithm === 'sliding-window' ? 1200 : 600);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(denied).toBeGreaterThan(5);
      expect(admittedAt).toBeDefined();
      expect((admittedAt as number) - first).toBeLessThan(algorithm === 'sliding-window' ? 2_000 : 1_500);
    });
  }

  it('uses server time: two clients whose clocks are 2 hours apart share one limit exactly (seed used Date.now)', async () => {
    const namespace = `rl${randomUUID().slice(0, 8)}`;
    const ahead = shiftedClock();
    ahead.advance(3_600_000);
    const behind = shiftedClock();
    behind.advance(-3_600_000);
    const a = fixture.client({ namespace, deps: { clock: ahead } });
    const b = fixture.client({ namespace, deps: { clock: behind } });
    for (const algorithm of ['sliding-window', 'sliding-log', 'gcra'] as const) {
      const la = a.use(createRateLimiter, { name: `skew-${algorithm}`, limit: 4, windowMs: 60_000, algorithm });
      const lb = b.use(createRateLimiter, { name: `skew-${algorithm}`, limit: 4, windowMs: 60_000, algorithm });
      const outcomes = [];
      for (let i = 0; i < 4; i++) {
        outcomes.push((await la.consume('shared')).allowed, (await lb.consume('shared')).allowed);
      }
      expect(outcomes.filter(Boolean).length).toBe(4);
      const denied = await la.consume('shared');
      expect(denied.allowed).toBe(false);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(algorithm === 'sliding-window' ? 120_000 : 60_000);
    }
  });

  it('gcra: a burst of `limit`, then one request per windowMs/limit', async () => {
    const client = fixture.client();
    const limiter = client.use(createRateLimiter, { name: 'smooth', limit: 5, windowMs: 1_000, algorithm: 'gcra' });
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await limiter.consume('k'));
    expect(burst.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
    expect(burst.slice(0, 5).map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0]);
    const denied = burst[5] as { retryAfterMs: number; resetMs: number };
    expect(denied.retryAfterMs).toBeGreaterThan(100);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(200);
    expect(denied.resetMs).toBeGreaterThan(900);
    await new Promise((r) => setTimeout(r, denied.retryAfterMs + 20));
    const next = await limiter.consume('k');
    expect(next.allowed).toBe(true);
    expect((await limiter.consume('k')).allowed).toBe(false);
    expect((await limiter.consume('other', { cost: 5 })).allowed).toBe(true);
  });

  it('is atomic under concurrency: 60 concurrent requests, exactly `limit` admitted', async () => {
    const client = fixture.client();
    for (const algorithm of ['sliding-window', 'sliding-log', 'gcra'] as const) {
      const limiter = client.use(createRateLimiter, {
        name: `race-${algorithm}`,
        limit: 10,
        windowMs: 60_000,
        algorithm,
      });
      const results = await Promise.all(Array.from({ length: 60 }, () => limiter.consume('hot')));
      expect(results.filter((r) => r.allowed).length).toBe(10);
    }
  });

  it('rejects bad options and costs, naming the option, the value and the rule', async () => {
    const client = fixture.client();
    expect(() => client.use(createRateLimiter, { name: 'x', limit: 0, windowMs: 1000 })).toThrow(
      'option limit must be an integer between 1 and 1000000 (got 0)',
    );
    expect(() =>
      client.use(createRateLimiter, { name: 'x', limit: 1, windowMs: 1000, algorithm: 'fixed' as 'gcra' }),
    ).toThrow("option algorithm must be one of 'sliding-window', 'sliding-log', 'gcra' (got 'fixed')");
    const limiter = client.use(createRateLimiter, { name: 'x', limit: 2, windowMs: 1000 });
    const error = await limiter.consume('id', { cost: 3 }).catch((e: unknown) => e);
    expect(isSlotforgeError(error, 'E_INVALID_OPTION') && error.option).toBe('cost');
  });
}
