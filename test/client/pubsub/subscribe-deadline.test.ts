import { createClient, createPubSub, isSlotforgeError, type SlotforgeClient } from '@slotforge/client';
import { describe, expect, it } from 'vitest';

/**
 * A subscribe has a deadline like every other call (outsider test of issue 16): against a cluster nobody answers for,
 * channel().subscribe() was still pending after 60 s, and a close() meanwhile left it pending for good (a script
 * awaiting it exited with an unsettled promise). Nothing listens on 127.0.0.1:1, so no Redis is needed.
 */
const DEADLINE_MS = 1000;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1500;

const unreachable = [
  ['cluster', 'redis+cluster://127.0.0.1:1'],
  ['standalone', 'redis://127.0.0.1:1'],
] as const;

/** Subscribes a handler to channel 'news'; resolves with the error, or undefined when it subscribed. */
function subscribeOutcome(client: SlotforgeClient): Promise<unknown> {
  return client
    .use(createPubSub, {})
    .channel('news')
    .subscribe(() => {})
    .then(
      () => undefined,
      (e: unknown) => e,
    );
}

describe('subscribe to an unreachable Redis', () => {
  for (const [mode, url] of unreachable) {
    it(`${mode}: fails within its deadline with a SlotforgeError`, async () => {
      const client = createClient({ url, commandTimeoutMs: DEADLINE_MS, namespace: 'sd' });
      try {
        const started = performance.now();
        const error = await subscribeOutcome(client);
        const ms = performance.now() - started;
        expect(isSlotforgeError(error), String(error)).toBe(true);
        expect(['E_TIMEOUT', 'E_CONNECTION']).toContain(isSlotforgeError(error) ? error.code : '');
        expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
        // Not ioredis' "Refer to maxRetriesPerRequest", an option ours do not have.
        expect((error as Error).message).not.toMatch(/maxRetriesPerRequest/);
      } finally {
        await client.close();
      }
    });
  }

  it('cluster: a subscribe still pending when close() is called fails at once with E_CLOSED', async () => {
    const client = createClient({ url: 'redis+cluster://127.0.0.1:1', commandTimeoutMs: 60_000, namespace: 'sd' });
    const pending = subscribeOutcome(client);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await client.close();
    const error = await pending;
    expect(performance.now() - started).toBeLessThan(SLACK_MS);
    expect(isSlotforgeError(error) && error.code, String(error)).toBe('E_CLOSED');
  });
});
