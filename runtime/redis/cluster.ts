import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { imageProgram } from '../images/index.ts';
import type { Launcher, ProcessRegistry } from '../process/index.ts';
import { pollUntil } from '../process/index.ts';
import { parseClusterNodes, parseInfo } from './info.ts';
import { command, type RedisServer, startRedisServer } from './server.ts';
import { endSlotRefreshOnClose } from './slot-refresh-end.ts';

const run = promisify(execFile);

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Parent dir; each node gets `node-<i>/` inside it. */
  readonly dir: string;
  /** Masters. redis-cli needs at least 3. @default 3 */
  readonly shards?: number;
  /** @default 1 */
  readonly replicasPerShard?: number;
  /** cluster-node-timeout. @default 2000 (FACTS: failover then takes 3.5 to 4.6 s) */
  readonly nodeTimeoutMs?: number;
  readonly password?: string;
  /** Extra directives for every node. */
  readonly config?: Readonly<Record<string, string>>;
  readonly registry?: ProcessRegistry;
  /** How each process is started. @default a local child process */
  readonly launcher?: Launcher;
  /** Keep the processes running after our process exits (`up --detach`). @default false */
  readonly keepAlive?: boolean;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Called at the start of each long step, for progress output. */
  readonly onProgress?: (step: string) => void;
}

/** A Redis Cluster of real redis-server processes on loopback. */
export interface LocalCluster {
  readonly nodes: RedisServer[];
  readonly password: string | undefined;
  readonly nodeTimeoutMs: number;
  /** host/port of every node, for a cluster client's seed list. */
  seeds(): Array<{ host: string; port: number }>;
  /** A new ioredis Cluster client; the caller quits it. */
  connect(): Cluster;
  /** Current masters, by asking a live node. */
  masters(): Promise<RedisServer[]>;
  /** Waits until every live node reports cluster_state:ok with all slots ok and every replica link up. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Restarts a stopped node on the same port and dir (its nodes.conf brings it back into the cluster). */
  restartNode(index: number): Promise<RedisServer>;
  /** Starts one more node with the cluster's configuration (not yet a member: `redis-cli --cluster add-node` it). */
  addNode(): Promise<RedisServer>;
  /** Stops every node (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

/** Starts shards x (1 + replicasPerShard) nodes, forms the cluster with redis-cli and waits until it is healthy. */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const shards = options.shards ?? 3;
  const replicasPerShard = options.replicasPerShard ?? 1;
  if (!Number.isInteger(shards) || shards < 3) {
    throw new RangeError(
      `startLocalCluster: shards must be an integer >= 3 (redis-cli needs 3 masters), got ${shards}`,
    );
  }
  if (!Number.isInteger(replicasPerShard) || replicasPerShard < 0) {
    throw new RangeError(`startLocalCluster: replicasPerShard must be an integer >= 0, got ${replicasPerShard}`);
  }
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const config: Record<string, string> = {
    'cluster-enabled': 'yes',
    'cluster-config-file': 'nodes.conf',
    'cluster-node-timeout': String(nodeTimeoutMs),
    'repl-diskless-sync-delay': '0',
    ...options.config,
  };
  const nodes: RedisServer[] = [];
  const startNode = (index: number, port?: number) =>
    startRedisServer({
      dir: join(options.dir, `node-${index}`),
      port,
      password: options.password,
      config,
      registry: options.registry,
      launcher: options.launcher,
      keepAlive: options.keepAlive,
    });
  const cluster: LocalCluster = {
    nodes,
    password: options.password,
    nodeTimeoutMs,
    seeds: () => nodes.map((n) => ({ host: n.host, port: n.port })),
    connect: () =>
      endSlotRefreshOnClose(
        new Cluster(cluster.seeds(), {
          redisOptions: { password: options.password },
          slotsRefreshInterval: 1000,
        }),
      ),
    masters: async () => {
      const live = nodes.find((n) => n.process.running);
      if (!live) return [];
      const lines = parseClusterNodes(String(await command(live, 'CLUSTER', 'NODES')));
      const addresses = new Set(
        lines
          .filter((l) => l.flags.includes('master') && !l.flags.includes('fail'))
          .map((l) => l.address.split('@')[0]),
      );
      return nodes.filter((n) => addresses.has(`${n.host}:${n.port}`));
    },
    waitHealthy: (timeoutMs = options.readyTimeoutMs ?? 30_000) => waitClusterHealthy(nodes, timeoutMs),
    restartNode: async (index) => {
      const old = nodes[index];
      if (!old) throw new RangeError(`restartNode: no node ${index}`);
      if (old.process.running) throw new Error(`restartNode: node ${index} (${old.host}:${old.port}) still runs`);
      const fresh = await startNode(index, old.port);
      nodes[index] = fresh;
      return fresh;
    },
    addNode: async () => {
      const node = await startNode(nodes.length);
      nodes.push(node);
      return node;
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  const total = shards * (1 + replicasPerShard);
  try {
    for (let i = 0; i < total; i++) {
      options.onProgress?.(`starting redis-server ${i + 1}/${total}`);
      nodes.push(await startNode(i));
    }
    options.onProgress?.(`forming the cluster: ${shards} masters, ${replicasPerShard} replica(s) each`);
    const auth = options.password ? ['-a', options.password, '--no-auth-warning'] : [];
    await run(imageProgram('redis-cli'), [
      ...auth,
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(replicasPerShard),
      '--cluster-yes',
    ]);
    options.onProgress?.('waiting for cluster_state:ok, linked replicas and one agreed view');
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * Polls every running node until the cluster is whole: state ok, all slots ok, every replica linked, and every live
 * node holding the same view (who is master, who replicates whom, nothing live flagged as failing). The last part
 * matters right after `--cluster create`: replicas are set up, but gossip has not yet told every node.
 */
export async function waitClusterHealthy(nodes: readonly RedisServer[], timeoutMs: number): Promise<void> {
  const live = nodes.filter((n) => n.process.running);
  const liveAddresses = new Set(live.map((n) => `${n.host}:${n.port}`));
  await pollUntil(
    async () => {
      const views = new Set<string>();
      for (const node of live) {
        const info = parseInfo(String(await command(node, 'CLUSTER', 'INFO')));
        if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== '16384') return false;
        const replication = parseInfo(String(await command(node, 'INFO', 'replication')));
        if (replication.role === 'slave' && replication.master_link_status !== 'up') return false;
        const lines = parseClusterNodes(String(await command(node, 'CLUSTER', 'NODES')));
        for (const line of lines) {
          const failing = line.flags.some((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f));
          if (failing && liveAddresses.has(line.address.split('@')[0] ?? '')) return false;
        }
        if (lines.filter((l) => liveAddresses.has(l.address.split('@')[0] ?? '')).length < live.length) return false;
        views.add(
          lines
            .map((l) => `${l.id}:${l.flags.filter((f) => f !== 'myself').join(',')}:${l.masterId ?? '-'}`)
            .sort()
            .join(' '),
        );
      }
      return views.size === 1;
    },
    { description: `cluster of ${live.length} nodes to be healthy and agree on one view`, timeoutMs, intervalMs: 100 },
  );
}
