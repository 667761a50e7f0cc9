import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../runtime/process/index.ts';
import { harnessTempDir } from '../../support/harness-root.ts';
import { withExporterScrape } from '../support/exporter.ts';
import { loopbackBlock } from '../support/pod-sim.ts';
import { SentinelSim, type SentinelSim as Sim, type SimPod, synthSentinel } from './support/sentinel-sim.ts';

// A RedisSentinel with its default failover settings (replicas 2, sentinels 3, quorum 2, down-after 5000 ms,
// failover-timeout 10000 ms), run from the synthesized manifests: the entrypoints, probes and preStop hook execute
// for real with sh against real redis-server and redis-sentinel processes, each pod on its own 127.x address with its
// DNS name in a hosts file.
const DOWN_AFTER_MS = 5000;
const FAILOVER_TIMEOUT_MS = 10_000;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sentinelPort = port + 1;
const address = loopbackBlock();
const objects = synthSentinel({ port, sentinelPort, resources: { memoryLimit: '256Mi' } });
let root: string;
let sim: Sim;

const data = () => sim.ofKind('redis');
const sentinels = () => sim.ofKind('sentinel');

/** The data pod most running sentinels name as primary. */
async function currentPrimary(): Promise<SimPod | undefined> {
  const votes = new Map<string, number>();
  for (const s of sentinels().filter((p) => p.process)) {
    const host = await sim.primaryOf(s);
    if (host) votes.set(host, (votes.get(host) ?? 0) + 1);
  }
  const [best] = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  return best && best[1] * 2 > sentinels().length ? sim.podByHost(best[0]) : undefined;
}

