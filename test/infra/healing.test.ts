import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageProgram } from '../../runtime/images/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// A cache-profile cluster (no persistence: the case where a restarted master comes back empty), 3 shards x 2, the
// chart's manifests on the local runtime, formed by its topology Job.
const run = promisify(execFile);
const SHARDS = 3;
const SLOTS_PER_SHARD = Math.ceil(16384 / SHARDS);
/**
 * Bound of draining one shard (~5461 slot moves) with `redis-cli --cluster rebalance`. redis-cli 8.0 moves slots more
 * slowly than 7.0 (test/infra/scaling.test.ts has the figures): the drain outlasted the 60 s test timeout that used
 * to hold it, twice on the shared 2-core machine under load, and took 59.7 s in a passing run. Time, not what is
 * asserted.
 */
const REBALANCE_TIMEOUT_MS = 180_000;
const KEYS = 300;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-healing');

const members = () => sim.podNames(`${sim.name}-shard-`);

function client(): Cluster {
  const seed = members().find((p) => sim.pod(p).ip) as string;
  return new Cluster([{ host: sim.ip(seed), port }], {
    redisOptions: { username: 'app', password: sim.password('app') },
    clusterRetryStrategy: (times) => (times > 50 ? null : 200),
  });
}

async function readAll(): Promise<Array<string | null>> {
  const c = client();
  try {
    return await Promise.all(Array.from({ length: KEYS }, (_, i) => c.get(`key:${i}`)));
  } finally {
    c.disconnect();
  }
}

async function waitReplicaSynced(replica: string, master: string): Promise<void> {
  const want = Number(await sim.call(master, 'DBSIZE'));
  await pollUntil(
    async () => {
      const info = String(await sim.call(replica, 'INFO', 'replication'));
      return info.includes('master_link_status:up') && Number(await sim.call(replica, 'DBSIZE')) === want;
    },
    { description: `${replica} in sync with ${master}`, timeoutMs: 15_000 },
  );
}

const objects = synthCluster({
  profile: 'cache',
  shards: SHARDS,
  port,
  nodeTimeoutMs: 2000,
  emptyMasterGuardSeconds: 20,
  resources: { memoryLimit: '256Mi' },
});
const START = {
  env: {
    SLOTFORGE_MEET_INTERVAL_S: '1',
    SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30',
    // The ghost rule's bound, short for the test (the chart's default is 60 s).
    SLOTFORGE_FORGET_AFTER_S: '3',
  },
  // The runtime's default (CoreDNS's TTL). With changes reaching the pods at once (0, as PodSim's hosts file did),
  // the peers' re-MEET by name reached a member that lost its volume before its own rejoin ran, and it stayed a
  // master without slots (2 of 2 full runs on the local runtime; maintain.sh's rejoin needs the node alone).
  dnsDelayMs: 5000,
};

