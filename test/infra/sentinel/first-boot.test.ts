import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS, synthSentinel } from '../support/index.ts';
import { SentinelViews } from './support/sentinel-views.ts';

// The empty-primary guard on a fresh deployment whose sentinels are up before the data pods (the order the local
// runtime and a kind cluster usually give): the sentinels name ordinal 0 (their own first-start rule), ordinal 0 has
// no data, and the guard used to ask for a failover no replica could win for the whole guard timeout (60 s). The
// chart's manifests on the local runtime: first with no data pod (replicas 0), then applied with its three.
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sentinelPort = port + 1;
const objects = synthSentinel({ port, sentinelPort, resources: { memoryLimit: '256Mi' } });
/**
 * A first boot that starts at once: redis-server answers PING after the sentinel queries (bounded at 3 s each) and
 * its start-up. The guard's timeout is 60 s, so anything near it means the guard still ran.
 */
const FIRST_BOOT_MS = 10_000;
const KEYS = 50;
const sim = new ChartRun('infra-sentinel-first-boot');
const views = new SentinelViews(sim);

const data = () => views.ofKind('redis');
const sentinels = () => views.ofKind('sentinel');

beforeAll(async () => {
  await sim.start(objects, { replicas: { 'rs-redis': 0 } });
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('the empty-primary guard of a RedisSentinel on first boot', () => {
  it('a fresh deployment whose sentinels came up first starts ordinal 0 as primary at once', async () => {
    await pollUntil(() => sentinels().length === 3, { description: 'every sentinel pod', timeoutMs: 30_000 });
    await Promise.all(sentinels().map((s) => sim.waitPing(s)));
    const first = `${sim.name}-redis-0`;
    for (const s of sentinels()) expect(await views.primaryOf(s)).toBe(sim.fqdn(first));
    const started = Date.now();
    await sim.apply(objects);
    await pollUntil(() => data().length === 3, { description: 'every data pod', timeoutMs: 30_000 });
    await Promise.all(data().map((p) => sim.waitPing(p)));
    const upMs = Date.now() - started;
    console.log(`first boot: every data pod answered PING ${upMs} ms after start`);
    expect(sim.log(first)).toMatch(/first boot: .*starting as primary without the hand-over guard/);
    expect(sim.log(first)).not.toMatch(/guard: /);
    expect(upMs).toBeLessThan(FIRST_BOOT_MS);
    await views.waitConverged(first);
    expect(await sim.role(first)).toBe('master');
    for (const pod of data()) expect(existsSync(join(sim.dataDir(pod), 'slotforge-member')), pod).toBe(true);
  });

  it('a primary that returns on a new, empty volume still hands over: the sentinels have seen its replicas', async () => {
    const old = `${sim.name}-redis-0`;
    for (let i = 0; i < KEYS; i++) expect(await sim.callAs(old, 'app', 'SET', `k:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    // Killed, and back on a new node: the whole volume is new, no AOF and no member marker. Only the sentinels'
    // history tells it from a first boot.
    sim.runtime.cordon();
    await sim.runtime.deletePod(old, 0);
    rmSync(sim.dataDir(old), { recursive: true, force: true });
    sim.runtime.uncordon();
    await sim.waitPing(old);
    // The new incarnation's own log: only what this start wrote.
    const log = sim.log(old);
    expect(log).not.toMatch(/first boot/);
    expect(log).toMatch(/guard: .* took over; starting as its replica/);
    expect(await sim.role(old)).toBe('slave');
    for (const pod of data()) {
      const values = await pollUntil(
        async () => {
          const got = await Promise.all(Array.from({ length: KEYS }, (_, i) => sim.call(pod, 'GET', `k:${i}`)));
          return got.every((v) => typeof v === 'string') && got;
        },
        { description: `${pod} to serve every key`, timeoutMs: 15_000 },
      );
      expect(values, pod).toEqual(Array.from({ length: KEYS }, (_, i) => `v${i}`));
    }
  });
});
