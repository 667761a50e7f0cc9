import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../runtime/process/index.ts';
import { harnessTempDir } from '../../support/harness-root.ts';
import { loopbackBlock } from '../support/pod-sim.ts';
import { SentinelSim, type SentinelSim as Sim, synthSentinel } from './support/sentinel-sim.ts';

// The empty-primary guard on a fresh deployment whose sentinels are up before the data pods (the order the local
// runtime and a kind cluster usually give): the sentinels name ordinal 0 (their own first-start rule), ordinal 0 has
// no data, and the guard used to ask for a failover no replica could win for the whole guard timeout (60 s).
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sentinelPort = port + 1;
const address = loopbackBlock();
/**
 * A first boot that starts at once: redis-server answers PING after the sentinel queries (bounded at 3 s each) and
 * its start-up. The guard's timeout is 60 s, so anything near it means the guard still ran.
 */
const FIRST_BOOT_MS = 10_000;
const KEYS = 50;
let root: string;
let sim: Sim;

const data = () => sim.ofKind('redis');
const sentinels = () => sim.ofKind('sentinel');

beforeAll(async () => {
  root = harnessTempDir('infra-sentinel-first-boot');
  sim = new SentinelSim(root, synthSentinel({ port, sentinelPort, resources: { memoryLimit: '256Mi' } }));
  let host = 2;
  for (let i = 0; i < 3; i++) sim.addPod('redis', i, address(host++));
  for (let i = 0; i < 3; i++) sim.addPod('sentinel', i, address(host++));
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the empty-primary guard of a RedisSentinel on first boot', () => {
  it('a fresh deployment whose sentinels came up first starts ordinal 0 as primary at once', async () => {
    await Promise.all(sentinels().map((s) => sim.start(s)));
    const first = sim.pod(`${sim.name}-redis-0`);
    for (const s of sentinels()) expect(await sim.primaryOf(s)).toBe(sim.fqdn(first.name));
    const started = Date.now();
    await Promise.all(data().map((p) => sim.start(p)));
    const upMs = Date.now() - started;
    console.log(`first boot: every data pod answered PING ${upMs} ms after start`);
    expect(sim.log(first)).toMatch(/first boot: .*starting as primary without the empty-primary guard/);
    expect(sim.log(first)).not.toMatch(/guard: /);
    expect(upMs).toBeLessThan(FIRST_BOOT_MS);
    await sim.waitConverged(first);
    expect(await sim.role(first)).toBe('master');
    for (const pod of data()) expect(existsSync(join(pod.dirs.data, 'slotforge-member')), pod.name).toBe(true);
  });

  it('a primary that returns on a new, empty volume still hands over: the sentinels have seen its replicas', async () => {
    const old = sim.pod(`${sim.name}-redis-0`);
    for (let i = 0; i < KEYS; i++) expect(await sim.callAs(old, 'app', 'SET', `k:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(old, 'WAIT', 2, 2000)).toBe(2);
    await sim.stop(old, 'kill');
    // The whole volume is new: no AOF and no member marker. Only the sentinels' history tells it from a first boot.
    rmSync(old.dirs.data, { recursive: true, force: true });
    const logBefore = sim.log(old).length;
    await sim.start(old);
    // The container log is appended to: only what this start wrote.
    const log = sim.log(old).slice(logBefore);
    expect(log).not.toMatch(/first boot/);
    expect(log).toMatch(/guard: .* took over; starting as its replica/);
    expect(await sim.role(old)).toBe('slave');
    for (const pod of data()) {
      const values = await pollUntil(
        async () => {
          const got = await Promise.all(Array.from({ length: KEYS }, (_, i) => sim.call(pod, 'GET', `k:${i}`)));
          return got.every((v) => typeof v === 'string') && got;
        },
        { description: `${pod.name} to serve every key`, timeoutMs: 15_000 },
      );
      expect(values, pod.name).toEqual(Array.from({ length: KEYS }, (_, i) => `v${i}`));
    }
  });
});
