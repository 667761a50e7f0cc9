import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient, createRateLimiter, type RateLimiter, type SlotforgeClient } from '@slotforge/client';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActiveAlert, type LocalMonitor, startLocalMonitor } from '../../../cli/monitor/index.ts';
import {
  alertDefinitions,
  buildDashboards,
  dashboardQueries,
  EXPORTER_METRICS,
  expandGrafanaVariables,
} from '../../../dashboards/index.ts';
import { cleanupLocal, LocalRuntime, loadManifests, type Pod } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import {
  admin,
  clusterConverged,
  isMember,
  secret,
  synthDefaultCharts,
  waitConverged,
} from '../../runtime/local/index.ts';
import { harnessRegistry, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../../support/index.ts';

/**
 * Proof on a real stack: the default charts (`main.ts`) synthesized and run on the local runtime, the redis_exporter
 * sidecars the manifests put in every Redis pod, a real Prometheus on the host scraping them at the pod IPs and an
 * application's /metrics on loopback (the slotforge client's prom-client Registry) every second, evaluating the real
 * alert rules (with `for: 0s`). Every panel query and every alert signal must return data, and killing a master pod
 * must fire the alerts that say so.
 */

/**
 * How soon after a kill that keeps the pod down RedisMasterLinkDown and RedisExporterDown must fire: the replica sees
 * the reset connection at once and the victim's sidecar is gone, so the next scrape (1 s interval) and the next
 * evaluation (1 s) fire them: about 2 s, with room for a loaded machine.
 */
const LINK_DOWN_ALERT_MS = 5000;

let runtime: LocalRuntime;
let stateDir: string;
let dir: string;
let monitor: LocalMonitor;
let client: SlotforgeClient;
let reader: SlotforgeClient;
let server: Server;
let limiter: RateLimiter | undefined;

const members = (): Pod[] => runtime.pods().filter((p) => isMember(p.name));

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

describe.runIf(process.getuid?.() === 0)('dashboards and alerts on the local runtime', () => {
  beforeAll(async () => {
    const started = Date.now();
    dir = harnessTempDir('stack');
    const dist = await synthDefaultCharts(mkdtempSync(join(dir, 'synth-')));
    stateDir = join(dir, 'state');
    runtime = await LocalRuntime.start({ stateDir, manifests: loadManifests(dist) });
    await waitConverged(runtime, 120_000);
    await pollUntil(async () => (await runtime.status()).jobs.every((j) => j.status === 'Complete'), {
      description: 'the auth and topology Jobs to complete',
      timeoutMs: 60_000,
    });
    const upMs = Date.now() - started;

    const registry = new Registry();
    server = createServer((_, res) => {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const appAddress = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // As an application in the cluster would connect: the `app` user, seeds by the pods' DNS names.
    const nodes = members().map((p) => ({ host: `${p.name}.redis-headless.slotforge.svc.cluster.local`, port: 6379 }));
    const auth = { username: 'app', password: secret(runtime, 'app') };
    client = createClient({ cluster: { nodes }, ...auth, namespace: 'mon', deps: { registry } });
    reader = createClient({
      cluster: { nodes },
      ...auth,
      namespace: 'mon',
      deps: { registry },
      nearCache: { invalidation: 'bus' },
    });
    await Promise.all([client.ready(), reader.ready()]);

    // The sidecars the manifests define, at the pod IPs (the host reaches them over the runtime's bridge). No exporter
    // is started here: what Prometheus scrapes is what the manifests run.
    const sidecars = members().map((pod) => {
      const metrics = pod.ports.find((p) => p.name === 'metrics');
      if (!pod.ip || !metrics) throw new Error(`${pod.name}: no IP or no 'metrics' port in the manifest`);
      return { node: { host: pod.ip, port: 6379, name: pod.name }, address: `${pod.ip}:${metrics.containerPort}` };
    });
    monitor = await startLocalMonitor({
      dir: join(dir, 'prometheus'),
      sidecars,
      extraJobs: [{ job: 'app', targets: [appAddress] }],
      alertOptions: { for: '0s' },
      interval: '1s',
      registry: harnessRegistry(),
    });
    const writeBehind = client.writeBehind<number>({ flush: async () => undefined, flushIntervalMs: 60_000 });
    await writeBehind.set('queued', 1);
    await traffic(0);
    const firstScrapeMs = await monitor.waitAllTargetsUp(30_000);
    console.log(
      `[stack] chart up and converged after ${upMs} ms; all ${sidecars.length + 1} targets scraped ${firstScrapeMs} ms after Prometheus started`,
    );
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await monitor?.stop();
    await Promise.allSettled([client?.close(), reader?.close()]);
    await new Promise((resolve) => server?.close(resolve));
    await runtime?.stop(3000);
    if (stateDir) await cleanupLocal(stateDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('scrapes the exporter sidecars of the manifests, which expose every metric in the exporter list', async () => {
    // Every scraped exporter is a pod's own: no exporter process was started on the host.
    expect(monitor.exporters.filter((e) => e.process !== undefined)).toEqual([]);
    expect(monitor.exporters.map((e) => e.address).sort()).toEqual(
      members()
        .map((p) => `${p.ip}:9121`)
        .sort(),
    );
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
      // Both deployments' sets: the Sentinel-only signal (primaries per job) has data on a cluster too.
      ...[...alertDefinitions(), ...alertDefinitions({ deployment: 'sentinel' })]
        .filter((a, i, all) => all.findIndex((b) => b.alert === a.alert) === i)
        .map((a) => ({ what: `alert ${a.alert}`, expr: a.signal })),
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
      'RedisExporterDown',
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

  it('a crash-looping master pod fires the master-down alerts, which resolve once it is back', async () => {
    const roles = await Promise.all(
      members().map(async (p) => ({ pod: p, role: (await admin(runtime, p.ip!, 'ROLE')).split(',')[0] })),
    );
    const victim = roles.find((r) => r.role === 'master')?.pod;
    if (!victim?.ip) throw new Error('no master');
    const victimIp = victim.ip;
    const address = `${victimIp}:9121`;
    // Alerts about the victim: its own sidecar's series, or a replica's link to it.
    const aboutVictim = (labels: Record<string, string>) =>
      labels.instance === address || labels.master_host === victimIp;
    /** Records, per alert (marked when about the victim), the ms from `since` to the first evaluation that fired it. */
    const recorder = (since: number, seen: Map<string, number>) => async () => {
      const firing = (await monitor.api.alerts()).filter((a) => a.state === 'firing');
      for (const a of firing) {
        const key = `${a.labels.alertname}${aboutVictim(a.labels) ? ' (victim)' : ''}`;
        if (!seen.has(key)) seen.set(key, Date.now() - since);
      }
      return firing;
    };
    /** Polls until the cluster converged and no alert about the victim or a lost replica fires. */
    const healed = (record: () => Promise<Array<{ labels: Record<string, string> }>>) =>
      pollUntil(
        async () => {
          const firing = await record();
          const open = firing.filter((a) => aboutVictim(a.labels) || a.labels.alertname === 'RedisShardWithoutReplica');
          return open.length === 0 && (await clusterConverged(runtime)) === true;
        },
        { description: 'the cluster to converge and the alerts about the victim to resolve', timeoutMs: 60_000 },
      );

    // First crash: SIGKILL to every process of the pod, Redis and its exporter sidecar alike. The kubelet restarts
    // the containers at once (same pod, same IP), so the outage lasts well under a second of scrapes: what fires is
    // recorded, not required.
    const first = new Map<string, number>();
    const firstAt = Date.now();
    await runtime.killPod(victim.name);
    await healed(recorder(firstAt, first));
    const firstHealedMs = Date.now() - firstAt;
    // Restarted at once with its replica linked until the kill, the victim handed over to that replica (the
    // restarted-master guard, docs/cluster-setup.md). A coordinated failover makes it master again for the second crash.
    expect(await admin(runtime, victimIp, 'ROLE')).toMatch(/^slave,/);
    // A manual failover waits for the replica to reach its master's offset and gives up after 5 s (a replica still
    // in its full sync): asked again until it took.
    let askedAt = 0;
    await pollUntil(
      async () => {
        const role = await admin(runtime, victimIp, 'ROLE');
        if (role.startsWith('master,')) return (await clusterConverged(runtime)) === true;
        if (Date.now() - askedAt > 6000 && role.includes(',connected,')) {
          askedAt = Date.now();
          expect(await admin(runtime, victimIp, 'CLUSTER', 'FAILOVER')).toBe('OK');
        }
        return false;
      },
      { description: `${victim.name} to be master again`, timeoutMs: 45_000 },
    );

    // Second crash within 10 minutes of the first restart: the kubelet restarts the containers only after its 10 s
    // back-off (CrashLoopBackOff). That is longer than cluster-node-timeout (5 s), so the replica is promoted.
    const seen = new Map<string, number>();
    const killedAt = Date.now();
    const record = recorder(killedAt, seen);
    await runtime.killPod(victim.name);
    // The link alert ends when its replica is promoted and the shard alert starts then: collect them as they come.
    let linkDown: ActiveAlert | undefined;
    let shard: ActiveAlert | undefined;
    await pollUntil(
      async () => {
        const firing = await record();
        linkDown ??= firing.find((a) => a.labels.alertname === 'RedisMasterLinkDown' && aboutVictim(a.labels));
        shard ??= firing.find(
          (a) => a.labels.alertname === 'RedisShardWithoutReplica' && a.labels.instance !== address,
        );
        return linkDown !== undefined && shard !== undefined && seen.has('RedisExporterDown (victim)');
      },
      { description: `the master-down alerts about ${victim.name}`, timeoutMs: 30_000, intervalMs: 200 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; fired: ${JSON.stringify(Object.fromEntries(seen))}`, { cause: error });
    });
    // The replica that lost its link to the victim is the one promoted, now a master without a replica of its own.
    expect(shard?.labels.instance).toBe(linkDown?.labels.instance);
    const promoted = members().find((p) => `${p.ip}:9121` === shard?.labels.instance);
    expect(promoted && (await admin(runtime, promoted.ip!, 'ROLE')).split(',')[0]).toBe('master');
    await healed(record);
    const healedMs = Date.now() - killedAt;
    console.log(
      `[stack] first kill of ${victim.name} (${victimIp}), restarted at once: fired ${JSON.stringify(Object.fromEntries(first))} ms; healed after ${firstHealedMs} ms`,
    );
    console.log(
      `[stack] second kill (10 s back-off): fired ${JSON.stringify(Object.fromEntries(seen))} ms; healed after ${healedMs} ms`,
    );
    // The pod came back in place and its Redis rejoined.
    expect(runtime.pod(victim.name).ip).toBe(victimIp);
    expect(seen.get('RedisMasterLinkDown (victim)')).toBeLessThan(LINK_DOWN_ALERT_MS);
    expect(seen.get('RedisExporterDown (victim)')).toBeLessThan(LINK_DOWN_ALERT_MS);
    // The cluster still knows 6 members while 5 report.
    expect(seen.has('RedisClusterNodeMissing')).toBe(true);
  }, 150_000);
});
