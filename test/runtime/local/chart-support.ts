import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import type { LocalRuntime } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { parseClusterNodes, parseInfo } from '../../../runtime/redis/index.ts';

const run = promisify(execFile);
const mainTs = fileURLToPath(new URL('../../../main.ts', import.meta.url));

/**
 * Synthesizes the default charts (`main.ts`) into `<dir>/dist`, exactly as `cdk8s synth` does, and returns it.
 * `main.ts` also synthesizes the Sentinel example (its own file, `*-slotforge-sentinel.k8s.yaml`); unless `sentinel`
 * is set it is removed, so tests about the cluster (monitor, dashboards, chaos) run the six cluster pods only, with
 * the node counts and the CPU they were written for. The namespace file keeps both Namespaces.
 */
export async function synthDefaultCharts(dir: string, options: { readonly sentinel?: boolean } = {}): Promise<string> {
  await run(process.execPath, ['--conditions=slotforge-source', '--import', import.meta.resolve('tsx'), mainTs], {
    cwd: dir,
    timeout: 60_000,
  });
  const dist = join(dir, 'dist');
  if (!options.sentinel) {
    for (const file of readdirSync(dist)) if (file.endsWith('-slotforge-sentinel.k8s.yaml')) rmSync(join(dist, file));
  }
  return dist;
}

/** The members of the default RedisCluster, by pod name prefix. */
export const isMember = (name: string) => /^redis-shard-\d+-\d+$/.test(name);

/** The password of a key of the auth Secret the chart's Job created. */
export function secret(runtime: LocalRuntime, key: string): string {
  const value = runtime.store.secret('slotforge', 'redis-auth')?.[key];
  if (!value) throw new Error(`the auth Secret has no key '${key}' yet`);
  return value.trim();
}

/** A cluster client as an application would use it: the `app` user, seeds from the pods' DNS names. */
export function appClient(runtime: LocalRuntime): Cluster {
  const seeds = runtime
    .pods()
    .filter((p) => isMember(p.name))
    .map((p) => ({ host: `${p.name}.redis-headless.slotforge.svc.cluster.local`, port: 6379 }));
  const cluster = new Cluster(seeds, {
    // Deadlines everywhere: a connection to an address whose pod is gone gets no reset, only silence.
    redisOptions: { username: 'app', password: secret(runtime, 'app'), connectTimeout: 2000, commandTimeout: 2000 },
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 1000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
  });
  cluster.on('error', () => {});
  return cluster;
}

/** One admin command against a pod's Redis. */
export async function admin(runtime: LocalRuntime, ip: string, ...args: string[]): Promise<string> {
  const client = new Redis({
    host: ip,
    port: 6379,
    password: secret(runtime, 'admin'),
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => {});
  try {
    return String(await client.call(args[0]!, ...args.slice(1)));
  } finally {
    client.disconnect();
  }
}

/**
 * True when every member answers, reports cluster_state:ok, knows all members, and all views agree on one master per
 * slot range with every slot covered.
 */
export async function clusterConverged(runtime: LocalRuntime, members = 6): Promise<string | true> {
  const pods = runtime.pods().filter((p) => isMember(p.name));
  if (pods.length !== members || pods.some((p) => !p.ip || p.phase !== 'Running')) return 'pods not running';
  const owners = new Map<number, string>();
  for (const pod of pods) {
    const info = parseInfo(await admin(runtime, pod.ip!, 'CLUSTER', 'INFO'));
    if (info.cluster_state !== 'ok') return `${pod.name}: cluster_state ${info.cluster_state}`;
    const nodes = parseClusterNodes(await admin(runtime, pod.ip!, 'CLUSTER', 'NODES'));
    if (Number(info.cluster_known_nodes) !== members) {
      // Nodes that are no live member's, or failing: where a ghost came from (a retired id, a reset member's new id).
      const ips = new Set(pods.map((p) => p.ip));
      const extra = nodes
        .filter(
          (n) =>
            !ips.has(n.address.slice(0, n.address.lastIndexOf(':'))) ||
            n.flags.some((f) => /^(fail\??|noaddr|handshake)$/.test(f)),
        )
        .map((n) => `${n.id.slice(0, 8)} ${n.address} ${n.flags.join(',')} ${n.linkState}`);
      return `${pod.name}: knows ${info.cluster_known_nodes} nodes${extra.length ? `; not live or flagged: ${extra.join('; ')}` : ''}`;
    }
    if (nodes.some((n) => n.flags.includes('fail') || n.flags.includes('fail?')))
      return `${pod.name}: sees a failed node`;
    const masters = nodes.filter((n) => n.flags.includes('master') && n.slots.length > 0);
    let covered = 0;
    for (const m of masters) {
      for (const [from, to] of m.slots) {
        covered += to - from + 1;
        const seen = owners.get(from);
        if (seen !== undefined && seen !== m.id) return `slot ${from}: masters ${seen} and ${m.id}`;
        owners.set(from, m.id);
      }
    }
    if (covered !== 16384) return `${pod.name}: ${covered} slots covered`;
  }
  return true;
}

/** Polls {@link clusterConverged} to a deadline. */
export function waitConverged(runtime: LocalRuntime, timeoutMs: number): Promise<true> {
  return pollUntil(
    async () => {
      const verdict = await clusterConverged(runtime);
      if (verdict !== true) throw new Error(verdict);
      return verdict;
    },
    {
      description: 'the cluster to converge (cluster_state:ok everywhere, one master per slot range)',
      timeoutMs,
      intervalMs: 250,
    },
  );
}
