import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type APP_DENIED_COMMANDS, DIRECTIVES, parseRedisConf } from '../../infra/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { withExporterScrape } from './support/exporter.ts';
import { loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { memberConfig, synthCluster } from './support/synth.ts';

// The rendered redis.conf and ACL users, started for real by the entrypoint on one member.
const port = 20_000 + Math.floor(Math.random() * 20_000);
const objects = synthCluster({
  profile: 'cache',
  port,
  resources: { memoryLimit: '512Mi' },
  config: { 'maxmemory-samples': 10, 'lazyfree-lazy-eviction': true, 'slowlog-max-len': 256 },
});
let root: string;
let sim: PodSim;
let pod: SimPod;

beforeAll(async () => {
  root = harnessTempDir('infra-conf');
  sim = new PodSim(root, objects);
  pod = sim.addPod(0, 0, loopbackBlock()(2));
  await sim.start(pod);
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

const errorOf = (reply: unknown) => (reply instanceof Error ? reply.message : String(reply));

/**
 * Directives Redis 8.0 still accepts at start-up (the member above started with them) but no longer has: CONFIG
 * GET returns nothing and CONFIG SET says "Unknown option" (measured on 8.0.2). 8.0's new I/O threads always do
 * reads, so `io-threads-do-reads` has no effect there.
 */
const NO_EFFECT_ON_8_0 = new Set(['io-threads-do-reads']);

describe('rendered redis.conf on a real redis-server', () => {
  it('runs with the rendered values: memory, eviction, persistence, failover settings and user directives', async () => {
    const conf = parseRedisConf(memberConfig(objects)['redis.conf'] as string);
    const get = async (name: string) => ((await sim.call(pod, 'CONFIG', 'GET', name)) as string[])[1];
    expect(await get('maxmemory')).toBe(String(512 * 2 ** 20 - 128 * 2 ** 20));
    expect(await get('maxmemory')).toBe(conf.get('maxmemory'));
    expect(await get('maxmemory-policy')).toBe('allkeys-lru');
    expect(await get('appendonly')).toBe('no');
    expect(await get('save')).toBe('');
    expect(await get('cluster-node-timeout')).toBe('5000');
    expect(await get('cluster-replica-validity-factor')).toBe('0');
    expect(await get('cluster-require-full-coverage')).toBe('no');
    expect(await get('repl-diskless-sync-delay')).toBe('0');
    expect(await get('maxmemory-samples')).toBe('10');
    expect(await get('lazyfree-lazy-eviction')).toBe('yes');
    expect(await get('slowlog-max-len')).toBe('256');
    expect(await get('cluster-announce-hostname')).toBe(sim.fqdn(pod.name));
    expect(await get('client-output-buffer-limit')).toMatch(/(slave|replica) \d+ \d+ 60/);
  });

  it('every directive the construct accepts is known to redis-server 8.0', async () => {
    for (const name of Object.keys(DIRECTIVES)) {
      const reply = (await sim.call(pod, 'CONFIG', 'GET', name)) as string[];
      if (NO_EFFECT_ON_8_0.has(name)) expect(reply, name).toEqual([]);
      else expect(reply[0], name).toBe(name);
    }
  });

  it('the app user reads and writes but cannot run the denied commands', async () => {
    expect(await sim.callAs(pod, 'app', 'PING')).toBe('PONG');
    expect(errorOf(await sim.callAs(pod, 'app', 'CLUSTER', 'SLOTS'))).not.toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'app', 'INFO', 'server'))).toMatch(/redis_version/);
    expect(errorOf(await sim.callAs(pod, 'app', 'SUBSCRIBE', 'x'))).not.toMatch(/NOPERM/);
    const denied = {
      flushall: ['FLUSHALL'],
      flushdb: ['FLUSHDB'],
      keys: ['KEYS', '*'],
      config: ['CONFIG', 'GET', 'maxmemory'],
      debug: ['DEBUG', 'SLEEP', '0'],
      shutdown: ['SHUTDOWN', 'NOSAVE'],
    } satisfies Record<(typeof APP_DENIED_COMMANDS)[number], string[]>;
    for (const command of Object.values(denied)) {
      // ACL DRYRUN asks the ACL alone (DEBUG is also refused by enable-debug-command before the ACL check).
      expect(String(await sim.call(pod, 'ACL', 'DRYRUN', 'app', ...command)), command.join(' ')).toMatch(
        /no permissions/,
      );
      if (command[0] !== 'DEBUG') {
        expect(errorOf(await sim.callAs(pod, 'app', ...command)), command.join(' ')).toMatch(/NOPERM/);
      }
    }
    expect(await sim.call(pod, 'ACL', 'DRYRUN', 'app', 'SET', 'k', 'v')).toBe('OK');
    for (const command of [
      ['ACL', 'LIST'],
      ['CLUSTER', 'RESET'],
      ['CLUSTER', 'FORGET', 'x'],
      ['MONITOR'],
      ['REPLICAOF', 'no', 'one'],
    ]) {
      expect(errorOf(await sim.callAs(pod, 'app', ...command)), command.join(' ')).toMatch(/NOPERM/);
    }
    expect(await sim.callAs(pod, 'app', 'PING')).toBe('PONG');
  });

  it('probe, exporter and replication users can do their job and nothing else', async () => {
    expect(await sim.callAs(pod, 'probe', 'PING')).toBe('PONG');
    expect(errorOf(await sim.callAs(pod, 'probe', 'CLUSTER', 'INFO'))).toMatch(/cluster_state/);
    expect(errorOf(await sim.callAs(pod, 'probe', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'INFO', 'all'))).toMatch(/redis_version/);
    // CONFIG GET would hand out masterauth (the admin user proves it does): the exporter may not run it at all.
    expect(String(await sim.call(pod, 'CONFIG', 'GET', 'masterauth'))).toContain(sim.passwords.replication as string);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'GET', 'masterauth'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'GET', 'maxmemory'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'SET', 'maxmemory', '1'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'replicator', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(await sim.callAs(pod, 'replicator', 'PING')).toBe('PONG');
  });

  it('rejects a wrong password, and the final config holds only password hashes for the users', async () => {
    const wrong = { ...sim.passwords };
    sim.passwords.app = 'not-the-password';
    const reply = errorOf(await sim.callAs(pod, 'app', 'PING'));
    Object.assign(sim.passwords, wrong);
    expect(reply).toMatch(/WRONGPASS|invalid username-password/);
    const final = readFileSync(join(pod.dirs.run, 'redis.conf'), 'utf8');
    for (const key of ['admin', 'app', 'probe', 'exporter']) expect(final).not.toContain(sim.passwords[key] as string);
    expect(final).toMatch(/^user app reset on #[0-9a-f]{64} /m);
  });

  it('the liveness probe passes; readiness fails on a member that is not in a formed cluster', async () => {
    expect((await sim.runScript('probe.sh', { pod, args: ['liveness'] })).code).toBe(0);
    const readiness = await sim.runScript('probe.sh', { pod, args: ['readiness'] });
    expect(readiness.code).toBe(1);
    expect(readiness.output).toContain('a master without slots');
  });

  it("the exporter sidecar, run as Debian's prometheus-redis-exporter with the manifest env, scrapes as its user", async () => {
    const sts = objects.find((o) => o.kind === 'StatefulSet');
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
    // The pod's network namespace is ours: 127.0.0.1 becomes the member's address, :9121 a free port.
    env.REDIS_ADDR = String(env.REDIS_ADDR).replace('127.0.0.1', pod.ip);
    const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
    env.REDIS_EXPORTER_WEB_LISTEN_ADDRESS = `${pod.ip}:${metricsPort}`;
    expect(env.REDIS_USER).toBe('exporter');
    // Earlier tests provoked denials on purpose; only the exporter's own count here.
    await sim.call(pod, 'ACL', 'LOG', 'RESET');
    const metricsUrl = `http://${pod.ip}:${metricsPort}/metrics`;
    await withExporterScrape({ env, logDir: root, metricsUrl }, async (text) => {
      expect(text).toMatch(/^redis_up 1$/m);
      expect(text).toMatch(/^redis_exporter_last_scrape_error\{err=""\} 0$/m);
      // Nothing the exporter asked for was refused by its ACL user.
      const denials = ((await sim.call(pod, 'ACL', 'LOG', 100)) as unknown[][]).filter((entry) =>
        entry.some((field, i) => entry[i - 1] === 'username' && field === 'exporter'),
      );
      expect(denials.map((d) => d[d.indexOf('object') + 1])).toEqual([]);
      expect(text).toMatch(/^redis_memory_max_bytes \d+/m);
      expect(text).toMatch(/^redis_cluster_enabled 1$/m);
    });
  });
});