beforeAll(async () => {
  root = harnessTempDir('infra-sentinel');
  sim = new SentinelSim(root, objects);
  let host = 2;
  for (let i = 0; i < 3; i++) sim.addPod('redis', i, address(host++));
  for (let i = 0; i < 3; i++) sim.addPod('sentinel', i, address(host++));
  // Every pod at once (podManagementPolicy Parallel): the scripts must agree on ordinal 0 whatever the order.
  await Promise.all([...sim.pods.values()].map((p) => sim.start(p)));
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('RedisSentinel scripts against real redis-server and redis-sentinel processes', () => {
  it('the first start makes ordinal 0 primary; everything announces DNS names; the probes pass', async () => {
    const first = sim.pod(`${sim.name}-redis-0`);
    await sim.waitConverged(first);
    expect(await sim.role(first)).toBe('master');
    for (const s of sentinels()) {
      expect(await sim.primaryOf(s)).toBe(sim.fqdn(first.name));
      const peers = (await sim.call(s, 'SENTINEL', 'SENTINELS', sim.masterName)) as string[][];
      for (const p of peers) expect(p[p.indexOf('ip') + 1]).toMatch(/\.svc\.cluster\.local$/);
      const state = await sim.masterState(s);
      expect(state['down-after-milliseconds']).toBe(String(DOWN_AFTER_MS));
      expect(state['failover-timeout']).toBe(String(FAILOVER_TIMEOUT_MS));
      expect(state.quorum).toBe('2');
      expect((await sim.runScript(s, 'sentinel-probe.sh', ['readiness'])).code).toBe(0);
    }
    for (const pod of data()) {
      expect((await sim.runScript(pod, 'probe.sh', ['liveness'])).code).toBe(0);
      expect((await sim.runScript(pod, 'redis-probe.sh', ['readiness'])).code).toBe(0);
    }
    const get = async (name: string) => ((await sim.call(first, 'CONFIG', 'GET', name)) as string[])[1];
    expect(await get('replica-announce-ip')).toBe(sim.fqdn(first.name));
    expect(await get('min-replicas-to-write')).toBe('1');
    expect(await get('min-replicas-max-lag')).toBe('5');
    // Least privilege: the sentinels' user reads no key, the app user cannot flush.
    expect(String(await sim.callAs(first, 'sentinel', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(String(await sim.callAs(first, 'app', 'FLUSHALL'))).toMatch(/NOPERM/);
    expect(await sim.callAs(first, 'app', 'SET', 'before', 'kept')).toBe('OK');
  });

  it("the exporter sidecar, run as Debian's prometheus-redis-exporter with the manifest env, scrapes as its user", async () => {
    const primary = (await currentPrimary()) as SimPod;
    const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith('-redis'));
    const exporter = sts?.spec.template.spec.containers.find((c: { name: string }) => c.name === 'exporter');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of exporter.env as Array<{
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { key: string } };
    }>) {
      if (e.value !== undefined) env[e.name] = e.value;
      const key = e.valueFrom?.secretKeyRef?.key;
      if (key) env[e.name] = sim.passwords[key] as string;
    }
    // The pod's network namespace is ours: 127.0.0.1 becomes the pod's address, :9121 a free port.
    env.REDIS_ADDR = String(env.REDIS_ADDR).replace('127.0.0.1', primary.ip);
    const metricsPort = port + 2;
    env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS = `${primary.ip}:${metricsPort}`;
    await sim.call(primary, 'ACL', 'LOG', 'RESET');
    const metricsUrl = `http://${primary.ip}:${metricsPort}/metrics`;
    await withExporterScrape({ env, logDir: root, metricsUrl }, async (text) => {
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
  });

  it('preStop on the primary makes another pod primary before it returns', async () => {
    const old = (await currentPrimary()) as SimPod;
    expect(old).toBeDefined();
    // An application on @slotforge/client, connected through the sentinels, writes all along.
    const driver = await sim.startClientDriver(4000);
    const started = Date.now();
    const result = await sim.runScript(old, 'redis-prestop.sh');
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
    await sim.waitConverged(successor as SimPod);
    expect(await sim.role(old)).toBe('slave');
    // On a replica the hook returns at once.
    const onReplica = await sim.runScript(old, 'redis-prestop.sh');
    expect(onReplica.code).toBe(0);
    expect(onReplica.output).not.toMatch(/SENTINEL FAILOVER/);
  });

  it('a killed primary is replaced within downAfterMs + failover time; it returns, with a new IP, as a replica', async () => {
    const old = (await currentPrimary()) as SimPod;
    expect(old).toBeDefined();
    expect(await sim.callAs(old, 'app', 'SET', 'acked', 'yes')).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    const killedAt = Date.now();
    await sim.stop(old, 'kill');
    // A replica whose primary is gone is alive but not ready (its link is down).
    const orphan = data().find((p) => p !== old) as SimPod;
    const readiness = await pollUntil(
      async () => {
        const result = await sim.runScript(orphan, 'redis-probe.sh', ['readiness']);
        return result.code === 0 ? undefined : result;
      },
      { description: 'readiness to fail on a replica without primary', timeoutMs: 3000, intervalMs: 50 },
    );
    expect([readiness.code, readiness.output.trim()]).toEqual([1, "readiness: replica link is 'down'"]);
    expect((await sim.runScript(orphan, 'probe.sh', ['liveness'])).code).toBe(0);
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
    old.ip = address(200);
    sim.writeHosts();
    await sim.start(old);
    expect(sim.log(old)).toMatch(/starting as replica of .*named by the sentinels/);
    await sim.waitConverged(successor);
    expect(await sim.role(old)).toBe('slave');
    expect(await sim.callAs(old, 'app', 'GET', 'after')).toBe('yes');
  });

  it('a primary whose data did not survive a quick restart hands over instead of wiping its replicas', async () => {
    const old = (await currentPrimary()) as SimPod;
    for (let i = 0; i < 50; i++) expect(await sim.callAs(old, 'app', 'SET', `guarded:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    await sim.stop(old, 'kill');
    // Its AOF is gone (a lost volume; with the cache profile, any restart): it comes back at once, long before the
    // sentinels would notice (downAfterMs), so they still name it primary.
    rmSync(join(old.dirs.data, 'appendonlydir'), { recursive: true, force: true });
    const restartedAt = Date.now();
    await sim.start(old);
    console.log(`empty-primary guard: ${old.name} answered as a replica ${Date.now() - restartedAt} ms after restart`);
    expect(sim.log(old)).toMatch(/guard: .* took over; starting as its replica/);
    expect(await sim.role(old)).toBe('slave');
    const successor = (await currentPrimary()) as SimPod;
    expect(successor).not.toBe(old);
    await sim.waitConverged(successor);
    for (const pod of data()) {
      const values = await Promise.all(Array.from({ length: 50 }, (_, i) => sim.call(pod, 'GET', `guarded:${i}`)));
      expect(values, pod.name).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    }
  });

  it('a restarted sentinel keeps its view: same id, epoch and primary, read from its own file', async () => {
    let primary = (await currentPrimary()) as SimPod;
    if (primary.name === `${sim.name}-redis-0`) {
      // The view to keep must differ from what a fresh start would pick (ordinal 0): hand the primary over first.
      expect((await sim.runScript(primary, 'redis-prestop.sh')).code).toBe(0);
      primary = (await currentPrimary()) as SimPod;
      await sim.waitConverged(primary);
    }
    expect(primary.name).not.toBe(`${sim.name}-redis-0`);
    const sentinel = sentinels()[0] as SimPod;
    const before = await sim.masterState(sentinel);
    const myid = await sim.call(sentinel, 'SENTINEL', 'MYID');
    await sim.stop(sentinel, 'term');
    // The other sentinels are away too: nothing but its own file can tell it the primary has moved from ordinal 0.
    for (const s of sentinels().slice(1)) await sim.stop(s, 'term');
    // Its file on the volume holds what it learnt, by DNS name, and no stale password (refreshed at every start).
    const file = readFileSync(join(sentinel.dirs.data, 'sentinel.conf'), 'utf8');
    expect(file).toContain(`sentinel monitor ${sim.masterName} ${sim.fqdn(primary.name)} ${port} 2`);
    for (const r of data().filter((p) => p !== primary)) {
      expect(file).toContain(`sentinel known-replica ${sim.masterName} ${sim.fqdn(r.name)} ${port}`);
    }
    // It returns with a new IP, as a pod recreated elsewhere would.
    sentinel.ip = address(201);
    sim.writeHosts();
    await sim.start(sentinel);
    expect(sim.log(sentinel)).toMatch(/keeping the sentinel state/);
    // The pod-specific and secret lines were replaced, not appended to.
    const rewritten = readFileSync(join(sentinel.dirs.data, 'sentinel.conf'), 'utf8');
    for (const directive of ['bind', 'sentinel announce-ip', 'sentinel auth-pass', 'sentinel auth-user']) {
      expect(
        rewritten.split('\n').filter((l) => l.startsWith(`${directive} `)),
        directive,
      ).toHaveLength(1);
    }
    expect(rewritten).toContain(`bind ${sentinel.ip}`);
    expect(await sim.call(sentinel, 'SENTINEL', 'MYID')).toBe(myid);
    expect(await sim.primaryOf(sentinel)).toBe(sim.fqdn(primary.name));
    expect((await sim.masterState(sentinel))['config-epoch']).toBe(before['config-epoch']);
    await Promise.all(
      sentinels()
        .slice(1)
        .map((s) => sim.start(s)),
    );
    await sim.waitConverged(primary);
  });

  it('minReplicasToWrite 1: a primary whose replicas stop acknowledging refuses writes after minReplicasMaxLagS', async () => {
    const primary = (await currentPrimary()) as SimPod;
    const replicas = data().filter((p) => p !== primary);
    // Frozen replicas keep their connections (like a partition: no reset), they only stop acknowledging.
    for (const r of replicas) r.process?.signal('SIGSTOP');
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
      for (const r of replicas) r.process?.signal('SIGCONT');
    }
    await pollUntil(async () => (await sim.callAs(primary, 'app', 'SET', 'back', 'ok')) === 'OK', {
      description: 'writes to be accepted once the replicas acknowledge again',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
  });
});
