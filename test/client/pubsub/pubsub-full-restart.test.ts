import { createClient, createPubSub } from '@slotforge/client';
import { it } from 'vitest';
import { command } from '../../../runtime/redis/index.ts';
import { useCluster } from '../../support/index.ts';
import { deliveredAgain, subscribedPerMaster } from './per-master.ts';

/**
 * Scenario (what the chaos drill `full-restart` meets with a DNS delay, without the drill): every master drops the
 * subscriber's connections at once and then, for a while, accepts connections and never answers (SIGSTOP: an address
 * that times out, like a stale name pointing at a deleted pod). ioredis' sharded subscriber group starts subscribers
 * on them, and its slot refresh finds every node dead and stops the group while they are still connecting.
 * Checker: once every node answers again, the SAME subscription (no new subscribe call) receives a message published
 * afterwards, on a channel of every master, within a deadline. Without client/src/core/ioredis/sharded-subscribers.ts the
 * group stays stuck in a reset that never ends and nothing arrives.
 * Its own configuration (a password, no replicas: nothing fails over while the nodes are stopped) so no other file
 * sees these stopped nodes.
 */
const PASSWORD = 'pubsub-full-restart';
const cluster = useCluster({ shards: 3, replicasPerShard: 0, nodeTimeoutMs: 15_000, password: PASSWORD });

/** How long the nodes accept and never answer: several refresh-fails-then-reconnect rounds of the client (1-3 s each). */
const DEAD_MS = 9_000;
/** After the nodes answer again: a slot-map refresh (1 s), a reconnect round and the resubscription, with margin. */
const MAX_RESUME_MS = 15_000;

it('re-establishes sharded subscriptions after every node was dead while the subscribers were being rebuilt', async () => {
  const client = createClient({ cluster: { nodes: cluster().seeds() }, password: PASSWORD, namespace: 'psr' });
  const nodes = cluster().nodes;
  try {
    await client.commands.ready();
    const pubsub = client.use(createPubSub, {});
    const { channels, seen } = await subscribedPerMaster(client, pubsub, 'c', nodes.length);

    // Every master drops the subscriber connections, then accepts connections and never answers for DEAD_MS.
    for (const node of nodes) await command(node, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (const node of nodes) node.process.signal('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, DEAD_MS));
    } finally {
      for (const node of nodes) node.process.signal('SIGCONT');
    }
    const backAt = Date.now();

    await deliveredAgain(channels, seen, MAX_RESUME_MS, 'delivery on every channel after the nodes answer again');
    console.info(
      `pubsub full restart: delivery resumed on all ${channels.length} channels ${Date.now() - backAt} ms after the nodes answered again`,
    );
  } finally {
    await client.close();
  }
}, 60_000);
