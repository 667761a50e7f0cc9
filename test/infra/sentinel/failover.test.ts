import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS, synthSentinel } from '../support/index.ts';
import { SentinelViews } from './support/sentinel-views.ts';

// A RedisSentinel with its default failover settings (replicas 2, sentinels 3, quorum 2, down-after 5000 ms,
// failover-timeout 10000 ms), run from the synthesized manifests: the entrypoints, probes and preStop hook execute
// for real with sh against real redis-server and redis-sentinel processes: the chart's manifests on the local runtime,
// each pod in its own network namespace with its DNS name in the cluster's hosts file.
const DOWN_AFTER_MS = 5000;
const FAILOVER_TIMEOUT_MS = 10_000;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sentinelPort = port + 1;
const objects = synthSentinel({ port, sentinelPort, resources: { memoryLimit: '256Mi' } });
const sim = new ChartRun('infra-sentinel');
/**
 * The optional bind addresses the entrypoints write into the configs (the sentinel test checks the line is replaced
 * at each start): the pod's address, and loopback for the exporter sidecar.
 */
const chart = { env: { REDIS_BIND: '$(POD_IP) 127.0.0.1' } };
const views = new SentinelViews(sim);
type SimPod = string;

const data = () => views.ofKind('redis');
const sentinels = () => views.ofKind('sentinel');

/** The data pod most running sentinels name as primary. */
async function currentPrimary(): Promise<SimPod | undefined> {
  const votes = new Map<string, number>();
  for (const s of views.running('sentinel')) {
    const host = await views.primaryOf(s);
    if (host) votes.set(host, (votes.get(host) ?? 0) + 1);
  }
  const [best] = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  return best && best[1] * 2 > sentinels().length ? views.podByHost(best[0]) : undefined;
}

beforeAll(async () => {
  // Every pod at once (podManagementPolicy Parallel): the scripts must agree on ordinal 0 whatever the order.
  await sim.start(objects, chart);
  await pollUntil(() => data().length === 3 && sentinels().length === 3, {
    description: 'every pod',
    timeoutMs: 30_000,
  });
  await Promise.all([...data(), ...sentinels()].map((p) => sim.waitPing(p)));
}, RUNTIME_HOOK_TIMEOUT_MS);

/** Killed, and kept away (no node takes the pod) until `back()` lets its StatefulSet start it again. */
async function killAndHold(pod: string): Promise<{ back(): Promise<void> }> {
  sim.runtime.cordon();
  await sim.runtime.deletePod(pod, 0);
  return {
    back: async () => {
      sim.runtime.uncordon();
      await sim.waitPing(pod);
    },
  };
}

/** Another pod is primary, the sentinels and replicas agree on it, and every data pod holds the 50 keys `PREFIX:i`. */
async function expectHandedOver(old: SimPod, prefix: string): Promise<void> {
  const successor = (await currentPrimary()) as SimPod;
  expect(successor).not.toBe(old);
  await views.waitConverged(successor);
  for (const pod of data()) {
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => sim.call(pod, 'GET', `${prefix}:${i}`)));
    expect(values, pod).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
  }
}