beforeAll(async () => {
  await sim.start(objects, START);
  await pollUntil(() => members().length === SHARDS * 2, { description: 'every member pod', timeoutMs: 30_000 });
  await sim.waitFormed(SHARDS * 2);
  const c = client();
  for (let i = 0; i < KEYS; i++) await c.set(`key:${i}`, `value:${i}`);
  c.disconnect();
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('self-healing of a cluster member', () => {
  it('a master that restarts empty does not wipe its replica: the replica takes over with the data', async () => {
    const { master, replica } = await sim.shardPair(0);
    await waitReplicaSynced(replica, master);
    const keysBefore = Number(await sim.call(replica, 'DBSIZE'));
    expect(keysBefore).toBeGreaterThan(0);
    // A container restart (OOM kill, failed liveness probe): same pod, same IP, same nodes.conf, no data.
    const started = Date.now();
    await sim.restartInPlace(master);
    expect(sim.log(master)).toContain('guard: this node was a master with replicas');
    // While guarded, the application user cannot reach the empty data set.
    await pollUntil(async () => (await sim.role(replica)) === 'master', {
      description: `${replica} promoted by the guard`,
      timeoutMs: 20_000,
    });
    await pollUntil(async () => (await sim.role(master)) === 'slave', {
      description: `${master} demoted to replica`,
      timeoutMs: 20_000,
    });
    console.log(`guarded failover done in ${Date.now() - started} ms`);
    expect(Number(await sim.call(replica, 'DBSIZE'))).toBe(keysBefore);
    await waitReplicaSynced(master, replica);
    await pollUntil(async () => (await sim.callAs(master, 'app', 'PING')) === 'PONG', {
      description: 'app user enabled again after the guard',
      timeoutMs: 20_000,
    });
    await sim.waitHealthy(SHARDS * 2);
    expect(await readAll()).toEqual(Array.from({ length: KEYS }, (_, i) => `value:${i}`));
  });

  it('a member recreated with a new IP rejoins, met again at its new address', async () => {
    const { replica } = await sim.shardPair(1);
    const oldIp = sim.ip(replica);
    // Deleted: its StatefulSet recreates it with a new address.
    await sim.runtime.deletePod(replica);
    await sim.waitPing(replica);
    const ip = sim.ip(replica);
    expect(ip).not.toBe(oldIp);
    await pollUntil(
      async () => {
        for (const pod of members()) {
          const entry = (await sim.nodes(pod)).find((n) => n.address.startsWith(`${ip}:`));
          if (!entry || entry.flags.some((f) => f.includes('fail'))) return false;
        }
        return true;
      },
      { description: `every member to reach ${replica} at ${ip}`, timeoutMs: 30_000 },
    );
    await sim.waitHealthy(SHARDS * 2);
  });

  it('a member that lost its volume rejoins as a replica of its shard and its old identity is forgotten', async () => {
    const { master, replica } = await sim.shardPair(2);
    const oldId = String(await sim.call(replica, 'CLUSTER', 'MYID'));
    // Killed, and back on a new node with a new, empty volume (and a new address).
    sim.runtime.cordon();
    await sim.runtime.deletePod(replica, 0);
    rmSync(sim.dataDir(replica), { recursive: true, force: true });
    sim.runtime.uncordon();
    await sim.waitPing(replica);
    const newId = String(await sim.call(replica, 'CLUSTER', 'MYID'));
    expect(newId).not.toBe(oldId);
    const masterId = String(await sim.call(master, 'CLUSTER', 'MYID'));
    await pollUntil(
      async () => (await sim.nodes(replica)).find((n) => n.flags.includes('myself'))?.masterId === masterId,
      { description: `${replica} to replicate ${master}`, timeoutMs: 30_000 },
    );
    await pollUntil(
      async () => {
        for (const pod of members()) if ((await sim.nodes(pod)).some((n) => n.id === oldId)) return false;
        return true;
      },
      { description: `every member to forget ${oldId}`, timeoutMs: 30_000 },
    ).catch(async (e) => {
      for (const pod of members()) {
        console.log(pod, sim.pod(pod).ip, '\n', String(await sim.call(pod, 'CLUSTER', 'NODES')));
        console.log(
          sim
            .log(pod)
            .split('\n')
            .filter((l) => l.includes('slotforge'))
            .join('\n'),
        );
      }
      throw e;
    });
    await sim.waitHealthy(SHARDS * 2);
    await waitReplicaSynced(replica, master);
  });

  it('a full restart of a cache with new IPs heals: guarded masters hand over to their (also empty) replicas', async () => {
    // Every pod deleted at once, none back before all are gone: each returns with a new address.
    sim.runtime.cordon();
    await Promise.all(members().map((p) => sim.runtime.deletePod(p)));
    sim.runtime.uncordon();
    const started = Date.now();
    await Promise.all(members().map((p) => sim.waitPing(p)));
    await sim.waitHealthy(SHARDS * 2, 45_000);
    const guarded = async (p: string) =>
      (await sim.execArgv(p, ['sh', '-c', 'test -e /run/slotforge/guard'])).code === 0;
    await pollUntil(async () => (await Promise.all(members().map(guarded))).every((g) => !g), {
      description: 'every empty-master guard lifted',
      timeoutMs: 30_000,
    });
    console.log(`cache full restart with new IPs healed in ${Date.now() - started} ms`);
    for (let shard = 0; shard < SHARDS; shard++) await sim.shardPair(shard);
    // A cache starts cold after a full restart, and serves again.
    const c = client();
    await c.set('after-restart', 'ok');
    expect(await c.get('after-restart')).toBe('ok');
    c.disconnect();
  });

  // Last: it leaves shard 1 drained (Redis turned its master into a replica of the master that took its last slot).
  it(
    'a member reset while its shard is drained (scale in) stays out: neither rejoins nor is met again; once its pod is gone, every member forgets it',
    async () => {
      const { master, replica } = await sim.shardPair(1);
      const masterId = String(await sim.call(master, 'CLUSTER', 'MYID'));
      const drainStart = Date.now();
      // What scale.sh does to a retiring shard: its master's slots move away, then its members are reset one by one.
      // A member that rejoined (or was met again by the others) in between stayed in the cluster as a ghost once its
      // pod was pruned: the scale-in test on the local runtime failed that way in 1 of about 10 runs.
      await run(
        imageProgram('redis-cli'),
        [
          '--no-auth-warning',
          '--cluster',
          'rebalance',
          `${sim.ip(master)}:${port}`,
          '--cluster-weight',
          `${masterId}=0`,
        ],
        {
          env: { ...process.env, REDISCLI_AUTH: sim.password('admin') },
          timeout: REBALANCE_TIMEOUT_MS,
        },
      );
      console.log(`drained shard 1 (${SLOTS_PER_SHARD} slots) in ${Date.now() - drainStart} ms`);
      const mine = (await sim.nodes(master)).find((n) => n.flags.includes('myself'));
      expect(mine?.slots ?? []).toEqual([]);
      // The pod a scale-down removes is the highest ordinal; scale.sh resets the drained master too, replica first.
      const pruned = `${sim.name}-shard-1-1`;
      const prunedId = String(await sim.call(pruned, 'CLUSTER', 'MYID'));
      await sim.call(replica, 'CLUSTER', 'RESET', 'HARD');
      // The maintenance loops run every second: five rounds in which nobody brings the reset member back.
      const until = Date.now() + 5_000;
      while (Date.now() < until) {
        expect(String(await sim.call(replica, 'CLUSTER', 'INFO'))).toContain('cluster_known_nodes:1');
        await new Promise((r) => setTimeout(r, 250));
      }
      if (pruned !== replica) await sim.call(pruned, 'CLUSTER', 'RESET', 'HARD');
      // Nobody sent FORGET here (as when scale.sh's call to a member was cut off): the others still list the old
      // identity, failing. Then its pod goes for good (the prune of a scale in): with no DNS record left for it,
      // every member's loop forgets it.
      const others = () => members().filter((p) => !p.startsWith(`${sim.name}-shard-1-`));
      const knowing = async () => {
        const views = await Promise.all(others().map(async (p) => (await sim.nodes(p)).some((n) => n.id === prunedId)));
        return others().filter((_, i) => views[i]);
      };
      expect((await knowing()).length).toBeGreaterThan(0);
      await sim.apply(objects, { ...START, replicas: { [`${sim.name}-shard-1`]: 1 } });
      await pollUntil(() => !members().includes(pruned), { description: `${pruned} deleted`, timeoutMs: 30_000 });
      const goneAt = Date.now();
      await pollUntil(async () => (await knowing()).length === 0, {
        description: `every member to forget ${pruned}'s old identity`,
        timeoutMs: 60_000,
        intervalMs: 500,
      }).catch(async (error: Error) => {
        const still = await knowing();
        const lines = await Promise.all(
          still.map(async (p) =>
            String(await sim.call(p, 'CLUSTER', 'NODES'))
              .split('\n')
              .filter((l) => l.startsWith(prunedId))
              .join(''),
          ),
        );
        const logs = still.map(
          (p) =>
            `${p}: ${sim
              .log(p)
              .split('\n')
              .filter((l) => l.includes('slotforge['))
              .slice(-8)
              .join('\n  ')}`,
        );
        throw new Error(
          `${error.message}\nstill listing it: ${still.join(', ')}\n${lines.join('\n')}\n${logs.join('\n')}`,
        );
      });
      console.log(`the pruned member's old identity forgotten everywhere ${Date.now() - goneAt} ms after its pod went`);
    },
    REBALANCE_TIMEOUT_MS + 30_000,
  );
});
