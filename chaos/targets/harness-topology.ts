import { command, type LocalCluster, parseClusterNodes, type RedisServer } from '../../runtime/redis/index.ts';
import { clusterCli } from './redis-cli.ts';

/** redis-cli --cluster with the cluster's password. */
const redisCli = (cluster: LocalCluster, ...args: string[]) => clusterCli(cluster.password, ...args);

const address = (n: RedisServer) => `${n.host}:${n.port}`;

async function view(cluster: LocalCluster) {
  const live = cluster.nodes.find((n) => n.process.running);
  if (!live) throw new Error('no live node');
  return { live, lines: parseClusterNodes(String(await command(live, 'CLUSTER', 'NODES'))) };
}

/** Masters that serve slots, ordered as the nodes were started. */
async function slotMasters(cluster: LocalCluster) {
  const { lines } = await view(cluster);
  const byAddress = new Map(lines.map((l) => [l.address.split('@')[0], l]));
  return cluster.nodes
    .map((node) => ({ node, line: byAddress.get(address(node)) }))
    .filter((m) => m.node.process.running && m.line?.flags.includes('master') && !m.line.flags.includes('fail'));
}

/** Moves `slots` slots from the first master to the second with redis-cli (MIGRATE under the hood, ASK for clients). */
export async function reshardHarness(cluster: LocalCluster, slots: number): Promise<void> {
  const [from, to] = (await slotMasters(cluster)).filter((m) => (m.line?.slots.length ?? 0) > 0);
  if (!from?.line || !to?.line) throw new Error('reshard needs two masters with slots');
  await redisCli(
    cluster,
    'reshard',
    address(from.node),
    '--cluster-from',
    from.line.id,
    '--cluster-to',
    to.line.id,
    '--cluster-slots',
    String(slots),
    '--cluster-yes',
  );
}

/**
 * Scales out by starting new masters (each with the same number of replicas as shard 0) and rebalancing slots onto
 * them, or scales in by draining the newest masters (weight 0) and deleting them and their replicas.
 */
export async function scaleHarness(cluster: LocalCluster, shards: number, replicasPerShard: number): Promise<void> {
  const masters = await slotMasters(cluster);
  const seed = address(masters[0]?.node ?? (cluster.nodes[0] as RedisServer));
  if (shards > masters.length) {
    for (let s = masters.length; s < shards; s++) {
      const master = await cluster.addNode();
      await redisCli(cluster, 'add-node', address(master), seed);
      // redis-cli refuses to add the next node until every node agrees on the configuration.
      await cluster.waitHealthy(60_000);
      const id = String(await command(master, 'CLUSTER', 'MYID'));
      for (let r = 0; r < replicasPerShard; r++) {
        const replica = await cluster.addNode();
        await redisCli(cluster, 'add-node', address(replica), seed, '--cluster-slave', '--cluster-master-id', id);
        await cluster.waitHealthy(60_000);
      }
    }
    await cluster.waitHealthy(60_000);
    await redisCli(cluster, 'rebalance', seed, '--cluster-use-empty-masters');
  } else if (shards < masters.length) {
    const retiring = masters.slice(shards);
    await redisCli(cluster, 'rebalance', seed, ...retiring.flatMap((m) => ['--cluster-weight', `${m.line?.id}=0`]));
    const { lines } = await view(cluster);
    const byAddress = new Map(cluster.nodes.map((n) => [address(n), n]));
    for (const m of retiring) {
      const members = [...lines.filter((l) => l.masterId === m.line?.id), m.line];
      for (const member of members) {
        if (!member) continue;
        await cluster.waitHealthy(60_000);
        await redisCli(cluster, 'del-node', seed, member.id);
        // del-node resets the node but leaves it running, alone: stop it, as Kubernetes removes a scaled-in pod.
        await byAddress.get(member.address.split('@')[0] ?? '')?.stop();
      }
    }
  }
  await cluster.waitHealthy(60_000);
}
