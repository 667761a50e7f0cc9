import { createClient, createPubSub } from '@slotforge/client';
import { expect, it } from 'vitest';
import { command, parseClusterNodes } from '../../../runtime/redis/index.ts';
import { useCluster } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Scenario: the master that owns a sharded channel's slot is SIGKILLed. Checker: after its replica takes over, the
 * SAME subscriptions (no new subscribe call) receive messages again on the sharded channel and on a classic one.
 * Its own configuration (nodeTimeoutMs 1600, a password) so no other file sees this broken deployment.
 */
const PASSWORD = 'pubsub-failover';
const cluster = useCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1600, password: PASSWORD });

/** How long after the kill delivery must resume: failover (FACTS: about 3.5-4.6 s at 2 s node timeout) + refresh. */
const MAX_RESUBSCRIBE_MS = 20_000;

it('resubscribes sharded and classic channels after the owning master is killed and its replica promoted', async () => {
  const client = createClient({ cluster: { nodes: cluster().seeds() }, password: PASSWORD, namespace: 'psf' });
  const events: string[] = [];
  client.events.on('pubsub:error', () => void events.push('error'));
  try {
    const pubsub = client.use(createPubSub, {});
    const sharded = pubsub.channel<number>('alerts');
    const classic = pubsub.channel<number>('broadcast', { sharded: false });
    expect(sharded.sharded).toBe(true);
    const seen = { sharded: [] as number[], classic: [] as number[] };
    await sharded.subscribe((n) => void seen.sharded.push(n));
    await classic.subscribe((n) => void seen.classic.push(n));
    await sharded.publish(1);
    await classic.publish(1);
    await eventually(() => seen.sharded.length === 1 && seen.classic.length === 1, 5_000, 'delivery before the kill');

    // The victim: the master owning the sharded channel's slot (SPUBLISH routes by it).
    const owner = client.commands.groupByNode([sharded.redisChannel]).keys().next().value as string;
    const victim = cluster().nodes.find((n) => `${n.host}:${n.port}` === owner);
    if (!victim) throw new Error(`no node ${owner}`);
    const replicas = parseClusterNodes(String(await command(victim, 'CLUSTER', 'NODES'))).filter((l) =>
      l.flags.includes('slave'),
    );
    expect(replicas.length).toBeGreaterThan(0);
    // FACTS: a replica refuses to fail over before its link is up; waitHealthy in the fixture checked it.
    const killedAt = Date.now();
    victim.process.signal('SIGKILL');
    await victim.process.exited;

    let n = 100;
    await eventually(
      async () => {
        const value = n++;
        await Promise.allSettled([sharded.publish(value), classic.publish(value)]);
        await new Promise((r) => setTimeout(r, 100));
        return seen.sharded.some((v) => v >= 100) && seen.classic.some((v) => v >= 100);
      },
      MAX_RESUBSCRIBE_MS,
      'delivery on both channels after the failover',
    );
    const resumedAfterMs = Date.now() - killedAt;
    const newOwner = client.commands.groupByNode([sharded.redisChannel]).keys().next().value as string;
    console.info(`pubsub failover: delivery resumed ${resumedAfterMs} ms after the kill; ${owner} -> ${newOwner}`);
    expect(newOwner).not.toBe(owner);
    expect(pubsub.connections).toBe(2);
  } finally {
    await client.close();
  }
}, 60_000);
