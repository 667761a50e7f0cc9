import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// The failover assist (infra/scripts/failover-assist.sh) on the chart's manifests, local runtime, 3 shards x 1 replica:
// it must start the election as soon as Redis's own quorum of masters flags a master failing, and never when they do
// not (a replica that alone lost its master must not take over: Redis would not either).
const SHARDS = 3;
const NODE_TIMEOUT_MS = 2000;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-assist');

beforeAll(async () => {
  const objects = synthCluster({
    shards: SHARDS,
    port,
    nodeTimeoutMs: NODE_TIMEOUT_MS,
    resources: { memoryLimit: '256Mi' },
  });
  await sim.start(objects, { env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' } });
  await sim.waitFormed(SHARDS * 2);
}, RUNTIME_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await sim.runtime.heal().catch(() => undefined);
  for (const pod of sim.podNames(`${sim.name}-shard-`)) await sim.runtime.resumePod(pod).catch(() => 0);
});

describe('the failover assist', () => {
  it('does not fail over a master that only its replica lost: the other masters still reach it', async () => {
    const { master, replica } = await sim.shardPair(1);
    await sim.runtime.partition([replica], [master]);
    try {
      // The replica flags its master failing after the node timeout; three node timeouts in which nothing may move.
      await pollUntil(
        async () =>
          (await sim.nodes(replica)).some(
            (n) => n.flags.includes('master') && n.flags.some((f) => f.startsWith('fail')),
          ),
        { description: `${replica} to flag ${master} failing`, timeoutMs: 4 * NODE_TIMEOUT_MS },
      );
      const until = Date.now() + 3 * NODE_TIMEOUT_MS;
      while (Date.now() < until) {
        expect(await sim.role(master)).toBe('master');
        expect(await sim.role(replica)).toBe('slave');
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(sim.log(replica)).not.toContain('CLUSTER FAILOVER');
      // The assist ran, suspected the master and declined: the other masters do not flag it.
      expect(sim.log(replica)).toMatch(
        /assist: master \w+ suspected here; [01] of 3 masters serving slots flag it failing: waiting/,
      );
    } finally {
      await sim.runtime.heal();
    }
    await sim.waitHealthy(SHARDS * 2);
  });

  it('promotes the replica of a paused master once the quorum of masters flags it, and says so', async () => {
    const { master, replica } = await sim.shardPair(0);
    const started = Date.now();
    await sim.runtime.pausePod(master);
    try {
      await pollUntil(async () => (await sim.role(replica)) === 'master', {
        description: `${replica} promoted`,
        timeoutMs: 6 * NODE_TIMEOUT_MS,
        intervalMs: 50,
      });
      console.log(`promoted ${Date.now() - started} ms after the pause (node timeout ${NODE_TIMEOUT_MS} ms)`);
      console.log(
        sim
          .log(replica)
          .split('\n')
          .filter((l) => l.includes('assist'))
          .join('\n'),
      );
      expect(sim.log(replica)).toMatch(
        /assist: master \w+ flagged failing by 2 of 3 masters serving slots; CLUSTER FAILOVER (force|takeover): OK/,
      );
    } finally {
      await sim.runtime.resumePod(master);
    }
    await pollUntil(async () => (await sim.role(master)) === 'slave', {
      description: `${master} back as a replica`,
      timeoutMs: 30_000,
    });
    await sim.waitHealthy(SHARDS * 2);
  });

  it('is switched off per member by failoverAssist: false (entrypoint.sh then does not start it)', () => {
    const objects = synthCluster({ shards: SHARDS, port, failoverAssist: false });
    const env = objects
      .filter((o) => o.kind === 'StatefulSet')
      .flatMap((o) => o.spec.template.spec.containers[0].env as Array<{ name: string; value: string }>)
      .filter((e) => e.name === 'SLOTFORGE_FAILOVER_ASSIST');
    expect(env.map((e) => e.value)).toEqual(['0', '0', '0']);
  });
});
