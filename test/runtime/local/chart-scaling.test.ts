import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCharts } from '../../../charts.ts';
import {
  type ApplyResult,
  canonical,
  cloneManifestSet,
  LocalRuntime,
  loadManifests,
  type ManifestSet,
} from '../../../runtime/local/index.ts';
import { pollUntil, run } from '../../../runtime/process/index.ts';
import { countSlots, parseClusterNodes } from '../../../runtime/redis/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';
import { admin, appClient, clusterConverged, isMember, secret, synthDefaultCharts } from './chart-support.ts';

const KEYS = 300;
/** A fair share of 16384 slots over N masters, less what rebalance leaves uneven (its default threshold is 2 %). */
const fairShare = (masters: number) => Math.floor((16384 / masters) * 0.95);

/**
 * The default charts of main.ts (charts.ts) with other shard props and without the Sentinel example, synthesized as
 * `cdk8s synth` does. The test checks that with 3 shards every object of it is in main.ts's synthesis unchanged, and
 * applies main.ts's objects with these swapped in: the scaling below is the one users get by editing main.ts.
 */
function synthMain(outdir: string, shards: number, retiringShards = 0): string {
  const app = new App({ outdir });
  defaultCharts(app, { shards, retiringShards, sentinelExample: false });
  app.synth();
  return outdir;
}

const FIELDS = ['configMaps', 'secrets', 'services', 'statefulSets', 'deployments', 'jobs', 'claims'] as const;

/** Objects of `part` that `whole` lacks or holds differently, as `field/key`. */
function notIn(part: ManifestSet, whole: ManifestSet): string[] {
  return FIELDS.flatMap((f) =>
    [...part[f].entries()]
      .filter(([key, o]) => canonical(whole[f].get(key)) !== canonical(o))
      .map(([key]) => `${f}/${key}`),
  );
}

/** `main` with the objects of `base` replaced by those of `chart` (objects only `base` has are left out). */
function swapped(main: ManifestSet, base: ManifestSet, chart: ManifestSet): ManifestSet {
  const next = cloneManifestSet(main);
  for (const f of FIELDS) {
    const target = next[f] as Map<string, unknown>;
    for (const key of base[f].keys()) target.delete(key);
    for (const [key, o] of chart[f] as Map<string, unknown>) target.set(key, o);
  }
  return next;
}

