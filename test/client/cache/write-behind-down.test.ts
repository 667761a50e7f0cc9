import { createClient, isSlotforgeError, METRIC_NAMES, type SlotforgeError } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { useStandalone } from '../../support/index.ts';

/** Stops its own server (distinct configuration), so no other file sees it down. */
const redis = useStandalone({ config: { hz: '12' } });

/** The deadline given to close() below, and how much later than it close() may return (event loop, QUIT). */
const CLOSE_TIMEOUT_MS = 800;
const CLOSE_SLACK_MS = 1500;

it('close() gives up on an unreachable Redis within closeTimeoutMs and reports the entries that never reached the source', async () => {
  const registry = new Registry();
  const client = createClient({ port: redis().port, namespace: 'wb-down', commandTimeoutMs: 5000, deps: { registry } });
  // The source of truth is a hash on the same Redis: with Redis stopped, every flush hangs for commandTimeoutMs.
  const written: string[] = [];
  const queue = client.writeBehind<number>({
    flush: async (entries) => {
      for (const [key, value] of entries) await client.commands.call('HSET', ['wb-down:source', key, value]);
      written.push(...entries.map(([key]) => key));
    },
    flushIntervalMs: 60_000,
    batchSize: 1,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
  });
  const dropped: string[][] = [];
  client.events.on('writebehind:dropped', ({ keys }) => dropped.push(keys));
  try {
    await queue.set('a', 1);
    await queue.set('b', 2);
    await queue.set('c', 3);
    expect(queue.pending).toBe(3);
    await redis().stop();

    const started = Date.now();
    const error = await queue.close().catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(isSlotforgeError(error, 'E_TIMEOUT')).toBe(true);
    expect(error).toMatchObject({ option: 'closeTimeoutMs', timeoutMs: CLOSE_TIMEOUT_MS, received: 3 });
    expect((error as SlotforgeError).message).toMatch(/3 entr\(ies\) never reached the source/);
    expect(elapsed).toBeGreaterThanOrEqual(CLOSE_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(CLOSE_TIMEOUT_MS + CLOSE_SLACK_MS);
    expect(dropped).toEqual([['a', 'b', 'c']]);
    expect(written).toEqual([]);
    expect(queue.pending).toBe(0);
    expect(await registry.getSingleMetricAsString(METRIC_NAMES.writeBehindQueue)).toMatch(/ 0$/m);
    await expect(queue.set('d', 4)).rejects.toMatchObject({ code: 'E_CLOSED' });
  } finally {
    // The whole client closes too: the module error is reported, the connection is not waited for past its own bound.
    const closing = Date.now();
    await client.close().catch(() => undefined);
    expect(Date.now() - closing).toBeLessThan(CLOSE_SLACK_MS + 5000);
  }
});
