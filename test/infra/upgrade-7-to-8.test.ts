import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import {
  command,
  type LocalCluster,
  parseClusterNodes,
  parseInfo,
  type RedisServer,
  startLocalCluster,
  startRedisServer,
} from '../../runtime/redis/index.ts';
import { harnessTempDir } from '../support/index.ts';
import { redis8Rootfs, redis70Launcher, rootfsLauncher } from './support/redis-rootfs.ts';

// docs/cluster-setup.md "Upgrade 7.0 -> 8.0", executed: a cluster made by Redis 7.0.15 (AOF + nodes.conf on disk)
// comes back under Redis 8.0.2 (Debian trixie rootfs) from the same data directories, with the same node ids, the
// same slots and every key. Two ways: the whole cluster stopped and started again, and the Kubernetes way (one pod at
// a time, replicas first, each master handed over to its upgraded replica before it restarts) under writes.
const KEYS = 2000;
// The directives startLocalCluster gives every node, plus persistence: a restart must find its data on disk.
const CONFIG = {
  'cluster-enabled': 'yes',
  'cluster-config-file': 'nodes.conf',
  'cluster-node-timeout': '2000',
  'repl-diskless-sync-delay': '0',
  appendonly: 'yes',
  appendfsync: 'always',
};
const clusters: LocalCluster[] = [];
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
});

async function cluster70(name: string): Promise<LocalCluster> {
  const cluster = await startLocalCluster({
    dir: harnessTempDir(name),
    config: CONFIG,
    launcher: redis70Launcher(),
  });
  clusters.push(cluster);
  return cluster;
}

/** The server's major.minor, from INFO server. */
async function line(node: RedisServer): Promise<string> {
  return (parseInfo(String(await command(node, 'INFO', 'server'))).redis_version ?? '').split('.', 2).join('.');
}

/** node id -> `role master-id slots` as the node at index 0 sees it, keyed by port so restarts compare. */
async function topology(nodes: readonly RedisServer[]): Promise<Map<number, string>> {
  const byPort = new Map<number, string>();
  for (const node of nodes) {
    const me = parseClusterNodes(String(await command(node, 'CLUSTER', 'NODES'))).find((l) =>
      l.flags.includes('myself'),
    );
    byPort.set(node.port, `${me?.id}`);
  }
  return byPort;
}

/** Restarts node `i` of the cluster on the same port and directory with the 8.0 binary. */
async function upgradeNode(cluster: LocalCluster, i: number): Promise<void> {
  const old = cluster.nodes[i] as RedisServer;
  await old.stop();
  cluster.nodes[i] = await startRedisServer({
    dir: old.dir,
    port: old.port,
    config: CONFIG,
    launcher: rootfsLauncher(redis8Rootfs()),
  });
}

async function writeKeys(client: Cluster, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, (_, k) => i + k);
    await Promise.all(batch.map((k) => client.set(`${prefix}:${k}`, `v${k}`)));
  }
}

async function missingKeys(client: Cluster, keys: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const key of keys) if ((await client.get(key)) !== `v${key.split(':')[1]}`) missing.push(key);
  return missing;
}

