import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SlotforgeClient } from '../../client/src/index.ts';
import { InvalidPropError, type RedisClusterProps } from '../../infra/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { parseInfo } from '../../runtime/redis/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { memberConfig, synthCluster } from './support/synth.ts';

const conf = (props: RedisClusterProps) => memberConfig(synthCluster(props))['redis.conf'] as string;
const directive = (props: RedisClusterProps, name: string) =>
  new RegExp(`^${name} (\\S+)$`, 'm').exec(conf(props))?.[1];

describe('requireFullCoverage and allowReadsWhenDown are props, per profile', () => {
  it('a cache serves the slots it has, a store all or nothing by default, and either may choose', () => {
    expect(directive({ profile: 'cache' }, 'cluster-require-full-coverage')).toBe('no');
    expect(directive({ profile: 'store' }, 'cluster-require-full-coverage')).toBe('yes');
    expect(directive({ profile: 'store', requireFullCoverage: false }, 'cluster-require-full-coverage')).toBe('no');
    expect(directive({}, 'cluster-allow-reads-when-down')).toBe('no');
    expect(directive({ allowReadsWhenDown: true }, 'cluster-allow-reads-when-down')).toBe('yes');
  });

  it("the client's readFrom is validated where it is given", () => {
    expect(() =>
      createClient({ cluster: { nodes: [{ host: '127.0.0.1', port: 1 }] }, readFrom: 'slaves' as never }),
    ).toThrow(/readFrom/);
  });

  it('config cannot set them behind the props, and a non-boolean is refused naming the prop', () => {
    expect(() => synthCluster({ config: { 'cluster-require-full-coverage': false } })).toThrow(/requireFullCoverage/);
    expect(() => synthCluster({ requireFullCoverage: 'no' as never })).toThrow(InvalidPropError);
    expect(() => synthCluster({ requireFullCoverage: 'no' as never })).toThrow(
      "RedisCluster 'rc': requireFullCoverage must be true or false (got 'no')",
    );
  });
});

// A store with allowReadsWhenDown and one whole shard frozen past the node timeout: cluster_state:fail everywhere
// (full coverage), writes refused, and a client with readFrom 'replicas' still reads the other shards' keys, from
// their replicas. The chart's manifests on the local runtime, formed by its topology Job.
describe('one shard down, reads allowed: the client reads from replicas', () => {
  const SHARDS = 3;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const sim = new ChartRun('infra-coverage');
  let client: SlotforgeClient | undefined;
  const members = (): string[] => sim.podNames(`${sim.name}-shard-`);

  beforeAll(async () => {
    const objects = synthCluster({ shards: SHARDS, port, nodeTimeoutMs: 2000, allowReadsWhenDown: true });
    await sim.start(objects, { env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' } });
    await pollUntil(() => members().length === SHARDS * 2, { description: 'every member pod', timeoutMs: 30_000 });
    await sim.waitFormed(SHARDS * 2);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await client?.close();
  });

  it('serves reads of the live shards while writes get CLUSTERDOWN', async () => {
    const seeds = members().map((p) => ({ host: sim.ip(p), port }));
    client = createClient({
      cluster: { nodes: seeds },
      password: sim.password('admin'),
      readFrom: 'replicas',
      commandTimeoutMs: 3000,
    });
    // `{b}` hashes to slot 3300 (shard 0).
    await client.set('{b}k', 'before');
    const replica = `${sim.name}-shard-0-1`;
    await pollUntil(async () => (await sim.call(replica, 'GET', '{b}k')) instanceof Error === false, {
      description: 'the write to reach shard 0',
      timeoutMs: 5000,
    }).catch(() => undefined);
    const down = [`${sim.name}-shard-2-0`, `${sim.name}-shard-2-1`];
    for (const pod of down) await sim.runtime.pausePod(pod);
    try {
      await pollUntil(async () => (await sim.clusterInfo(members()[0] as string)).cluster_state === 'fail', {
        description: 'cluster_state:fail once shard 2 is past the node timeout',
        timeoutMs: 15_000,
      });
      const gets = async () =>
        Number(
          parseInfo(String(await sim.call(replica, 'INFO', 'commandstats'))).cmdstat_get?.match(/calls=(\d+)/)?.[1] ??
            0,
        );
      const before = await gets();
      expect(await client.get('{b}k')).toBe('before');
      expect(await gets()).toBeGreaterThan(before);
      await expect(client.set('{b}k', 'during')).rejects.toMatchObject({ code: 'E_CLUSTER_DOWN' });
    } finally {
      for (const pod of down) await sim.runtime.resumePod(pod);
    }
  }, 60_000);
});
