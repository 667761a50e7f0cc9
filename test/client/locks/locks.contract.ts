import { createLocks, isSlotforgeError, keySlot, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually } from '../contract/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Locks: the same behaviour on standalone, cluster and sentinel. */
export default function locksContract(fixture: ContractFixture): void {
  it('excludes other holders and hands out strictly increasing fencing tokens from one slot', async () => {
    const client = fixture.client();
    const locks = client.use(createLocks, { ttlMs: 5_000 });
    const { lock, fence } = locks.keysOf('invoice:42');
    expect(keySlot(lock)).toBe(keySlot(fence));
    const first = await locks.acquire('invoice:42');
    expect(await locks.tryAcquire('invoice:42')).toBeUndefined();
    const waited = await locks.acquire('invoice:42', { waitMs: 100 }).catch((e: unknown) => e);
    expect(isSlotforgeError(waited, 'E_LOCK_TIMEOUT')).toBe(true);
    expect((waited as Error).message).toMatch(
      /lock 'invoice:42' is held by another owner .* not acquired within 100 ms/,
    );
    expect(await first.release()).toBe(true);
    expect(await first.release()).toBe(false);
    const second = await locks.acquire('invoice:42');
    expect(second.token).toBeGreaterThan(first.token);
    await second.release();
  });

  it('serialises 8 contenders: a read-modify-write under withLock loses no update, tokens increase in order', async () => {
    const client = fixture.client();
    const locks = client.use(createLocks, { ttlMs: 5_000, retryDelayMs: 5 });
    await client.set('balance', 0);
    const tokens: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, () =>
        locks.withLock('balance', async (handle) => {
          tokens.push(handle.token);
          const value = (await client.get<number>('balance')) as number;
          await sleep(5);
          handle.assertHeld();
          await client.set('balance', value + 1);
        }),
      ),
    );
    expect(await client.get('balance')).toBe(8);
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(8);
  });

  it('auto-extends while held: a 300 ms lock is still ours after 1 s', async () => {
    const client = fixture.client();
    const locks = client.use(createLocks, { ttlMs: 300 });
    const handle = await locks.acquire('long-job');
    await sleep(1_000);
    expect(handle.held).toBe(true);
    expect(handle.signal.aborted).toBe(false);
    expect(await locks.tryAcquire('long-job')).toBeUndefined();
    expect(await handle.release()).toBe(true);
    expect(await locks.tryAcquire('long-job')).toBeDefined();
  });

  it('reports E_LOCK_LOST when the lock expires or is taken, and never releases another owner’s lock', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    const locks = client.use(createLocks, { ttlMs: 200, autoExtend: false });
    const stale = await locks.acquire('report');
    await eventually(async () => (await locks.tryAcquire('report', { ttlMs: 5_000 })) !== undefined, 3_000, 'expiry');
    expect(() => stale.assertHeld()).toThrow(/lock 'report' \(token \d+\) was lost/);
    const lost = await stale.extend().catch((e: unknown) => e);
    expect(isSlotforgeError(lost, 'E_LOCK_LOST')).toBe(true);
    expect(await stale.release()).toBe(false);
    // The new owner still holds it: the stale holder's release did not delete it (compare-and-delete).
    expect(await locks.tryAcquire('report')).toBeUndefined();
    const metric = await registry.getSingleMetricAsString(METRIC_NAMES.errors);
    expect(metric).toMatch(/code="E_LOCK_LOST"} 1/);
  });

  it('aborts the signal and fails withLock with E_LOCK_LOST when an extension finds another owner', async () => {
    const client = fixture.client();
    const locks = client.use(createLocks, { ttlMs: 300 });
    const lostEvents: unknown[] = [];
    client.events.on('lock:lost', (e) => void lostEvents.push(e));
    const outcome = locks
      .withLock('sync', async (handle) => {
        // Someone deletes and takes the lock (an operator, or the key expired during a long pause).
        const { lock } = locks.keysOf('sync');
        await client.commands.call('SET', [lock, 'intruder', 'PX', 5_000]);
        await new Promise<void>((resolve) => handle.signal.addEventListener('abort', () => resolve(), { once: true }));
        expect(handle.held).toBe(false);
        return 'done';
      })
      .catch((e: unknown) => e);
    const error = await outcome;
    expect(isSlotforgeError(error, 'E_LOCK_LOST')).toBe(true);
    expect(lostEvents).toHaveLength(1);
    expect(await client.commands.call('GET', [locks.keysOf('sync').lock])).toBe('intruder');
  });

  it('rejects bad options naming the option, the value and the rule', async () => {
    const client = fixture.client();
    expect(() => client.use(createLocks, { ttlMs: 5 })).toThrow(
      'option ttlMs must be a whole number of milliseconds >= 10 (got 5)',
    );
    const locks = client.use(createLocks, {});
    await expect(locks.acquire('a{b}')).rejects.toThrow("option name must be a string without { or } (got 'a{b}')");
  });
}