describe.runIf(process.getuid?.() === 0)('scaling the default RedisCluster chart by apply on the local runtime', () => {
  let runtime: LocalRuntime;
  let stateDir: string;
  let dir: string;
  let client: Cluster;
  const log: string[] = [];

  let main: ManifestSet;
  let base: ManifestSet;
  /** `namespace/name` of every topology Job synthesized so far -> its `slotforge.io/topology` label. */
  const topologyOf = new Map<string, string>();
  const remember = (set: ManifestSet): ManifestSet => {
    for (const [key, job] of set.jobs) {
      const topology = job.metadata.labels?.['slotforge.io/topology'];
      if (topology) topologyOf.set(key, topology);
    }
    return set;
  };
  const manifests = (shards: number, retiring = 0): ManifestSet =>
    remember(
      swapped(
        main,
        base,
        loadManifests(synthMain(mkdtempSync(join(dir, `synth-${shards}-${retiring}-`)), shards, retiring)),
      ),
    );
  const members = () => runtime.pods().filter((p) => isMember(p.name));
  /** The topology Job of a topology, found by its label: its name is `redis-topology-<hash of its pod template>`. */
  const topologyJob = (topology: string) => {
    const keys = [...topologyOf].filter(([, t]) => t === topology).map(([key]) => key);
    expect(keys).toHaveLength(1);
    return keys[0] as string;
  };
  const jobStatus = async (topology: string) =>
    (await runtime.status()).jobs.find((j) => j.name === topologyJob(topology))?.status;

  /** Every key read back through a new client seeded by DNS names (as an application restarted now would be). */
  async function readAll(): Promise<number> {
    client?.disconnect();
    client = appClient(runtime);
    const values = await pollUntil(
      async () => {
        const got = await Promise.all(Array.from({ length: KEYS }, (_, i) => client.get(`key:${i}`)));
        return got;
      },
      { description: 'every key to be readable', timeoutMs: 20_000, intervalMs: 250 },
    );
    return values.filter((v, i) => v === `value-${i}`).length;
  }

  /** Slots per master, as a member that is ok sees them. */
  async function slotsPerMaster(): Promise<number[]> {
    const nodes = parseClusterNodes(await admin(runtime, members()[0]!.ip!, 'CLUSTER', 'NODES'));
    return nodes.filter((n) => n.flags.includes('master')).map((n) => countSlots(n.slots));
  }

  const converged = (count: number, timeoutMs: number) =>
    pollUntil(
      async () => {
        const verdict = await clusterConverged(runtime, count);
        if (verdict !== true) throw new Error(verdict);
        return verdict;
      },
      {
        description: `${count} members to converge (cluster_state:ok, one master per range)`,
        timeoutMs,
        intervalMs: 250,
      },
    );

  /** The changes of an apply, topology Jobs named by their topology label (`Job/slotforge/topology=4x2`). */
  const summary = (result: ApplyResult) =>
    result.changes
      .filter((c) => c.action !== 'unchanged')
      .map((c) => {
        const topology = topologyOf.get(c.object.replace(/^Job\//, ''));
        return `${topology ? `Job/slotforge/topology=${topology}` : c.object} ${c.action}`;
      })
      .sort();

  beforeAll(async () => {
    dir = harnessTempDir('chart-scaling');
    const dist = await synthDefaultCharts(mkdtempSync(join(dir, 'main-')));
    main = remember(loadManifests(dist));
    base = loadManifests(synthMain(mkdtempSync(join(dir, 'synth-3-')), 3));
    // The test's chart IS main.ts's: a drift of main.ts's RedisCluster fails here, not silently below.
    expect(notIn(base, main)).toEqual([]);
    expect(base.statefulSets.size).toBe(3);
    stateDir = join(dir, 'state');
    runtime = await LocalRuntime.start({
      stateDir,
      manifests: main,
      onEvent: (e) => log.push(`${e.at} ${e.object}: ${e.message}`),
    });
    await converged(6, 120_000);
    await pollUntil(async () => (await runtime.status()).jobs.every((j) => j.status === 'Complete'), {
      description: 'the auth and topology Jobs to complete',
      timeoutMs: 60_000,
    });
    client = appClient(runtime);
    for (let i = 0; i < KEYS; i++) await client.set(`key:${i}`, `value-${i}`);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    client?.disconnect();
    await runtime?.stop(3000);
    if (stateDir) {
      await cleanUpAndExpectNothingLeft(stateDir);
    }
  });

  it('scale out 3 -> 4 shards: the new topology Job runs, a 4th master and its replica join with a fair share of the slots, no key lost', async () => {
    const t0 = Date.now();
    const result = await runtime.apply(manifests(4));
    // The first topology Job is not in the new set: kept, as kubectl apply keeps it.
    expect(summary(result)).toEqual([
      'Job/slotforge/topology=3x2 kept',
      'Job/slotforge/topology=4x2 created',
      'StatefulSet/slotforge/redis-shard-3 created',
    ]);
    await pollUntil(async () => (await jobStatus('4x2')) === 'Complete', {
      description: 'the 4x2 topology Job to complete',
      timeoutMs: 90_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${log.slice(-40).join('\n')}`);
    });
    const jobDoneMs = Date.now() - t0;
    await converged(8, 30_000);
    const ms = Date.now() - t0;
    // Where the time goes: the Job's pod starts at once; bootstrap waits for the new members, then rebalance moves
    // 4096 slots one by one (the Job's own log has the detail).
    const jobPods = runtime.pods().filter((p) => p.name.startsWith(`${topologyJob('4x2').split('/')[1]}-`));
    console.log(
      `scale out: topology Job complete ${jobDoneMs} ms after the apply (${jobPods.length} pod run(s), ${jobPods.map((p) => p.restarts).join(',')} restarts)`,
    );
    const slots = await slotsPerMaster();
    console.log(
      `scale out 3 -> 4 shards (${KEYS} keys): converged ${ms} ms after the apply; slots per master ${slots}`,
    );
    expect(slots).toHaveLength(4);
    for (const n of slots) expect(n).toBeGreaterThanOrEqual(fairShare(4));
    // The two new members are the master of shard 3 and its replica.
    const newRoles = await Promise.all(
      ['redis-shard-3-0', 'redis-shard-3-1'].map(
        async (n) => (await admin(runtime, runtime.pod(n).ip!, 'ROLE')).split(',')[0],
      ),
    );
    expect(newRoles.sort()).toEqual(['master', 'slave']);
    expect(await readAll()).toBe(KEYS);
  }, 150_000);

  it('scale in 4 -> 3 shards the documented way (retiringShards, then apply --prune): drained, removed, no key lost', async () => {
    const t0 = Date.now();
    const first = await runtime.apply(manifests(3, 1));
    expect(summary(first)).toEqual([
      'Job/slotforge/topology=3x2 kept',
      'Job/slotforge/topology=3x2-retire1 created',
      'Job/slotforge/topology=4x2 kept',
    ]);
    await pollUntil(async () => (await jobStatus('3x2-retire1')) === 'Complete', {
      description: 'the retiring topology Job to complete',
      timeoutMs: 90_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${log.slice(-40).join('\n')}`);
    });
    const drainedMs = Date.now() - t0;
    // Without --prune the retiring StatefulSet stays (kubectl apply keeps what the manifests no longer list).
    const kept = await runtime.apply(manifests(3));
    expect(summary(kept)).toContain('StatefulSet/slotforge/redis-shard-3 kept');
    expect(runtime.manifests.statefulSets.has('slotforge/redis-shard-3')).toBe(true);
    const pruned = await runtime.apply(manifests(3), { prune: true });
    expect(summary(pruned)).toEqual([
      'Job/slotforge/topology=3x2-retire1 pruned',
      'Job/slotforge/topology=4x2 pruned',
      'StatefulSet/slotforge/redis-shard-3 pruned',
    ]);
    await pollUntil(() => !runtime.pods().some((p) => p.name.startsWith('redis-shard-3-')), {
      description: 'the pods of redis-shard-3 to be gone',
      timeoutMs: 60_000,
    });
    await converged(6, 30_000);
    const ms = Date.now() - t0;
    const slots = await slotsPerMaster();
    console.log(
      `scale in 4 -> 3 shards (${KEYS} keys): drained ${drainedMs} ms after the first apply, converged ${ms} ms after it; slots per master ${slots}`,
    );
    expect(slots).toHaveLength(3);
    for (const n of slots) expect(n).toBeGreaterThanOrEqual(fairShare(3));
    expect(await readAll()).toBe(KEYS);
  }, 150_000);

  it('a bus-only partition: the master still answers clients on 6379, the others fail it over the bus, heal restores it', async () => {
    const roles = await Promise.all(
      members().map(async (p) => ({ name: p.name, role: (await admin(runtime, p.ip!, 'ROLE')).split(',')[0] })),
    );
    const master = roles.find((r) => r.role === 'master')!.name;
    const rest = members()
      .map((p) => p.name)
      .filter((n) => n !== master);
    const masterId = await admin(runtime, runtime.pod(master).ip!, 'CLUSTER', 'MYID');
    const observer = rest[0]!;
    const inObserver = (script: string) =>
      run('ip', ['netns', 'exec', runtime.pod(observer).net!.netns, 'bash', '-c', script], { timeoutMs: 1500 });
    const masterIp = runtime.pod(master).ip!;
    /** PING to the master's client port from the observer's network namespace. */
    const ping = () =>
      inObserver(`REDISCLI_AUTH='${secret(runtime, 'admin')}' redis-cli --no-auth-warning -h ${masterIp} ping`);
    /** A TCP connection to the master's bus port from the observer's namespace (the bus speaks no RESP). */
    const busConnects = async () => (await inObserver(`exec 3<>/dev/tcp/${masterIp}/16379 && echo open`)).stdout;
    expect(await busConnects()).toContain('open');
    await runtime.partition([master], rest, { ports: [16379] });
    const t0 = Date.now();
    await pollUntil(
      async () =>
        parseClusterNodes(await admin(runtime, runtime.pod(observer).ip!, 'CLUSTER', 'NODES'))
          .find((n) => n.id === masterId)
          ?.flags.includes('fail') === true,
      { description: `the others to mark ${master} FAIL over the cut bus`, timeoutMs: 60_000, intervalMs: 250 },
    );
    console.log(`bus-only partition of ${master}: FAIL after ${Date.now() - t0} ms`);
    // The client port still flows between the pods; the bus port does not answer at all.
    expect((await ping()).stdout.trim()).toBe('PONG');
    expect(await busConnects()).toBe('');
    await runtime.heal();
    await converged(6, 60_000);
    expect(await readAll()).toBe(KEYS);
  }, 120_000);
});
