import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { synthCluster } from './support/synth.ts';

// preStop of a cluster master when its replica is gone: on a full restart (every pod deleted at once) the replica
// stops first and the master's hook used to wait for it until the grace period killed it (43-63 s on the local
// runtime instead of about 3 s). A store-profile cluster of 3 shards x 2 members, scripts run for real.
const SHARDS = 3;
/** The construct prop under test (scriptTimeouts.preStopPeerWaitSeconds; the default is 3). */
const PEER_WAIT_S = 2;
/**
 * What "gives up quickly" means: the peer wait plus one bounded redis-cli call and sh start-up. The chart's preStop
 * budget is 45 s, so anything near it means the hook still waits for the dead replica.
 */
const GIVE_UP_MS = PEER_WAIT_S * 1000 + 5_000;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;

const members = () => [...sim.pods.values()];

async function shardPair(shard: number): Promise<{ master: SimPod; replica: SimPod }> {
  const pods = members().filter((p) => p.shard === shard);
  const roles = await Promise.all(pods.map((p) => sim.role(p)));
  const master = pods[roles.indexOf('master')];
  const replica = pods[roles.indexOf('slave')];
  if (!master || !replica) throw new Error(`shard ${shard} has no master/replica pair (${roles.join(',')})`);
  return { master, replica };
}

async function waitLinkUp(replica: SimPod): Promise<void> {
  await pollUntil(
    async () => String(await sim.call(replica, 'INFO', 'replication')).includes('master_link_status:up'),
    {
      description: `${replica.name} to have master_link_status:up`,
      timeoutMs: 15_000,
    },
  );
}

/** Runs prestop.sh on `master` and returns its result and duration. */
async function prestop(master: SimPod): Promise<{ code: number; output: string; tookMs: number }> {
  const started = Date.now();
  const result = await sim.runScript('prestop.sh', { pod: master, timeoutMs: 60_000 });
  return { ...result, tookMs: Date.now() - started };
}

beforeAll(async () => {
  root = harnessTempDir('infra-prestop');
  const objects = synthCluster({
    shards: SHARDS,
    replicasPerShard: 1,
    port,
    nodeTimeoutMs: 2000,
    resources: { memoryLimit: '256Mi' },
    scriptTimeouts: { preStopPeerWaitSeconds: PEER_WAIT_S },
  });
  sim = new PodSim(root, objects, { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' });
  let host = 2;
  for (let s = 0; s < SHARDS; s++) for (let m = 0; m < 2; m++) sim.addPod(s, m, address(host++));
  await Promise.all(members().map((p) => sim.start(p)));
  const job = await sim.runScript('bootstrap.sh');
  if (job.code !== 0) throw new Error(job.output);
  await sim.waitHealthy(SHARDS * 2);
  for (let s = 0; s < SHARDS; s++) await waitLinkUp((await shardPair(s)).replica);
});

afterAll(async () => {
  // A frozen process still holds its port: wake it so the SIGKILL of stopAll ends it for sure.
  for (const pod of members()) pod.process?.signal('SIGCONT');
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('preStop of a cluster master whose replica is gone', () => {
  it('returns within a few seconds when the replica was killed, and stays master', async () => {
    const { master, replica } = await shardPair(0);
    await sim.stop(replica, 'kill');
    const result = await prestop(master);
    console.log(`preStop with a killed replica returned after ${result.tookMs} ms`);
    expect(result.code, result.output).toBe(0);
    expect(result.tookMs, result.output).toBeLessThan(GIVE_UP_MS);
    expect(result.output).toMatch(new RegExp(`no replica of \\w+ answers for ${PEER_WAIT_S}s`));
    expect(result.tookMs).toBeGreaterThanOrEqual(PEER_WAIT_S * 1000 - 1000);
    expect(await sim.role(master)).toBe('master');
  });

  it('returns within a few seconds when the replica is frozen (accepts connections, never answers)', async () => {
    const { master, replica } = await shardPair(1);
    // SIGSTOP: the kernel still completes the TCP handshake, so only a deadline on each redis-cli call ends a
    // command sent to it (a pod whose namespace is gone behaves alike: nothing ever answers).
    replica.process?.signal('SIGSTOP');
    try {
      const result = await prestop(master);
      console.log(`preStop with a frozen replica returned after ${result.tookMs} ms`);
      expect(result.code, result.output).toBe(0);
      expect(result.tookMs, result.output).toBeLessThan(GIVE_UP_MS);
      expect(result.output).toMatch(new RegExp(`no replica of \\w+ answers for ${PEER_WAIT_S}s`));
      expect(result.tookMs).toBeGreaterThanOrEqual(PEER_WAIT_S * 1000 - 1000);
      expect(await sim.role(master)).toBe('master');
    } finally {
      replica.process?.signal('SIGCONT');
    }
  });

  it('still hands over to a replica that answers', async () => {
    const { master, replica } = await shardPair(2);
    const result = await prestop(master);
    console.log(`preStop with a live replica handed over in ${result.tookMs} ms`);
    expect(result.code, result.output).toBe(0);
    // Right after the hook returned, without polling: the hook must not return before the switch.
    expect(await sim.role(replica)).toBe('master');
    expect(result.output).toMatch(/is master after/);
  });
});