describe('upgrade a cluster from Redis 7.0 to 8.0 keeping data directories and nodes.conf', () => {
  it('stop all, start the same directories with 8.0.2: same node ids, roles and slots, every key', async () => {
    const cluster = await cluster70('upgrade-full');
    expect(new Set(await Promise.all(cluster.nodes.map(line)))).toEqual(new Set(['7.0']));
    const client = cluster.connect();
    await writeKeys(client, 'full', KEYS);
    await client.quit();
    const before = await topology(cluster.nodes);
    const slotsBefore = parseClusterNodes(String(await command(cluster.nodes[0]!, 'CLUSTER', 'NODES')))
      .map((l) => `${l.id} ${JSON.stringify(l.slots)}`)
      .sort();

    await Promise.all(cluster.nodes.map((n) => n.stop()));
    const restarted = Date.now();
    for (let i = 0; i < cluster.nodes.length; i++) await upgradeNode(cluster, i);
    await cluster.waitHealthy(30_000);
    console.log(`full upgrade 7.0 -> 8.0: 6 nodes started on 8.0.2 and healthy in ${Date.now() - restarted} ms`);

    expect(new Set(await Promise.all(cluster.nodes.map(line)))).toEqual(new Set(['8.0']));
    expect(await topology(cluster.nodes)).toEqual(before);
    const slotsAfter = parseClusterNodes(String(await command(cluster.nodes[0]!, 'CLUSTER', 'NODES')))
      .map((l) => `${l.id} ${JSON.stringify(l.slots)}`)
      .sort();
    expect(slotsAfter).toEqual(slotsBefore);
    // 8.0 rewrote nodes.conf in its own format: the hostname slot and the aux fields (shard-id) after the address.
    const conf = readFileSync(join(cluster.nodes[0]!.dir, 'nodes.conf'), 'utf8');
    expect(conf).toMatch(/^[0-9a-f]{40} [\d.]+:\d+@\d+,[^ ]*,shard-id=[0-9a-f]{40} /m);
    const after = cluster.connect();
    try {
      expect(
        await missingKeys(
          after,
          Array.from({ length: KEYS }, (_, k) => `full:${k}`),
        ),
      ).toEqual([]);
    } finally {
      await after.quit();
    }
  }, 120_000);

  it('rolling, replicas first and each master handed to its upgraded replica: no acknowledged write lost', async () => {
    const cluster = await cluster70('upgrade-rolling');
    const client = cluster.connect();
    await writeKeys(client, 'pre', KEYS);
    const before = await topology(cluster.nodes);
    // Writes go on during the whole rollout; only acknowledged ones are checked.
    const acked: string[] = [];
    let writing = true;
    let failures = 0;
    const writer = (async () => {
      for (let k = 0; writing; k++) {
        try {
          await client.set(`live:${k}`, `v${k}`);
          acked.push(`live:${k}`);
        } catch {
          failures++;
        }
      }
    })();
    const role = async (node: RedisServer) => parseInfo(String(await command(node, 'INFO', 'replication'))).role;
    const roles = await Promise.all(cluster.nodes.map(role));
    const replicas = cluster.nodes.map((_, i) => i).filter((i) => roles[i] === 'slave');
    const masters = cluster.nodes.map((_, i) => i).filter((i) => roles[i] === 'master');
    // 1. Replicas: restart each on 8.0 and wait until the cluster is whole again (what a rolling update waits for).
    const rollStarted = Date.now();
    for (const i of replicas) {
      await upgradeNode(cluster, i);
      await cluster.waitHealthy(30_000);
    }
    // 2. Masters: the replica (now 8.0) takes over with CLUSTER FAILOVER (what preStop does), then the old master
    //    restarts on 8.0 and comes back as a replica.
    for (const i of masters) {
      const master = cluster.nodes[i] as RedisServer;
      const id = before.get(master.port);
      const replica = cluster.nodes.find((n) =>
        parseClusterNodes(readFileSync(join(n.dir, 'nodes.conf'), 'utf8')).some(
          (l) => l.flags.includes('myself') && l.masterId === id,
        ),
      ) as RedisServer;
      await command(replica, 'CLUSTER', 'FAILOVER');
      await pollUntil(async () => (await role(replica)) === 'master', {
        description: `replica ${replica.port} to take over from ${master.port}`,
        timeoutMs: 15_000,
      });
      await upgradeNode(cluster, i);
      await cluster.waitHealthy(30_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    writing = false;
    await writer;
    console.log(
      `rolling upgrade 7.0 -> 8.0: ${Date.now() - rollStarted} ms, ${acked.length} acknowledged writes, ${failures} failed`,
    );
    expect(new Set(await Promise.all(cluster.nodes.map(line)))).toEqual(new Set(['8.0']));
    expect(await topology(cluster.nodes)).toEqual(before);
    expect(acked.length).toBeGreaterThan(100);
    expect(await missingKeys(client, acked)).toEqual([]);
    expect(
      await missingKeys(
        client,
        Array.from({ length: KEYS }, (_, k) => `pre:${k}`),
      ),
    ).toEqual([]);
    await client.quit();
  }, 180_000);

  it('a 7.0 replica cannot full-sync from an 8.0 master (RDB format 12): why members upgrade while they are replicas', async () => {
    const dir = harnessTempDir('upgrade-rdb');
    const master = await startRedisServer({
      dir: join(dir, 'master'),
      config: { 'repl-diskless-sync': 'no' },
      launcher: rootfsLauncher(redis8Rootfs()),
    });
    const replica = await startRedisServer({ dir: join(dir, 'replica'), launcher: redis70Launcher() });
    try {
      await command(master, 'SET', 'k', 'v');
      await command(replica, 'REPLICAOF', master.host, String(master.port));
      await pollUntil(
        () => readFileSync(join(replica.dir, 'redis.log'), 'utf8').includes("Can't handle RDB format version 12"),
        {
          description: 'the 7.0 replica to refuse the 8.0 RDB',
          timeoutMs: 15_000,
        },
      );
      expect(parseInfo(String(await command(replica, 'INFO', 'replication'))).master_link_status).toBe('down');
    } finally {
      await Promise.all([master.stop(), replica.stop()]);
    }
  }, 60_000);
});
