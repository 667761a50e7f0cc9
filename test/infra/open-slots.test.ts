import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// Open slots (issue 15 item 4): a slot left MIGRATING/IMPORTING by a reshard cut off mid-way is closed by the
// members' maintenance loop once it has been open longer than SLOTFORGE_OPEN_SLOT_BOUND_S, and no key is lost. The
// chart's manifests on the local runtime, formed by its topology Job.
const run = promisify(execFile);
const SHARDS = 3;
const BOUND_S = 2;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-open-slots');

const members = () => sim.podNames(`${sim.name}-shard-`);

/** The master pod of `shard` and its node id. */
async function master(shard: number): Promise<{ pod: string; id: string }> {
  for (const pod of sim.podNames(`${sim.name}-shard-${shard}-`)) {
    if ((await sim.role(pod)) === 'master') return { pod, id: String(await sim.call(pod, 'CLUSTER', 'MYID')) };
  }
  throw new Error(`shard ${shard} has no master`);
}

/** `redis-cli --cluster check` output against `pod`. */
async function clusterCheck(pod: string): Promise<string> {
  const { stdout } = await run(
    'redis-cli',
    ['--no-auth-warning', '-a', sim.password('admin'), '--cluster', 'check', `${sim.ip(pod)}:${port}`],
    { timeout: 10_000 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  return stdout;
}

/** Polls until the cluster check reports no open slot and no error; returns how long that took. */
async function waitClean(pod: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  await pollUntil(
    async () => {
      last = await clusterCheck(pod);
      return !/\[WARNING\]|\[ERR\]/.test(last) && last.includes('[OK] All 16384 slots covered');
    },
    { description: 'redis-cli --cluster check to be clean', timeoutMs, intervalMs: 500 },
  ).catch((error) => {
    throw new Error(`${(error as Error).message}; last check:\n${last}`);
  });
  return Date.now() - started;
}

beforeAll(async () => {
  const objects = synthCluster({ profile: 'cache', shards: SHARDS, port, nodeTimeoutMs: 2000 });
  await sim.start(objects, {
    env: {
      SLOTFORGE_MEET_INTERVAL_S: '1',
      SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30',
      SLOTFORGE_OPEN_SLOT_BOUND_S: String(BOUND_S),
    },
  });
  await pollUntil(() => members().length === SHARDS * 2, { description: 'every member pod', timeoutMs: 30_000 });
  await sim.waitFormed(SHARDS * 2);
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('open slots close themselves (maintain.sh)', () => {
  it('finishes a move cut off mid-MIGRATE: the owner’s copy wins where a key is on both sides, keys only on the target stay', async () => {
    const a = await master(0);
    const b = await master(1);
    const { tag, slot } = await sim.slotTagOn(a.pod);
    for (let i = 0; i < 20; i++) expect(await sim.call(a.pod, 'SET', `{${tag}}:${i}`, `v${i}`)).toBe('OK');
    // What redis-cli does, then a kill in the middle: both markers, key 0 copied but not yet deleted on the source
    // (then written again there, where clients are sent), key 1 moved.
    expect(await sim.call(b.pod, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', a.id)).toBe('OK');
    expect(await sim.call(a.pod, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', b.id)).toBe('OK');
    const auth = ['AUTH', sim.password('admin')];
    const bIp = sim.ip(b.pod);
    expect(await sim.call(a.pod, 'MIGRATE', bIp, port, `{${tag}}:0`, 0, 5000, 'COPY', ...auth)).toBe('OK');
    expect(await sim.call(a.pod, 'SET', `{${tag}}:0`, 'written-after')).toBe('OK');
    expect(await sim.call(a.pod, 'MIGRATE', bIp, port, `{${tag}}:1`, 0, 5000, ...auth)).toBe('OK');

    const ms = await waitClean(a.pod, 30_000);
    console.log(
      `open slot ${slot} (keys on both sides) closed ${ms} ms after the markers were set (bound ${BOUND_S} s)`,
    );
    expect(sim.log(b.pod) + sim.log(a.pod)).toContain(`open slot ${slot}`);
    // The move finished forward: the slot is b's, with every key, and the source's later write won.
    const owner = (await sim.nodes(a.pod)).find((n) => n.slots.some(([x, y]) => slot >= x && slot <= y));
    expect(owner?.id).toBe(b.id);
    expect(await sim.call(a.pod, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
    expect(await sim.call(b.pod, 'GET', `{${tag}}:0`)).toBe('written-after');
    for (let i = 1; i < 20; i++) expect(await sim.call(b.pod, 'GET', `{${tag}}:${i}`)).toBe(`v${i}`);
  }, 90_000);

  it('a node left MIGRATING a slot another node now owns closes it; where a key is on both sides the owner’s copy wins', async () => {
    const a = await master(2);
    const b = await master(1);
    const { tag, slot } = await sim.slotTagOn(a.pod);
    for (let i = 0; i < 5; i++) expect(await sim.call(a.pod, 'SET', `{${tag}}:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(b.pod, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', a.id)).toBe('OK');
    expect(await sim.call(a.pod, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', b.id)).toBe('OK');
    const auth = ['AUTH', sim.password('admin')];
    const bIp = sim.ip(b.pod);
    // redis-cli sets NODE only once every key moved (Redis itself drops a node's keys of a slot it learns it lost):
    // keys 1-4 moved, key 0 copied by a MIGRATE whose DEL a kill cut off, then written on b, the owner.
    for (let i = 1; i < 5; i++) {
      expect(await sim.call(a.pod, 'MIGRATE', bIp, port, `{${tag}}:${i}`, 0, 5000, ...auth)).toBe('OK');
    }
    expect(await sim.call(a.pod, 'MIGRATE', bIp, port, `{${tag}}:0`, 0, 5000, 'COPY', ...auth)).toBe('OK');
    expect(await sim.call(b.pod, 'CLUSTER', 'SETSLOT', slot, 'NODE', b.id)).toBe('OK');
    await pollUntil(
      async () => (await sim.nodes(a.pod)).find((n) => n.slots.some(([x, y]) => slot >= x && slot <= y))?.id === b.id,
      { description: `${a.pod} to learn that ${b.pod} owns slot ${slot}`, timeoutMs: 10_000 },
    );
    expect(await sim.call(b.pod, 'SET', `{${tag}}:0`, 'owner-wrote')).toBe('OK');

    await waitClean(a.pod, 30_000);
    expect(await sim.call(a.pod, 'CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
    expect(await sim.call(b.pod, 'GET', `{${tag}}:0`)).toBe('owner-wrote');
    for (let i = 1; i < 5; i++) expect(await sim.call(b.pod, 'GET', `{${tag}}:${i}`)).toBe(`v${i}`);
  }, 90_000);
});
