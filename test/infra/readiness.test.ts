import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { formCluster, loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { synthCluster } from './support/synth.ts';

// Readiness that means "this pod can take over or serves", and a preStop that never hands a master's slots to a
// replica that is behind: 3 shards x 2 members run from the synthesized manifests (probe.sh and prestop.sh for real).
const SHARDS = 3;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;

const ready = async (pod: SimPod) => sim.runScript('probe.sh', { pod, args: ['readiness'] });

/** Shard 0's master and replica as they are now. */
async function shardZero(): Promise<{ master: SimPod; replica: SimPod }> {
  const pods = [sim.pod(`${sim.name}-shard-0-0`), sim.pod(`${sim.name}-shard-0-1`)];
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
async function restartEmptyIntoSlowSync(master: SimPod, replica: SimPod, delaySeconds: number): Promise<void> {
  expect(await sim.call(master, 'CONFIG', 'SET', 'repl-diskless-sync-delay', delaySeconds)).toBe('OK');
  await sim.stop(replica, 'term');
  rmSync(join(replica.dirs.data, 'appendonlydir'), { recursive: true, force: true });
  await sim.start(replica);
  await pollUntil(async () => (await sim.clusterInfo(replica)).cluster_state === 'ok', {
    description: 'the restarted replica to see cluster_state:ok',
    timeoutMs: 15_000,
  });
}

beforeAll(async () => {
  root = harnessTempDir('infra-readiness');
  const objects = synthCluster({ shards: SHARDS, replicasPerShard: 1, port, nodeTimeoutMs: 2000 });
  sim = new PodSim(root, objects, {
    SLOTFORGE_MEET_INTERVAL_S: '1',
    SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30',
    SLOTFORGE_PRESTOP_TIMEOUT_S: '8',
  });
  await formCluster(sim, SHARDS, 2, address);
  const { master } = await shardZero();
  // Slot 3300 ({b}): shard 0.
  for (let i = 0; i < 2000; i++) await sim.call(master, 'SET', `{b}${i}`, 'x'.repeat(100));
}, 120_000);

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

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
    const down = [sim.pod(`${sim.name}-shard-2-0`), sim.pod(`${sim.name}-shard-2-1`)];
    for (const pod of down) process.kill(-(pod.process?.pid as number), 'SIGSTOP');
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
      for (const pod of down) process.kill(-(pod.process?.pid as number), 'SIGCONT');
    }
    await sim.waitHealthy(SHARDS * 2);
  }, 60_000);
});

describe('preStop never promotes a replica that is behind', () => {
  it('waits without a hand-over while the only replica is still in its full sync (no FORCE onto it)', async () => {
    const { master, replica } = await shardZero();
    await restartEmptyIntoSlowSync(master, replica, 20);
    // The hook's budget (8 s) ends before the sync (20 s) starts: the replica must not take over.
    const result = await sim.runScript('prestop.sh', { pod: master });
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
    const handover = await sim.runScript('prestop.sh', { pod: master });
    expect(handover.output).toMatch(/is master after/);
    expect(await sim.role(replica)).toBe('master');
    expect(await sim.call(replica, 'DBSIZE')).toBe(2000);
  }, 90_000);
});
