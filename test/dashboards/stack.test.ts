import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, createRateLimiter, type RateLimiter, type SlotforgeClient } from '@slotforge/client';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alertDefinitions,
  buildDashboards,
  dashboardQueries,
  EXPORTER_METRICS,
  expandGrafanaVariables,
} from '../../dashboards/index.ts';
import { type LocalMonitor, startLocalMonitor } from '../../dashboards/local-stack.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { useCluster } from '../support/fixtures.ts';
import { harnessRegistry, harnessTempDir } from '../support/harness-root.ts';

/**
 * Proof on a real stack: a 3x1 Redis Cluster, one real redis_exporter per node, a real Prometheus scraping them and
 * an application's /metrics (the slotforge client's prom-client Registry) every second, evaluating the real alert
 * rules (with `for: 0s`). Every panel query and every alert signal must return data, and killing a master must fire
 * the alerts that say so.
 */

const PASSWORD = 'monitor-secret';
// Own configuration: this file kills a master. maxmemory so the memory-ratio panel and alert have a denominator.
const cluster = useCluster({
  shards: 3,
  replicasPerShard: 1,
  nodeTimeoutMs: 2000,
  password: PASSWORD,
  config: { maxmemory: '64mb', 'maxmemory-policy': 'allkeys-lru' },
});

let monitor: LocalMonitor;
let client: SlotforgeClient;
let reader: SlotforgeClient;
let server: Server;
let limiter: RateLimiter | undefined;
let firstScrapeMs = 0;
const dirs: string[] = [];

/** A bounded burst of real client traffic that exercises every client metric. */
async function traffic(round: number): Promise<void> {
  const load = async () => {
    await new Promise((r) => setTimeout(r, 2));
    return { round, at: Date.now() };
  };
  // misses, then hits (30 keys)
  for (let pass = 0; pass < 2; pass++) {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.getOrSet(`user:${round}:${i}`, load, { ttlMs: 60_000 })),
    );
  }
  // coalesced: 8 concurrent callers of one fresh key run one loader
  await Promise.all(Array.from({ length: 8 }, () => client.getOrSet(`hot:${round}`, load, { ttlMs: 60_000 })));
  // stale served while a refresh runs: freshness ends after 20 ms, stale-while-revalidate for 10 s
  await client.getOrSet(`swr:${round}`, load, { ttlMs: 20, jitter: 0, staleWhileRevalidateMs: 10_000 });
  await new Promise((r) => setTimeout(r, 40));
  await client.getOrSet(`swr:${round}`, load, { ttlMs: 20, jitter: 0, staleWhileRevalidateMs: 10_000 });
  // a failing loader: E_LOADER
  await client
    .getOrSet(`broken:${round}`, async () => Promise.reject(new Error('database down')), { ttlMs: 1000 })
    .catch(() => undefined);
  // near cache (bus invalidation) on the reader, invalidated by a write through the other client
  await reader.getOrSet(`shared:${round}`, load, { ttlMs: 60_000 });
  await reader.getOrSet(`shared:${round}`, load, { ttlMs: 60_000 });
  await client.set(`shared:${round}`, { round });
  await reader.delete(`shared:${round}`);
  // rate limiting: 4 per minute per id, the 5th call of a fresh id is denied
  limiter ??= client.use(createRateLimiter, { name: 'api', limit: 4, windowMs: 60_000 });
  for (let i = 0; i < 5; i++) await limiter.consume(`caller-${round}`);
}

