/**
 * A durable write whose replicas do not confirm it. Each attempt's WAIT gets its whole waitTimeoutMs (no per-attempt
 * command timeout cuts it); a plain SET is sent again until the call's deadline, so a replica that comes back in
 * time (a rollout) confirms it; the final error says how many replicas had it. An NX write is not sent twice.
 */
import { connect } from '@slotforge/client';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { useStandalone } from '../../support/index.ts';

// This file's own servers (distinct configurations): a primary, and a server that becomes its replica late.
const primary = useStandalone({ config: { hz: '14' } });
const late = useStandalone({ config: { hz: '15' } });
const admins: Redis[] = [];
afterAll(async () => {
  await Promise.allSettled(admins.map((a) => a.quit()));
});

const client = (commandTimeoutMs: number) => connect({ host: primary().host, port: primary().port, commandTimeoutMs });

/** Awaits a durable write that must fail unconfirmed, naming its WAIT; resolves with how long it took (ms). */
async function unconfirmed(write: () => Promise<boolean>, waitTimeoutMs: number): Promise<number> {
  const started = performance.now();
  await expect(write()).rejects.toMatchObject({
    code: 'E_TIMEOUT',
    message: expect.stringContaining(`reached 0 of 1 replica(s) within ${waitTimeoutMs} ms`),
  });
  return performance.now() - started;
}

describe('durable writes without a replica to confirm them', () => {
  it("fail at the call's deadline, sent again meanwhile, saying how many replicas had them", async () => {
    const commands = client(3000);
    try {
      const took = await unconfirmed(() => commands.set('plain', 'v', { waitReplicas: 1, waitTimeoutMs: 1000 }), 1000);
      expect(took).toBeGreaterThanOrEqual(2900);
      expect(took).toBeLessThan(4500);
      expect(String(await commands.get('plain'))).toBe('v');
    } finally {
      await commands.close();
    }
  });

  it('fail an NX write after its one WAIT, not sending it again', async () => {
    const commands = client(8000);
    try {
      const took = await unconfirmed(
        () => commands.set('nx', 'v', { nx: true, waitReplicas: 1, waitTimeoutMs: 2500 }),
        2500,
      );
      // The WAIT's whole 2500 ms (a 1000 ms attempt timeout cut it before), and once.
      expect(took).toBeGreaterThanOrEqual(2450);
      expect(took).toBeLessThan(4000);
    } finally {
      await commands.close();
    }
  });

  it('succeed once a replica comes back within the deadline', async () => {
    const commands = client(8000);
    const replica = new Redis({ host: late().host, port: late().port });
    admins.push(replica);
    try {
      const write = commands.set('later', 'v', { waitReplicas: 1, waitTimeoutMs: 500 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await replica.call('REPLICAOF', primary().host, String(primary().port));
      await expect(write).resolves.toBe(true);
      expect(String(await replica.get('later'))).toBe('v');
    } finally {
      await replica.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined);
      await commands.close();
    }
  });
});
