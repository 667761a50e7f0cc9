import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// preStop of a cluster master when its replica is gone: on a full restart (every pod deleted at once) the replica
// stops first and the master's hook used to wait for it until the grace period killed it (43-63 s on the local
// runtime instead of about 3 s). A store-profile cluster of 3 shards x 2 members, scripts run for real: the chart's
// manifests on the local runtime, formed by its topology Job; the hook runs by exec, as the kubelet runs it.
const SHARDS = 3;
/** The construct prop under test (scriptTimeouts.preStopPeerWaitSeconds; the default is 3). */
const PEER_WAIT_S = 2;
/**
 * What "gives up quickly" means: the peer wait plus one bounded redis-cli call and sh start-up. The chart's preStop
 * budget is 45 s, so anything near it means the hook still waits for the dead replica.
 */
const GIVE_UP_MS = PEER_WAIT_S * 1000 + 5_000;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-prestop');

const members = () => sim.podNames(`${sim.name}-shard-`);

async function waitLinkUp(replica: string): Promise<void> {
  await pollUntil(
    async () => String(await sim.call(replica, 'INFO', 'replication')).includes('master_link_status:up'),
    {
      description: `${replica} to have master_link_status:up`,
      timeoutMs: 15_000,
    },
  );
}

/** Runs prestop.sh on `master` and returns its result and duration. */
async function prestop(master: string): Promise<{ code: number; output: string; tookMs: number }> {
  const started = Date.now();
  const result = await sim.exec(master, 'prestop.sh', [], { timeoutMs: 60_000 });
  return { ...result, tookMs: Date.now() - started };
}

beforeAll(async () => {
  const objects = synthCluster({
    shards: SHARDS,
    replicasPerShard: 1,
    port,
    nodeTimeoutMs: 2000,
    resources: { memoryLimit: '256Mi' },
    scriptTimeouts: { preStopPeerWaitSeconds: PEER_WAIT_S },
  });
  await sim.start(objects, { env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' } });
  await pollUntil(() => members().length === SHARDS * 2, { description: 'every member pod', timeoutMs: 30_000 });
  await sim.waitFormed(SHARDS * 2);
  for (let s = 0; s < SHARDS; s++) await waitLinkUp((await sim.shardPair(s)).replica);
}, RUNTIME_HOOK_TIMEOUT_MS);

afterAll(async () => {
  // A frozen pod is woken so its deletion at the end goes as usual.
  for (const pod of members()) await sim.runtime.resumePod(pod).catch(() => 0);
});

describe('preStop of a cluster master whose replica is gone', () => {
  it('returns within a few seconds when the replica was killed, and stays master', async () => {
    const { master, replica } = await sim.shardPair(0);
    // Killed and not back: no node may take the pod again, and it goes without a grace period.
    sim.runtime.cordon();
    await sim.runtime.deletePod(replica, 0);
    const result = await prestop(master);
    console.log(`preStop with a killed replica returned after ${result.tookMs} ms`);
    expect(result.code, result.output).toBe(0);
    expect(result.tookMs, result.output).toBeLessThan(GIVE_UP_MS);
    expect(result.output).toMatch(new RegExp(`no replica of \\w+ answers for ${PEER_WAIT_S}s`));
    expect(result.tookMs).toBeGreaterThanOrEqual(PEER_WAIT_S * 1000 - 1000);
    expect(await sim.role(master)).toBe('master');
  });

  it('returns within a few seconds when the replica is frozen (accepts connections, never answers)', async () => {
    const { master, replica } = await sim.shardPair(1);
    // SIGSTOP: the kernel still completes the TCP handshake, so only a deadline on each redis-cli call ends a
    // command sent to it (a pod whose namespace is gone behaves alike: nothing ever answers).
    await sim.runtime.pausePod(replica);
    try {
      const result = await prestop(master);
      console.log(`preStop with a frozen replica returned after ${result.tookMs} ms`);
      expect(result.code, result.output).toBe(0);
      expect(result.tookMs, result.output).toBeLessThan(GIVE_UP_MS);
      expect(result.output).toMatch(new RegExp(`no replica of \\w+ answers for ${PEER_WAIT_S}s`));
      expect(result.tookMs).toBeGreaterThanOrEqual(PEER_WAIT_S * 1000 - 1000);
      expect(await sim.role(master)).toBe('master');
    } finally {
      await sim.runtime.resumePod(replica);
    }
  });

  it('still hands over to a replica that answers', async () => {
    const { master, replica } = await sim.shardPair(2);
    const result = await prestop(master);
    console.log(`preStop with a live replica handed over in ${result.tookMs} ms`);
    expect(result.code, result.output).toBe(0);
    // Right after the hook returned, without polling: the hook must not return before the switch.
    expect(await sim.role(replica)).toBe('master');
    expect(result.output).toMatch(/is master after/);
  });
});
