import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// bootstrap.sh on a partly assigned slot map (a topology Job cut off between two ADDSLOTSRANGE calls; a claim
// removed by hand): it finishes what the plan says when no key is at stake, and otherwise names every slot and member
// holding keys and the command that repairs it. 3 shards x 1 member, the synthesized manifests on the local runtime
// without their topology Job (the test runs bootstrap.sh itself, with the Job's env).
const SHARDS = 3;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-bootstrap-partial');
const pods = (): string[] => sim.podNames(`${sim.name}-shard-`);
const member = (s: number) => `${sim.name}-shard-${s}-0`;

/** The slot ranges `first-last` a node owns, as every node sees them (they must agree). */
async function ownedRanges(s: number): Promise<string[]> {
  const views = await Promise.all(
    pods().map(async (pod) => {
      const id = String(await sim.call(member(s), 'CLUSTER', 'MYID'));
      const node = (await sim.nodes(pod)).find((n) => n.id === id);
      return JSON.stringify(node?.slots);
    }),
  );
  expect(new Set(views).size).toBe(1);
  return JSON.parse(views[0] as string);
}

beforeAll(async () => {
  const objects = synthCluster({ shards: SHARDS, replicasPerShard: 0, port, nodeTimeoutMs: 2000 });
  await sim.start(objects, {
    env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' },
    withoutTopologyJob: true,
  });
  await Promise.all(Array.from({ length: SHARDS }, (_, s) => sim.waitPing(member(s))));
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('bootstrap.sh on a partly assigned slot map', () => {
  it('assigns the slots no master owns by the plan, and leaves the assigned ones where they are', async () => {
    // A run cut off after shard 0's range and part of shard 1's: 0-5460 and 5461-8000 assigned, the rest not.
    for (const pod of pods().slice(1)) await sim.call(member(0), 'CLUSTER', 'MEET', sim.ip(pod), port);
    expect(await sim.call(member(0), 'CLUSTER', 'ADDSLOTSRANGE', 0, 5460)).toBe('OK');
    expect(await sim.call(member(1), 'CLUSTER', 'ADDSLOTSRANGE', 5461, 8000)).toBe('OK');
    await pollUntil(async () => (await sim.clusterInfo(member(2))).cluster_slots_assigned === '8001', {
      description: 'the partial slot map to spread',
      timeoutMs: 15_000,
    });
    const job = await sim.topology('bootstrap.sh');
    expect(job.code, job.output).toBe(0);
    expect(job.output).toContain('assigning slots 8001-10921');
    await sim.waitHealthy(SHARDS);
    expect(await ownedRanges(0)).toEqual([[0, 5460]]);
    expect(await ownedRanges(1)).toEqual([[5461, 10921]]);
    expect(await ownedRanges(2)).toEqual([[10922, 16383]]);
  });

  it('stops on an unowned slot that holds keys, naming the slot, the member and the fix', async () => {
    // `foo` hashes to slot 12182 (shard 2); its owner gives the slot up everywhere, the key stays on shard 2's node.
    expect(await sim.call(member(2), 'SET', 'foo', 'bar')).toBe('OK');
    for (const pod of pods()) await sim.call(pod, 'CLUSTER', 'DELSLOTS', 12182);
    await pollUntil(async () => (await sim.clusterInfo(member(0))).cluster_slots_assigned === '16383', {
      description: 'slot 12182 to be unowned',
      timeoutMs: 15_000,
    });
    const job = await sim.topology('bootstrap.sh');
    expect(job.code).toBe(1);
    expect(job.output).toContain(`slot 12182: 1 keys on ${sim.name}-shard-2-0`);
    expect(job.output).toContain(`redis-cli --cluster fix ${sim.ip(member(0))}:${port}`);
    // Nothing was assigned: the key is not hidden behind a new owner.
    expect((await sim.clusterInfo(member(0))).cluster_slots_assigned).toBe('16383');
  });
});
