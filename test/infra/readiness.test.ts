import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// Readiness that means "this pod can take over or serves", and a preStop that never hands a master's slots to a
// replica that is behind: 3 shards x 2 members run from the synthesized manifests on the local runtime (probe.sh
// and prestop.sh for real, by exec, as the kubelet runs them).
const SHARDS = 3;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-readiness');

const ready = async (pod: string) => sim.exec(pod, 'probe.sh', ['readiness']);

/** Shard 0's master and replica as they are now. */
async function shardZero(): Promise<{ master: string; replica: string }> {
  const pods = [`${sim.name}-shard-0-0`, `${sim.name}-shard-0-1`];
  const roles = await Promise.all(pods.map((p) => sim.role(p)));
  const master = pods[roles.indexOf('master')];
  const replica = pods[roles.indexOf('slave')];
  if (!master || !replica) throw new Error(`shard 0 roles ${roles}`);
  return { master, replica };
}

/**
 * Restarts `replica` without its data set (its AOF gone, nodes.conf kept: a replica on a new disk of the same
 * identity), with its master delaying every full sync by `delaySeconds`: the replica is back, PONGs, its cluster is
 * ok, and it holds nothing yet.
 */
async function restartEmptyIntoSlowSync(master: string, replica: string, delaySeconds: number): Promise<void> {
  expect(await sim.call(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', delaySeconds)).toBe('OK');
  // The pod stays away (no node takes it) while its volume loses the AOF, then returns.
  sim.runtime.cordon();
  await sim.runtime.deletePod(replica);
  rmSync(join(sim.dataDir(replica), 'appendonlydir'), { recursive: true, force: true });
  sim.runtime.uncordon();
  await sim.waitPing(replica);
  await pollUntil(async () => (await sim.clusterInfo(replica)).cluster_state === 'ok', {
    description: 'the restarted replica to see cluster_state:ok',
    timeoutMs: 15_000,
  });
}

beforeAll(async () => {
  const objects = synthCluster({ shards: SHARDS, replicasPerShard: 1, port, nodeTimeoutMs: 2000 });
  await sim.start(objects, {
    env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30', SLOTFORGE_PRESTOP_TIMEOUT_S: '8' },
  });
  await pollUntil(() => sim.podNames(`${sim.name}-shard-`).length === SHARDS * 2, {
    description: 'every member pod',
    timeoutMs: 30_000,
  });
  await sim.waitFormed(SHARDS * 2);
  const { master } = await shardZero();
  // Slot 3300 ({b}): shard 0.
  const client = sim.connect(master);
  try {
    for (let i = 0; i < 2000; i++) await client.set(`{b}${i}`, 'x'.repeat(100));
  } finally {
    client.disconnect();
  }
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('readiness is per pod and means "can take over"', () => {
  it('a replica is NotReady while its full resync runs, and Ready once linked', async () => {
    const { master, replica } = await shardZero();
    expect((await ready(replica)).code).toBe(0);
    await restartEmptyIntoSlowSync(master, replica, 5);
    const during = await ready(replica);
    expect(during.code, during.output).toBe(1);
    expect(during.output).toMatch(/master_link_status:down|full sync/);
    await pollUntil(async () => (await ready(replica)).code === 0, {
      description: 'the replica to be Ready after its sync',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(await sim.call(replica, 'DBSIZE')).toBeGreaterThan(0);
    expect(await sim.call(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', 0)).toBe('OK');
  }, 60_000);

  it('one shard down: every other pod stays Ready (cluster_state fail is not a per-pod verdict)', async () => {
    const down = [`${sim.name}-shard-2-0`, `${sim.name}-shard-2-1`];
    for (const pod of down) await sim.runtime.pausePod(pod);
    try {
      const { master, replica } = await shardZero();
      await pollUntil(async () => (await sim.clusterInfo(master)).cluster_state === 'fail', {
        description: 'cluster_state:fail once shard 2 is past the node timeout',
        timeoutMs: 15_000,
      });
      for (const pod of [master, replica]) {
        const result = await ready(pod);
        expect(result.code, result.output).toBe(0);
      }
    } finally {
      for (const pod of down) await sim.runtime.resumePod(pod);
    }
    await sim.waitHealthy(SHARDS * 2);
  }, 60_000);
});

describe('preStop never promotes a replica that is behind', () => {
  it('waits without a hand-over while the only replica is still in its full sync (no FORCE onto it)', async () => {
    const { master, replica } = await shardZero();
    await restartEmptyIntoSlowSync(master, replica, 20);
    // The hook's budget (8 s) ends before the sync (20 s) starts: the replica must not take over.
    const result = await sim.exec(master, 'prestop.sh');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/no replica of \w+ is in sync yet/);
    expect(result.output).not.toMatch(/CLUSTER FAILOVER/);
    expect(await sim.role(master)).toBe('master');
    expect(await sim.role(replica)).toBe('slave');
    expect(await sim.call(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', 0)).toBe('OK');
    await pollUntil(async () => (await ready(replica)).code === 0, {
      description: 'the replica to finish its sync',
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    // In sync now: the hook hands over to it, and the new master holds every key.
    const handover = await sim.exec(master, 'prestop.sh');
    expect(handover.output).toMatch(/is master after/);
    expect(await sim.role(replica)).toBe('master');
    expect(await sim.call(replica, 'DBSIZE')).toBe(2000);
  }, 90_000);
});
