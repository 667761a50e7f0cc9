import { createClient, createPubSub } from '@slotforge/client';
import { expect, it } from 'vitest';
import { command } from '../../../runtime/redis/index.ts';
import { useCluster } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';
import { deliveredAgain, subscribedPerMaster } from './per-master.ts';

/**
 * Scenario: ioredis 6.0.0 resubscribes a master's sharded channels once, when it reconnects that master's subscriber,
 * and only logs a SSUBSCRIBE that fails then. Here every master kills the subscriber connections (an ACL change that
 * takes the channels away from the user: Redis disconnects its subscribers), ioredis reconnects them at once and its
 * resubscribe is refused (NOPERM); then the channels are allowed again. Nothing about the cluster changes afterwards,
 * so without the client's subscription audit (client/src/core/ioredis/sharded-subscribers.ts) no message ever arrives
 * again on the same subscription.
 * Checker: once allowed again, the SAME subscription (no new subscribe call) receives a message on a channel of every
 * master within a deadline, and the client reported the repair as `pubsub:resubscribe`.
 */
const PASSWORD = 'pubsub-resubscribe';
const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: PASSWORD });

/** Two audits (1 s apart: slotsRefreshIntervalMs) see a channel missing, then one SSUBSCRIBE round trip; a send the
 * audit made while the channels were still denied backs off 2 s. */
const MAX_RESUME_MS = 8_000;

it('re-establishes a sharded subscription whose resubscribe Redis refused after a reconnect', async () => {
  const client = createClient({ cluster: { nodes: cluster().seeds() }, password: PASSWORD, namespace: 'prs' });
  const nodes = cluster().nodes;
  const repairs: string[] = [];
  client.events.on('pubsub:resubscribe', (p) => repairs.push(...p.channels));
  try {
    await client.commands.ready();
    const pubsub = client.use(createPubSub, {});
    const { channels, seen } = await subscribedPerMaster(client, pubsub, 'r', nodes.length);

    // Redis disconnects the subscribers of a user whose channels are taken away; ioredis reconnects them and its
    // SSUBSCRIBE is refused. Wait until every master has logged that refusal for its channel (ACL LOG), so the
    // channels are allowed again only after ioredis's one resubscribe failed.
    for (const node of nodes) await command(node, 'ACL', 'LOG', 'RESET');
    for (const node of nodes) await command(node, 'ACL', 'SETUSER', 'default', 'resetchannels');
    try {
      await eventually(
        async () => {
          for (const node of nodes) {
            const log = JSON.stringify(await command(node, 'ACL', 'LOG'));
            if (!channels.some((c) => log.includes(`"${c.redisChannel}"`))) return false;
          }
          return true;
        },
        10_000,
        'every master refused the resubscribe of its channel (ACL LOG)',
      );
    } finally {
      for (const node of nodes) await command(node, 'ACL', 'SETUSER', 'default', 'allchannels');
    }
    const allowedAt = Date.now();

    await deliveredAgain(
      channels,
      seen,
      MAX_RESUME_MS,
      'delivery on every channel after the channels are allowed again',
    );
    console.info(
      `pubsub resubscribe: delivery resumed on all ${channels.length} channels ${Date.now() - allowedAt} ms after the channels were allowed again`,
    );
    expect(new Set(repairs)).toEqual(new Set(channels.map((c) => c.redisChannel.replace(/^prs:/, ''))));
  } finally {
    await client.close();
  }
}, 60_000);
