import { pollUntil } from '../../runtime/process/index.ts';
import { command, type LocalCluster, parseClusterNodes } from '../../runtime/redis/index.ts';
import { type ChaosTarget, type PodInfo, UnsupportedFaultError } from '../target.ts';
import { reshardHarness, scaleHarness } from './harness-topology.ts';
import { clusterCheckOutput } from './redis-cli.ts';

/**
 * A target over a hand-made cluster of the test harness (`startLocalCluster`): pods are `redis-<i>`. A killed or
 * deleted node is restarted on the same port and dir, which is how a container restart looks to Redis. It cannot
 * partition; the local runtime target can.
 */
export function harnessTarget(cluster: LocalCluster, replicasPerShard = 1): ChaosTarget {
  const pending: Promise<void>[] = [];
  const index = (pod: string) => {
    const i = Number(pod.replace(/^redis-/, ''));
    if (!Number.isInteger(i) || !cluster.nodes[i]) throw new RangeError(`harness target: no pod '${pod}'`);
    return i;
  };
  const restart = async (i: number) => {
    await cluster.nodes[i]?.process.exited;
    await cluster.restartNode(i);
  };
  // Harness nodes have no persistence: a master that returned before its replica took over would come back empty
  // and its replica would copy the empty set (FACTS). The manifests guard that; here we restart after the failover.
  const restartAfterFailover = async (i: number, address: string, slots: PodInfo['slots']) => {
    const first = slots[0]?.[0];
    // A replica (no slots) has nothing to hand over: it returns at once, as a restarted container would.
    if (first === undefined) return restart(i);
    await pollUntil(
      async () => {
        const pods = await target.pods();
        return pods.some(
          (p) =>
            p.address !== address &&
            p.role === 'master' &&
            p.slots.some(([a, b]) => first !== undefined && a <= first && first <= b),
        );
      },
      { description: `a replica to take over the slots of ${address}`, timeoutMs: 60_000, intervalMs: 100 },
    ).catch(() => undefined);
    await restart(i);
  };
  const target: ChaosTarget = {
    name: 'harness',
    connection: async () => ({ kind: 'cluster', seeds: cluster.seeds(), password: cluster.password }),
    nodeTimeoutMs: async () => cluster.nodeTimeoutMs,
    pods: async () => {
      const live = cluster.nodes.find((n) => n.process.running);
      if (!live) return [];
      const lines = parseClusterNodes(String(await command(live, 'CLUSTER', 'NODES')));
      const byAddress = new Map(cluster.nodes.map((n, i) => [`${n.host}:${n.port}`, `redis-${i}`]));
      const byId = new Map(lines.map((l) => [l.id, byAddress.get(l.address.split('@')[0] ?? '')]));
      return lines.map(
        (l): PodInfo => ({
          name: byAddress.get(l.address.split('@')[0] ?? '') ?? l.address,
          address: l.address.split('@')[0] ?? '',
          role: l.flags.includes('fail') ? 'unknown' : l.flags.includes('master') ? 'master' : 'replica',
          slots: l.slots,
          ...(l.masterId ? { masterOf: byId.get(l.masterId) } : {}),
        }),
      );
    },
    observable: async () => ({
      members: cluster.nodes.map((n, i) => ({ pod: `redis-${i}`, host: n.host, port: n.port })),
      ...(cluster.password ? { password: cluster.password } : {}),
    }),
    kill: async (pod) => {
      const i = index(pod);
      const node = cluster.nodes[i];
      const address = `${node?.host}:${node?.port}`;
      const slots = (await target.pods()).find((p) => p.address === address)?.slots ?? [];
      await node?.process.kill();
      // Like a container restart after a crash: back on the same address with its nodes.conf.
      pending.push(restartAfterFailover(i, address, slots));
    },
    pause: async (pod) => cluster.nodes[index(pod)]?.process.signal('SIGSTOP'),
    resume: async (pod) => cluster.nodes[index(pod)]?.process.signal('SIGCONT'),
    delete: async (pod) => {
      const i = index(pod);
      await cluster.nodes[i]?.stop();
      await restart(i);
    },
    partition: async () => {
      throw new UnsupportedFaultError('harness', 'partition');
    },
    heal: async () => {},
    reshard: (slots) => reshardHarness(cluster, slots),
    clusterCheck: async () => {
      const live = cluster.nodes.find((n) => n.process.running);
      if (!live) throw new Error('harness target: no live node');
      return clusterCheckOutput(cluster.password, `${live.host}:${live.port}`);
    },
    scale: (shards) => scaleHarness(cluster, shards, replicasPerShard),
    waitHealthy: async (timeoutMs) => {
      await Promise.all(pending.splice(0));
      await cluster.waitHealthy(timeoutMs);
    },
  };
  return target;
}
