import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { type APP_DENIED_COMMANDS, DIRECTIVES, parseRedisConf } from '../../infra/index.ts';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { memberConfig, synthCluster } from './support/synth.ts';

// The rendered redis.conf and ACL users, started for real by the entrypoint on one member: the chart's manifests on
// the local runtime, with one pod of shard 0 and no topology Job.
const port = 20_000 + Math.floor(Math.random() * 20_000);
const objects = synthCluster({
  profile: 'cache',
  port,
  resources: { memoryLimit: '512Mi' },
  config: { 'maxmemory-samples': 10, 'lazyfree-lazy-eviction': true, 'slowlog-max-len': 256 },
});
const sim = new ChartRun('infra-conf');
const pod = 'rc-shard-0-0';

beforeAll(async () => {
  await sim.start(objects, {
    withoutTopologyJob: true,
    replicas: { 'rc-shard-0': 1, 'rc-shard-1': 0, 'rc-shard-2': 0 },
  });
  await sim.waitPing(pod);
}, RUNTIME_HOOK_TIMEOUT_MS);

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
    expect(await get('cluster-announce-hostname')).toBe(sim.fqdn(pod));
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
    expect(String(await sim.call(pod, 'CONFIG', 'GET', 'masterauth'))).toContain(sim.password('replication'));
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'GET', 'masterauth'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'GET', 'maxmemory'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'exporter', 'CONFIG', 'SET', 'maxmemory', '1'))).toMatch(/NOPERM/);
    expect(errorOf(await sim.callAs(pod, 'replicator', 'GET', 'k'))).toMatch(/NOPERM/);
    expect(await sim.callAs(pod, 'replicator', 'PING')).toBe('PONG');
  });

  it('rejects a wrong password, and the final config holds only password hashes for the users', async () => {
    const client = new Redis({
      host: sim.ip(pod),
      port,
      username: 'app',
      password: 'not-the-password',
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    const reply = errorOf(await client.ping().catch((error: Error) => error));
    client.disconnect();
    expect(reply).toMatch(/WRONGPASS|invalid username-password/);
    const final = (await sim.execArgv(pod, ['cat', '/run/slotforge/redis.conf'])).output;
    for (const key of ['admin', 'app', 'probe', 'exporter']) expect(final).not.toContain(sim.password(key));
    expect(final).toMatch(/^user app reset on #[0-9a-f]{64} /m);
  });

  it('the liveness probe passes; readiness fails on a member that is not in a formed cluster', async () => {
    expect((await sim.exec(pod, 'probe.sh', ['liveness'])).code).toBe(0);
    const readiness = await sim.exec(pod, 'probe.sh', ['readiness']);
    expect(readiness.code).toBe(1);
    expect(readiness.output).toContain('a master without slots');
  });

  it("the exporter sidecar, run as Debian's prometheus-redis-exporter with the manifest env, scrapes as its user", async () => {
    // The pod runs the sidecar from the manifest, in the member's network namespace (REDIS_ADDR 127.0.0.1, :9121).
    const env = sim.pod(pod).containerEnv('exporter') ?? {};
    expect(env.REDIS_USER).toBe('exporter');
    // Earlier tests provoked denials on purpose; only the exporter's own count here.
    await sim.call(pod, 'ACL', 'LOG', 'RESET');
    // redis_exporter scrapes Redis on each request of /metrics: this one comes after the reset.
    const text = await pollUntil(
      async () => {
        const body = await (await fetch(`http://${sim.ip(pod)}:9121/metrics`)).text();
        return body.includes('redis_up') ? body : undefined;
      },
      { description: 'exporter metrics', timeoutMs: 30_000, intervalMs: 200 },
    );
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
