import { createClient, createPubSub } from '@slotforge/client';
import { expect, it } from 'vitest';
import { useSentinel } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Scenario: the Sentinel-managed primary is SIGKILLed. Checker: once a replica is promoted, the SAME subscription
 * receives messages again (ioredis' sentinel client reconnects to the new primary and resubscribes).
 * Its own configuration (a password, downAfterMs 1500) so no other file sees this broken deployment.
 */
const PASSWORD = 'pubsub-sentinel';
const sentinel = useSentinel({ replicas: 1, sentinels: 3, password: PASSWORD, downAfterMs: 1500 });

/** down-after (1.5 s) + election + promotion + client reconnect, with a wide margin for a loaded machine. */
const MAX_RESUBSCRIBE_MS = 30_000;

it('resubscribes after the sentinel primary is killed and a replica promoted', async () => {
  const client = createClient({
    sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: sentinel().masterName },
    password: PASSWORD,
    namespace: 'pss',
  });
  try {
    const pubsub = client.use(createPubSub, {});
    const channel = pubsub.channel<number>('events');
    const seen: number[] = [];
    await channel.subscribe((n) => void seen.push(n));
    await channel.publish(1);
    await eventually(() => seen.length === 1, 5_000, 'delivery before the kill');
    const before = await sentinel().currentPrimary();
    const killedAt = Date.now();
    sentinel().primary.process.signal('SIGKILL');
    await sentinel().primary.process.exited;
    let n = 100;
    await eventually(
      async () => {
        await channel.publish(n++).catch(() => 0);
        await new Promise((r) => setTimeout(r, 100));
        return seen.some((v) => v >= 100);
      },
      MAX_RESUBSCRIBE_MS,
      'delivery after the failover',
    );
    const after = await sentinel().currentPrimary();
    console.info(`pubsub sentinel failover: delivery resumed ${Date.now() - killedAt} ms after the kill`);
    expect(`${after.host}:${after.port}`).not.toBe(`${before.host}:${before.port}`);
    expect(pubsub.connections).toBe(1);
  } finally {
    await client.close();
  }
}, 60_000);
