import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupLocal,
  control,
  type EndpointsReply,
  LocalRuntime,
  leftovers,
  loadManifests,
  serveControl,
  unhealthy,
} from '../../../runtime/local/index.ts';
import { isAlive, pollUntil } from '../../../runtime/process/index.ts';
import { parseClusterNodes } from '../../../runtime/redis/index.ts';
import { harnessTempDir, NOTHING_LEFT, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';
import { admin, appClient, isMember, synthDefaultCharts, waitConverged } from './chart-support.ts';

/** The target for a full restart on our 2-core machines. */
const FULL_RESTART_TARGET_MS = 60_000;
const KEYS = 300;

describe.runIf(process.getuid?.() === 0)('the default RedisCluster chart on the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  let client: Cluster;
  const log: string[] = [];

  const members = () => runtime.pods().filter((p) => isMember(p.name));
  const ips = () => new Map(members().map((p) => [p.name, p.ip]));

  /** Reads every key back through a NEW client (seeded by DNS names, as an application restarted now would be). */
  async function readAll(): Promise<number> {
    client.disconnect();
    client = appClient(runtime);
    let found = 0;
    for (let i = 0; i < KEYS; i++) {
      const value = await pollUntil(() => client.get(`key:${i}`), {
        description: `key:${i} to be readable`,
        timeoutMs: 20_000,
        intervalMs: 200,
      }).catch(() => null);
      if (value === `value-${i}`) found++;
    }
    return found;
  }

  beforeAll(async () => {
    const dir = harnessTempDir('chart');
    // Everything main.ts synthesizes, the Sentinel example too, as `slotforge start` runs it.
    const dist = await synthDefaultCharts(mkdtempSync(join(dir, 'synth-')), { sentinel: true });
    stateDir = join(dir, 'state');
    const started = Date.now();
    runtime = await LocalRuntime.start({
      stateDir,
      manifests: loadManifests(dist),
      onEvent: (e) => log.push(`${e.at} ${e.object}: ${e.message}`),
    });
    await waitConverged(runtime, 120_000);
    console.log(`cluster converged after ${Date.now() - started} ms`);
    // dist/ also holds the Sentinel example chart (main.ts): everything comes up, as `slotforge start` waits for it.
    await pollUntil(async () => unhealthy(await runtime.status()) === undefined, {
      description: 'every pod of both charts ready and every Job complete',
      timeoutMs: 60_000,
    });
    console.log(`both charts up (cluster converged, Sentinel example ready) after ${Date.now() - started} ms`);
    client = appClient(runtime);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    client?.disconnect();
    await runtime?.stop(3000);
    if (stateDir) await cleanupLocal(stateDir);
  });

  it('comes up from dist/ alone and serves reads and writes', async () => {
    for (let i = 0; i < KEYS; i++) await client.set(`key:${i}`, `value-${i}`);
    expect(await readAll()).toBe(KEYS);
    const status = await runtime.status();
    expect(status.clusters, JSON.stringify(status.clusters)).toHaveLength(1);
    expect(status.clusters[0]).toMatchObject({ clusterState: 'ok', slotsCovered: 16384, masters: 3, replicas: 3 });
    expect(status.jobs.filter((j) => j.name.startsWith('slotforge/')).map((j) => j.status)).toEqual([
      'Complete',
      'Complete',
    ]);
    // Jobs are keyed namespace/name. The Sentinel example beside the cluster: one primary, 2 replicas, 3 sentinels,
    // its auth Job done.
    const sentinelPods = status.pods.filter((p) => p.name.startsWith('sessions-') && p.owner.startsWith('StatefulSet'));
    expect(sentinelPods.map((p) => p.role).sort()).toEqual([
      'master',
      'replica',
      'replica',
      'sentinel',
      'sentinel',
      'sentinel',
    ]);
    expect(status.jobs.filter((j) => j.name.startsWith('slotforge-sentinel/')).map((j) => j.status)).toEqual([
      'Complete',
    ]);
  });

  it('answers `endpoints` on its control socket: every master and replica, its exporter sidecar and password', async () => {
    const socket = join(stateDir, 'endpoints-test.sock');
    const server = await serveControl(runtime, socket);
    try {
      const reply = await control<EndpointsReply>(socket, { verb: 'endpoints' });
      const status = await runtime.status();
      const servers = status.pods.filter((p) => p.role === 'master' || p.role === 'replica').map((p) => p.name);
      expect(reply.redis.map((e) => e.name).sort()).toEqual(servers.sort());
      // The sentinels are no Redis servers to scrape.
      expect(reply.redis.some((e) => status.pods.find((p) => p.name === e.name)?.role === 'sentinel')).toBe(false);
      const cluster = reply.redis.filter((e) => isMember(e.name));
      expect(cluster).toHaveLength(6);
      for (const e of cluster) {
        expect(e).toMatchObject({ namespace: 'slotforge', host: runtime.pod(e.name).ip, port: 6379 });
        // The RedisCluster's redis_exporter sidecar, at the pod IP.
        expect(e.metrics).toBe(`${e.host}:9121`);
        // The password the pod's own Secret gives is the default user's: a host tool authenticates with it.
        const probe = new Redis({ host: e.host, port: e.port, password: e.password, lazyConnect: true });
        probe.on('error', () => {});
        try {
          await probe.connect();
          expect(await probe.ping()).toBe('PONG');
        } finally {
          probe.disconnect();
        }
      }
      // No supervisor writes the file_sd file here: the reply says so rather than naming a file that is not there.
      expect(reply.exportersSdFile).toBeNull();
    } finally {
      server.close();
    }
  });

  it('a deleted pod returns with a new IP and its data, and rejoins', async () => {
    const victim = 'redis-shard-0-0';
    const before = runtime.pod(victim);
    const oldIp = before.ip!;
    const keysBefore = Number(/keys=(\d+)/.exec(await admin(runtime, oldIp, 'INFO', 'keyspace'))?.[1] ?? 0);
    await runtime.deletePod(victim);
    const after = await pollUntil(
      () => {
        const pod = runtime.pods().find((p) => p.name === victim);
        return pod && pod !== before && pod.ready && pod;
      },
      { description: `${victim} to return ready`, timeoutMs: 90_000 },
    );
    expect(after.ip).not.toBe(oldIp);
    await waitConverged(runtime, 60_000);
    // Rejoined under its new address, with its data set (its AOF on the PVC, or a resync from its shard peer).
    expect(await admin(runtime, runtime.pod('redis-shard-0-1').ip!, 'CLUSTER', 'NODES')).toContain(
      `${after.ip}:6379@16379`,
    );
    const keysAfter = Number(/keys=(\d+)/.exec(await admin(runtime, after.ip!, 'INFO', 'keyspace'))?.[1] ?? 0);
    expect(keysAfter).toBe(keysBefore);
    expect(await readAll()).toBe(KEYS);
  }, 180_000);

  it('after ALL pods are deleted at once, all return with new IPs and the cluster heals itself with every key', async () => {
    const old = ips();
    const t0 = Date.now();
    await Promise.all(members().map((p) => runtime.deletePod(p.name)));
    const allGoneMs = Date.now() - t0;
    await waitConverged(runtime, 150_000);
    const healedMs = Date.now() - t0;
    console.log(
      `full restart: pods gone after ${allGoneMs} ms, cluster converged ${healedMs} ms after the deletion (target ${FULL_RESTART_TARGET_MS} ms)`,
    );
    for (const [name, ip] of ips()) expect(ip, name).not.toBe(old.get(name));
    expect(await readAll()).toBe(KEYS);
    // The pods' own termination is bounded by the chart (preStop budget, terminationGracePeriodSeconds 60); the heal
    // itself, from the moment every pod is gone, is what the runtime and the chart's scripts must do alone.
    expect(healedMs - allGoneMs, 'heal time once every pod is gone').toBeLessThan(FULL_RESTART_TARGET_MS);
  }, 240_000);

  it('a master partitioned from the rest, then healed: the cluster converges to one master per slot range', async () => {
    const roles = await Promise.all(
      members().map(async (p) => ({ name: p.name, role: (await admin(runtime, p.ip!, 'ROLE')).split(',')[0] })),
    );
    const master = roles.find((r) => r.role === 'master')!.name;
    const rest = members()
      .map((p) => p.name)
      .filter((n) => n !== master);
    const masterId = await admin(runtime, runtime.pod(master).ip!, 'CLUSTER', 'MYID');
    await runtime.partition([master], rest);
    // The majority marks it failed (FAIL, not the PFAIL suspicion) and promotes its replica: its slots are served
    // again without it.
    const observer = runtime.pod(rest[0]!).ip!;
    await pollUntil(
      async () => {
        const line = parseClusterNodes(await admin(runtime, observer, 'CLUSTER', 'NODES')).find(
          (n) => n.id === masterId,
        );
        return (
          line?.flags.includes('fail') === true &&
          (await admin(runtime, observer, 'CLUSTER', 'INFO')).includes('cluster_state:ok')
        );
      },
      { description: `the majority to fail over ${master}`, timeoutMs: 60_000, intervalMs: 250 },
    );
    await runtime.heal();
    await waitConverged(runtime, 60_000);
    // The old master learns the newer epoch: it serves none of its former slots any more (Redis then makes it a
    // replica of the promoted one, or leaves it a master without slots).
    const myself = parseClusterNodes(await admin(runtime, runtime.pod(master).ip!, 'CLUSTER', 'NODES')).find((n) =>
      n.flags.includes('myself'),
    )!;
    console.log(`after heal ${master} is ${myself.flags.filter((f) => f !== 'myself').join(',')}`);
    expect(myself.slots).toEqual([]);
    expect(await readAll()).toBe(KEYS);
  }, 180_000);

  it('after stop and cleanup no process, namespace, link, rule or hosts entry is left', async () => {
    const pids = runtime.pods().flatMap((p) => p.containerStatuses().flatMap((c) => (c.pid ? [c.pid] : [])));
    expect(pids.length).toBeGreaterThan(0);
    client.disconnect();
    await runtime.stop(3000);
    await cleanupLocal(stateDir);
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
  }, 60_000);
});
