/**
 * A durable write whose replicas do not confirm it: the WAIT blocks for its own timeout, then the client reports how
 * many replicas had it (E_TIMEOUT naming the WAIT), instead of a per-attempt command timeout cutting the WAIT and the
 * write being sent again until the call's deadline.
 */
import { connect } from '@slotforge/client';
import { describe, expect, it } from 'vitest';
import { useStandalone } from '../../support/index.ts';

// This file's own server (a distinct configuration): a primary with no replica.
const primary = useStandalone({ config: { hz: '14' } });

describe('durable writes wait for replicas as long as asked', () => {
  for (const waitTimeoutMs of [500, 1000, 2500]) {
    it(`reports 0 of 1 replicas after the WAIT's own ${waitTimeoutMs} ms, sending the write once`, async () => {
      const commands = connect({ host: primary().host, port: primary().port, commandTimeoutMs: 8000 });
      try {
        const started = performance.now();
        const write = commands.set(`k${waitTimeoutMs}`, 'v', { waitReplicas: 1, waitTimeoutMs });
        await expect(write).rejects.toMatchObject({
          code: 'E_TIMEOUT',
          message: expect.stringContaining(`reached 0 of 1 replica(s) within ${waitTimeoutMs} ms`),
        });
        const took = performance.now() - started;
        expect(took).toBeGreaterThanOrEqual(waitTimeoutMs - 50);
        // Well before the call's 8000 ms deadline: one attempt, not a command timeout and retries.
        expect(took).toBeLessThan(waitTimeoutMs + 1500);
        expect(String(await commands.get(`k${waitTimeoutMs}`))).toBe('v');
      } finally {
        await commands.close();
      }
    });
  }
});