describe('RedisSentinel scripts against real redis-server and redis-sentinel processes', () => {
  it('the first start makes ordinal 0 primary; everything announces DNS names; the probes pass', async () => {
    const first = `${sim.name}-redis-0`;
    await views.waitConverged(first);
    expect(await sim.role(first)).toBe('master');
    for (const s of sentinels()) {
      expect(await views.primaryOf(s)).toBe(sim.fqdn(first));
      const peers = (await sim.call(s, 'SENTINEL', 'SENTINELS', views.masterName)) as string[][];
      for (const p of peers) expect(p[p.indexOf('ip') + 1]).toMatch(/\.svc\.cluster\.local$/);
      const state = await views.masterState(s);
      expect(state['down-after-milliseconds']).toBe(String(DOWN_AFTER_MS));
      expect(state['failover-timeout']).toBe(String(FAILOVER_TIMEOUT_MS));
      expect(state.quorum).toBe('2');
      expect((await sim.exec(s, 'sentinel-probe.sh', ['readiness'])).code).toBe(0);
    }
    for (const pod of data()) {
      expect((await sim.exec(pod, 'probe.sh', ['liveness'])).code).toBe(0);
      expect((await sim.exec(pod, 'redis-probe.sh', ['readiness'])).code).toBe(0);
    }
    const get = async (name: string) => ((await sim.call(first, 'CONFIG', 'GET', name)) as string[])[1];
    expect(await get('replica-announce-ip')).toBe(sim.fqdn(first));
    expect(await get('min-replicas-to-write')).toBe('1');
    expect(await get('min-replicas-max-lag')).toBe('5');
    // Least privilege: the sentinels' user reads no key, the app user cannot flush.
    expect(String(await sim.callAs(first, 'sentinel', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(String(await sim.callAs(first, 'app', 'FLUSHALL'))).toMatch(/NOPERM/);
    expect(await sim.callAs(first, 'app', 'SET', 'before', 'kept')).toBe('OK');
  });

  it("the exporter sidecar, run as Debian's prometheus-redis-exporter with the manifest env, scrapes as its user", async () => {
    const primary = (await currentPrimary()) as SimPod;
    // The pod runs the sidecar from the manifest, in the data pod's network namespace (127.0.0.1, :9121).
    expect(sim.pod(primary).containerEnv('exporter')?.REDIS_USER).toBe('exporter');
    await sim.call(primary, 'ACL', 'LOG', 'RESET');
    // redis_exporter scrapes Redis on each request of /metrics: this one comes after the reset.
    const text = await pollUntil(
      async () => {
        const body = await (await fetch(`http://${sim.ip(primary)}:9121/metrics`)).text();
        return body.includes('redis_up') ? body : undefined;
      },
      { description: 'exporter metrics', timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(text).toMatch(/^redis_up 1$/m);
    expect(text).toMatch(/^redis_exporter_last_scrape_error\{err=""\} 0$/m);
    // What the RedisSentinelNoPrimary alert counts: one series with role="master" per primary.
    expect(text).toMatch(/^redis_instance_info\{[^}]*role="master"[^}]*\} 1$/m);
    expect(text).toMatch(/^redis_connected_slaves 2$/m);
    const denials = ((await sim.call(primary, 'ACL', 'LOG', 100)) as unknown[][]).filter((entry) =>
      entry.some((field, i) => entry[i - 1] === 'username' && field === 'exporter'),
    );
    expect(denials.map((d) => d[d.indexOf('object') + 1])).toEqual([]);
  });

  it('preStop on the primary makes another pod primary before it returns', async () => {
    const old = (await currentPrimary()) as SimPod;
    expect(old).toBeDefined();
    // An application on @slotforge/client, connected through the sentinels, writes all along.
    const driver = await views.startClientDriver(4000);
    const started = Date.now();
    const result = await sim.exec(old, 'redis-prestop.sh');
    const tookMs = Date.now() - started;
    expect(result.code, result.output).toBe(0);
    // Checked right after the hook returned, without polling: the hook must not return before the switch.
    const successor = await currentPrimary();
    expect(successor, result.output).toBeDefined();
    expect(successor).not.toBe(old);
    expect(await sim.role(successor as SimPod)).toBe('master');
    expect(result.output).toMatch(/is primary after/);
    console.log(`preStop handed the primary over in ${tookMs} ms`);
    const seen = await driver.result();
    console.log(`@slotforge/client during the hand-over: ${JSON.stringify(seen)}`);
    expect(seen.failed, seen.errors.join('; ')).toBe(0);
    expect(seen.lost).toBe(0);
    expect(seen.ok).toBeGreaterThan(20);
    await views.waitConverged(successor as SimPod);
    expect(await sim.role(old)).toBe('slave');
    // On a replica the hook returns at once.
    const onReplica = await sim.exec(old, 'redis-prestop.sh');
    expect(onReplica.code).toBe(0);
    expect(onReplica.output).not.toMatch(/SENTINEL FAILOVER/);
  });

  it('a killed primary is replaced within downAfterMs + failover time; it returns, with a new IP, as a replica', async () => {
    const old = (await currentPrimary()) as SimPod;
    expect(old).toBeDefined();
    expect(await sim.callAs(old, 'app', 'SET', 'acked', 'yes')).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    const oldIp = sim.ip(old);
    const killedAt = Date.now();
    const held = await killAndHold(old);
    // A replica whose primary is gone is alive but not ready (its link is down).
    const orphan = data().find((p) => p !== old) as SimPod;
    const readiness = await pollUntil(
      async () => {
        const result = await sim.exec(orphan, 'redis-probe.sh', ['readiness']);
        return result.code === 0 ? undefined : result;
      },
      { description: 'readiness to fail on a replica without primary', timeoutMs: 3000, intervalMs: 50 },
    );
    expect([readiness.code, readiness.output.trim()]).toEqual([1, "readiness: replica link is 'down'"]);
    expect((await sim.exec(orphan, 'probe.sh', ['liveness'])).code).toBe(0);
    let promotedMs = 0;
    const successor = await pollUntil(
      async () => {
        const p = await currentPrimary();
        if (!p || p === old || (await sim.role(p)) !== 'master') return undefined;
        promotedMs = Date.now() - killedAt;
        return p;
      },
      {
        description: 'the sentinels to promote a replica',
        timeoutMs: DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS,
        intervalMs: 50,
      },
    );
    // min-replicas-to-write 1: the new primary takes writes once the other replica follows it.
    const writable = await pollUntil(
      async () =>
        (await sim.callAs(successor, 'app', 'SET', 'after', 'yes')) === 'OK' ? Date.now() - killedAt : undefined,
      { description: 'the new primary to accept a write', timeoutMs: FAILOVER_TIMEOUT_MS, intervalMs: 50 },
    );
    console.log(`SIGKILL of the primary: promoted after ${promotedMs} ms, writable after ${writable} ms`);
    expect(promotedMs).toBeGreaterThanOrEqual(DOWN_AFTER_MS);
    expect(promotedMs).toBeLessThan(DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS);
    expect(await sim.callAs(successor, 'app', 'GET', 'acked')).toBe('yes');
    expect(await sim.callAs(successor, 'app', 'GET', 'before')).toBe('kept');

    // The pod returns with an address no pod had: its DNS name is what everyone knows it by.
    await held.back();
    expect(sim.ip(old)).not.toBe(oldIp);
    expect(sim.log(old)).toMatch(/starting as replica of .*named by the sentinels/);
    await views.waitConverged(successor);
    expect(await sim.role(old)).toBe('slave');
    expect(await sim.callAs(old, 'app', 'GET', 'after')).toBe('yes');
  });

  it('a primary whose data did not survive a quick restart hands over instead of wiping its replicas', async () => {
    const old = (await currentPrimary()) as SimPod;
    for (let i = 0; i < 50; i++) expect(await sim.callAs(old, 'app', 'SET', `guarded:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    const held = await killAndHold(old);
    // Its AOF is gone (a lost volume; with the cache profile, any restart): it comes back at once, long before the
    // sentinels would notice (downAfterMs), so they still name it primary.
    rmSync(join(sim.dataDir(old), 'appendonlydir'), { recursive: true, force: true });
    const restartedAt = Date.now();
    await held.back();
    console.log(`empty-primary guard: ${old} answered as a replica ${Date.now() - restartedAt} ms after restart`);
    expect(sim.log(old)).toMatch(/guard: .* took over; starting as its replica/);
    expect(await sim.role(old)).toBe('slave');
    await expectHandedOver(old, 'guarded');
  });

  it('a primary killed and restarted at once hands over to the replica that holds what its AOF lacks', async () => {
    const old = (await currentPrimary()) as SimPod;
    await views.waitConverged(old);
    // What appendfsync everysec allows: writes acknowledged and replicated that never reached the AOF (Redis postpones
    // the write by up to 2 s while a slow fsync runs). Turning the AOF off here makes the gap certain.
    expect(await sim.call(old, 'CONFIG', 'SET', 'appendonly', 'no')).toBe('OK');
    for (let i = 0; i < 50; i++) expect(await sim.callAs(old, 'app', 'SET', `unsynced:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    const held = await killAndHold(old);
    const restartedAt = Date.now();
    await held.back();
    console.log(`hand-over guard: ${old} answered PING ${Date.now() - restartedAt} ms after restart`);
    expect(sim.log(old)).toMatch(/guard: .*it stopped without handing over and .* is online/);
    expect(sim.log(old)).toMatch(/guard: .* took over; starting as its replica/);
    await expectHandedOver(old, 'unsynced');
  });

  it('a restarted sentinel keeps its view: same id, epoch and primary, read from its own file', async () => {
    let primary = (await currentPrimary()) as SimPod;
    if (primary === `${sim.name}-redis-0`) {
      // The view to keep must differ from what a fresh start would pick (ordinal 0): hand the primary over first.
      expect((await sim.exec(primary, 'redis-prestop.sh')).code).toBe(0);
      primary = (await currentPrimary()) as SimPod;
      await views.waitConverged(primary);
    }
    expect(primary).not.toBe(`${sim.name}-redis-0`);
    const sentinel = sentinels()[0] as SimPod;
    const before = await views.masterState(sentinel);
    const myid = await sim.call(sentinel, 'SENTINEL', 'MYID');
    const sentinelIp = sim.ip(sentinel);
    // Every sentinel goes (the StatefulSet scaled to 0): nothing but its own file can then tell the first to return
    // that the primary has moved from ordinal 0.
    await sim.apply(objects, { ...chart, replicas: { 'rs-sentinel': 0 } });
    await pollUntil(() => sentinels().length === 0, { description: 'every sentinel gone', timeoutMs: 90_000 });
    // Its file on the volume holds what it learnt, by DNS name, and no stale password (refreshed at every start).
    const file = readFileSync(join(sim.dataDir(sentinel), 'sentinel.conf'), 'utf8');
    expect(file).toContain(`sentinel monitor ${views.masterName} ${sim.fqdn(primary)} ${port} 2`);
    for (const r of data().filter((p) => p !== primary)) {
      expect(file).toContain(`sentinel known-replica ${views.masterName} ${sim.fqdn(r)} ${port}`);
    }
    // It returns alone (1 replica), with a new IP, as a pod recreated elsewhere would.
    await sim.apply(objects, { ...chart, replicas: { 'rs-sentinel': 1 } });
    await pollUntil(() => sentinels().includes(sentinel), { description: `${sentinel} back`, timeoutMs: 30_000 });
    await sim.waitPing(sentinel);
    expect(sim.ip(sentinel)).not.toBe(sentinelIp);
    expect(sim.log(sentinel)).toMatch(/keeping the sentinel state/);
    // The pod-specific and secret lines were replaced, not appended to.
    const rewritten = readFileSync(join(sim.dataDir(sentinel), 'sentinel.conf'), 'utf8');
    for (const directive of ['bind', 'sentinel announce-ip', 'sentinel auth-pass', 'sentinel auth-user']) {
      expect(
        rewritten.split('\n').filter((l) => l.startsWith(`${directive} `)),
        directive,
      ).toHaveLength(1);
    }
    expect(rewritten).toContain(`bind ${sim.ip(sentinel)}`);
    expect(await sim.call(sentinel, 'SENTINEL', 'MYID')).toBe(myid);
    expect(await views.primaryOf(sentinel)).toBe(sim.fqdn(primary));
    expect((await views.masterState(sentinel))['config-epoch']).toBe(before['config-epoch']);
    await sim.apply(objects, chart);
    await pollUntil(() => sentinels().length === 3, { description: 'every sentinel back', timeoutMs: 30_000 });
    await Promise.all(sentinels().map((s) => sim.waitPing(s)));
    await views.waitConverged(primary);
  });

  it('minReplicasToWrite 1: a primary whose replicas stop acknowledging refuses writes after minReplicasMaxLagS', async () => {
    const primary = (await currentPrimary()) as SimPod;
    const replicas = data().filter((p) => p !== primary);
    // Frozen replicas keep their connections (like a partition: no reset), they only stop acknowledging.
    for (const r of replicas) await sim.runtime.pausePod(r);
    const cutAt = Date.now();
    try {
      const refusedMs = await pollUntil(
        async () => {
          const reply = await sim.callAs(primary, 'app', 'SET', 'cut-off', 'x');
          return reply instanceof Error && /NOREPLICAS/.test(reply.message) ? Date.now() - cutAt : undefined;
        },
        { description: 'the primary to refuse writes with NOREPLICAS', timeoutMs: 15_000, intervalMs: 100 },
      );
      console.log(`minReplicasToWrite: writes refused ${refusedMs} ms after the replicas stopped acknowledging`);
      // Lag counts whole seconds since the last ACK (sent every second): refused after 5-7 s, never before 4 s.
      expect(refusedMs).toBeGreaterThanOrEqual(4000);
      expect(refusedMs).toBeLessThanOrEqual(7500);
    } finally {
      for (const r of replicas) await sim.runtime.resumePod(r);
    }
    await pollUntil(async () => (await sim.callAs(primary, 'app', 'SET', 'back', 'ok')) === 'OK', {
      description: 'writes to be accepted once the replicas acknowledge again',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
  });
});