beforeAll(async () => {
  const registry = new Registry();
  server = createServer((_, res) => {
    void registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const appAddress = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const nodes = cluster().seeds();
  client = createClient({ cluster: { nodes }, password: PASSWORD, namespace: 'mon', deps: { registry } });
  reader = createClient({
    cluster: { nodes },
    password: PASSWORD,
    namespace: 'mon',
    deps: { registry },
    nearCache: { invalidation: 'bus' },
  });
  await Promise.all([client.ready(), reader.ready()]);
  const dir = harnessTempDir('monitor');
  dirs.push(dir);
  monitor = await startLocalMonitor({
    dir,
    nodes: cluster().nodes.map((n, i) => ({ host: n.host, port: n.port, name: `node-${i}` })),
    password: PASSWORD,
    extraJobs: [{ job: 'app', targets: [appAddress] }],
    alertOptions: { for: '0s' },
    interval: '1s',
    registry: harnessRegistry(),
  });
  const writeBehind = client.writeBehind<number>({ flush: async () => undefined, flushIntervalMs: 60_000 });
  await writeBehind.set('queued', 1);
  await traffic(0);
  firstScrapeMs = await monitor.waitAllTargetsUp(30_000);
  console.log(`[stack] all ${monitor.exporters.length + 1} targets scraped ${firstScrapeMs} ms after start`);
}, 120_000);

afterAll(async () => {
  await monitor?.stop();
  await Promise.allSettled([client?.close(), reader?.close()]);
  await new Promise((resolve) => server?.close(resolve));
  const { rmSync } = await import('node:fs');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('dashboards and alerts on a real Prometheus', () => {
  it('every metric in the exporter list is exposed by a real redis_exporter 1.45 on this cluster', async () => {
    const exposed = new Set<string>();
    for (const e of monitor.exporters) {
      const text = await (await fetch(`http://${e.address}/metrics`)).text();
      for (const line of text.split('\n')) if (line && !line.startsWith('#')) exposed.add(line.split(/[{ ]/)[0] ?? '');
    }
    expect(Object.values(EXPORTER_METRICS).filter((m) => !exposed.has(m))).toEqual([]);
  });

  it('every dashboard panel query and every alert signal returns data', async () => {
    const queries = [
      ...buildDashboards().flatMap((d) =>
        dashboardQueries(d.model).map((q) => ({
          what: `${d.name} / ${q.panel} ${q.refId}`,
          expr: expandGrafanaVariables(q.expr, { rateInterval: '30s' }),
        })),
      ),
      ...alertDefinitions().map((a) => ({ what: `alert ${a.alert}`, expr: a.signal })),
    ];
    expect(queries.length).toBeGreaterThan(50);
    // The check can fail: a metric nobody exports returns no data.
    expect(await monitor.api.query('rate(redis_keyspace_hitz_total[30s])')).toEqual([]);
    let empty: string[] = [];
    let round = 1;
    await pollUntil(
      async () => {
        await traffic(round++);
        empty = [];
        for (const q of queries) if ((await monitor.api.query(q.expr)).length === 0) empty.push(`${q.what}: ${q.expr}`);
        return empty.length === 0;
      },
      { description: 'every query to return data', timeoutMs: 40_000, intervalMs: 1000 },
    ).catch(() => undefined);
    expect(empty).toEqual([]);
    // Every full alert expression is valid PromQL on this Prometheus (a syntax error throws).
    for (const a of alertDefinitions()) await monitor.api.query(a.expr);
    // The rules Prometheus evaluates are ours, all of them.
    expect((await monitor.api.ruleNames()).sort()).toEqual(
      alertDefinitions()
        .map((a) => a.alert)
        .sort(),
    );
    // Healthy cluster: nothing fires that says otherwise. With `for: 0s` an evaluation made while the first scrapes
    // were still landing may have fired one for a second: poll until an evaluation sees the whole cluster.
    const unhealthy = [
      'RedisClusterStateNotOk',
      'RedisInstanceDown',
      'RedisShardWithoutReplica',
      'RedisClusterNodeMissing',
    ];
    let firing: string[] = [];
    await pollUntil(
      async () => {
        const alerts = await monitor.api.alerts();
        firing = alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname ?? '');
        return !firing.some((name) => unhealthy.includes(name));
      },
      { description: 'no health alert firing on a healthy cluster', timeoutMs: 15_000, intervalMs: 250 },
    ).catch(() => undefined);
    expect(firing.filter((name) => unhealthy.includes(name))).toEqual([]);
    // The failing loader makes the client error rate real; at 1 error/s threshold it may or may not fire.
    expect((await monitor.api.query('sum(slotforge_errors_total{code="E_LOADER"})'))[0]?.value[1]).not.toBe('0');
    // The limiter's denials reach Prometheus under its name, never the caller id.
    const denied = await monitor.api.query('slotforge_ratelimit_decisions_total{decision="denied"}');
    expect(denied.map((d) => d.metric.limiter)).toEqual(['api']);
  }, 90_000);

  it('killing a master fires RedisInstanceDown for it and RedisShardWithoutReplica for its promoted replica', async () => {
    const [victim] = await cluster().masters();
    if (!victim) throw new Error('no master');
    const exporter = monitor.exporters.find((e) => e.node.port === victim.port);
    if (!exporter) throw new Error('no exporter for the victim');
    const seen = new Map<string, number>();
    const killedAt = Date.now();
    await victim.process.kill();
    let promoted: string | undefined;
    await pollUntil(
      async () => {
        const alerts = await monitor.api.alerts();
        for (const a of alerts) {
          const ofVictim = a.labels.instance === exporter.address || a.labels.master_port === String(victim.port);
          const key = `${a.labels.alertname}${ofVictim ? ' (victim)' : ''}`;
          if (a.state === 'firing' && !seen.has(key)) seen.set(key, Date.now() - killedAt);
        }
        const down = alerts.some(
          (a) =>
            a.state === 'firing' &&
            a.labels.alertname === 'RedisInstanceDown' &&
            a.labels.instance === exporter.address,
        );
        const shard = alerts.find((a) => a.state === 'firing' && a.labels.alertname === 'RedisShardWithoutReplica');
        promoted = shard?.labels.instance;
        return down && shard !== undefined;
      },
      { description: 'the master-down alerts to fire', timeoutMs: 45_000, intervalMs: 200 },
    );
    console.log(`[stack] after killing ${victim.host}:${victim.port}: ${JSON.stringify(Object.fromEntries(seen))} ms`);
    // The shard left without a replica is the victim's: its promoted replica, which is now a master.
    const promotedNode = monitor.exporters.find((e) => e.address === promoted)?.node;
    const masters = await cluster().masters();
    expect(masters.map((m) => m.port)).toContain(promotedNode?.port);
    expect(promotedNode?.port).not.toBe(victim.port);
    // Its replica lost the link to it before the promotion (labels name the victim as master).
    expect(seen.has('RedisMasterLinkDown (victim)')).toBe(true);
    // The cluster still knows 6 members while 5 answer.
    expect(seen.has('RedisClusterNodeMissing')).toBe(true);
  }, 60_000);
});
