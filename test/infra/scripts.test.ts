import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './support/chart-runtime.ts';
import { synthCluster } from './support/synth.ts';

// A store-profile cluster of 3 shards x 2 members run from the synthesized manifests on the local runtime: the
// entrypoint, bootstrap, preStop and probe scripts execute for real with sh against real redis-server processes (the
// topology Job is left out: the test runs its scripts itself, with the Job's env).
const SHARDS = 3;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const sim = new ChartRun('infra-scripts');

function members(): string[] {
  return sim.podNames(`${sim.name}-shard-`);
}

/** id, role, master and slots of every node as seen by each member: what "no change" compares. */
async function topology(): Promise<string[]> {
  const views: string[] = [];
  for (const pod of members()) {
    const lines = (await sim.nodes(pod)).map(
      (n) =>
        `${n.id} ${n.flags.filter((f) => f !== 'myself').join(',')} ${n.masterId ?? '-'} ${JSON.stringify(n.slots)}`,
    );
    views.push(lines.sort().join('\n'));
  }
  return views;
}

async function masterWithReplica(): Promise<{ master: string; replica: string }> {
  for (const master of members()) {
    if ((await sim.role(master)) !== 'master') continue;
    const id = String(await sim.call(master, 'CLUSTER', 'MYID'));
    for (const replica of members()) {
      const me = (await sim.nodes(replica)).find((n) => n.flags.includes('myself'));
      if (me?.masterId === id) return { master, replica };
    }
  }
  throw new Error('no master with a replica');
}

beforeAll(async () => {
  const objects = synthCluster({
    shards: SHARDS,
    replicasPerShard: 1,
    port,
    nodeTimeoutMs: 2000,
    resources: { memoryLimit: '256Mi' },
  });
  await sim.start(objects, {
    env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' },
    withoutTopologyJob: true,
  });
  await pollUntil(() => members().length === SHARDS * 2, { description: 'every member pod', timeoutMs: 30_000 });
  await Promise.all(members().map((p) => sim.waitPing(p)));
}, RUNTIME_HOOK_TIMEOUT_MS);

describe('cluster scripts against real redis-server processes', () => {
  it('bootstrap forms the cluster, and a second run changes nothing', async () => {
    const first = await sim.topology('bootstrap.sh');
    expect(first.code, first.output).toBe(0);
    await sim.waitHealthy(SHARDS * 2);
    for (let s = 0; s < SHARDS; s++) {
      expect(await sim.role(`${sim.name}-shard-${s}-0`)).toBe('master');
      expect(await sim.role(`${sim.name}-shard-${s}-1`)).toBe('slave');
    }
    const before = await topology();
    const epochBefore = (await sim.clusterInfo(members()[0] as string)).cluster_current_epoch;
    const second = await sim.topology('bootstrap.sh');
    expect(second.code, second.output).toBe(0);
    expect(second.output).not.toMatch(/meeting|assigning|replicates/);
    expect(await topology()).toEqual(before);
    expect((await sim.clusterInfo(members()[0] as string)).cluster_current_epoch).toBe(epochBefore);
    const scale = await sim.topology('scale.sh');
    expect(scale.code, scale.output).toBe(0);
    expect(await topology()).toEqual(before);
  });

  it('the probes pass on a healthy member and readiness fails while the empty-master guard holds', async () => {
    const pod = members()[0] as string;
    expect((await sim.exec(pod, 'probe.sh', ['liveness'])).code).toBe(0);
    expect((await sim.exec(pod, 'probe.sh', ['readiness'])).code).toBe(0);
    expect((await sim.execArgv(pod, ['touch', '/run/slotforge/guard'])).code).toBe(0);
    const guarded = await sim.exec(pod, 'probe.sh', ['readiness']);
    expect((await sim.execArgv(pod, ['rm', '/run/slotforge/guard'])).code).toBe(0);
    expect(guarded.code).toBe(1);
    expect(guarded.output).toContain('guard');
  });

  it('preStop on a master makes its replica master before it returns', async () => {
    const client = sim.connect(members()[0] as string);
    const { master, replica } = await masterWithReplica();
    client.disconnect();
    const started = Date.now();
    const result = await sim.exec(master, 'prestop.sh');
    const tookMs = Date.now() - started;
    expect(result.code, result.output).toBe(0);
    // Checked right after the hook returned, without polling: the hook must not return before the switch.
    expect(await sim.role(replica)).toBe('master');
    expect(result.output).toMatch(/is master after/);
    console.log(`preStop handed over in ${tookMs} ms`);
    await pollUntil(async () => (await sim.role(master)) === 'slave', {
      description: 'old master to be a replica',
      timeoutMs: 10_000,
    });
    // preStop on a replica does nothing and returns at once.
    const onReplica = await sim.exec(master, 'prestop.sh');
    expect(onReplica.code).toBe(0);
    expect(await sim.role(master)).toBe('slave');
  });

  it('heals a full restart in which every pod returns with a new IP, keeping the data', async () => {
    const { Cluster } = await import('ioredis');
    const seed = members()[0] as string;
    const cluster = new Cluster([{ host: sim.ip(seed), port }], { redisOptions: { password: sim.password('admin') } });
    for (let i = 0; i < 200; i++) await cluster.set(`k${i}`, `v${i}`);
    await cluster.quit();
    const oldIps = members().map((p) => sim.ip(p));
    // Every pod deleted at once, none back before all are gone: each returns with an address none of them had.
    sim.runtime.cordon();
    await Promise.all(members().map((p) => sim.runtime.deletePod(p)));
    sim.runtime.uncordon();
    const started = Date.now();
    await Promise.all(members().map((p) => sim.waitPing(p)));
    await sim.waitHealthy(SHARDS * 2, 45_000);
    console.log(`full restart with new IPs healed in ${Date.now() - started} ms`);
    const newIps = members().map((p) => sim.ip(p));
    for (const ip of newIps) expect(oldIps).not.toContain(ip);
    for (const pod of members()) {
      expect(sim.log(pod)).toMatch(/nodes\.conf: node \w+ \(.+\) moved from/);
      // Every replica restarted too, so none was linked to its master until the stop: no hand-over guard.
      expect(sim.log(pod)).not.toMatch(/guard:/);
      for (const node of await sim.nodes(pod)) expect(newIps).toContain(node.address.split(':')[0]);
    }
    const after = new Cluster([{ host: sim.ip(seed), port }], { redisOptions: { password: sim.password('admin') } });
    const values = await Promise.all(Array.from({ length: 200 }, (_, i) => after.get(`k${i}`)));
    await after.quit();
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
  });
  it('keeps the address a peer moved to while DNS still serves its old one (a lagging DNS cache)', async () => {
    const [moved, restarted] = [members()[0] as string, members()[2] as string];
    const oldIp = sim.ip(moved);
    // DNS lags: the name keeps resolving to the old address (CoreDNS's cache) while the pod answers at the new one.
    sim.runtime.dnsDelayMs = 600_000;
    try {
      await sim.runtime.deletePod(moved);
      await sim.waitPing(moved);
      const fresh = sim.ip(moved);
      expect(fresh).not.toBe(oldIp);
      expect(sim.runtime.lookup(sim.fqdn(moved))).toBe(oldIp);
      const seesMoved = async () =>
        (await sim.nodes(restarted)).some((n) => n.address.split(':')[0] === fresh && !n.flags.includes('fail'));
      await pollUntil(seesMoved, {
        description: `${restarted} to see ${moved} at ${fresh}`,
        timeoutMs: 30_000,
      });
      await sim.waitHealthy(SHARDS * 2, 45_000);
      await sim.restartInPlace(restarted);
      expect(sim.log(restarted)).not.toContain(`moved from '${fresh}' to '${oldIp}'`);
      expect(await seesMoved()).toBe(true);
    } finally {
      sim.runtime.dnsDelayMs = 0;
    }
    await sim.waitHealthy(SHARDS * 2, 45_000);
  });

  it('a master killed and restarted at once hands over to the replica that holds what its AOF lacks', async () => {
    await sim.waitHealthy(SHARDS * 2, 45_000);
    const { master, replica } = await masterWithReplica();
    const tag = await tagServedBy(master);
    // What appendfsync everysec allows: writes acknowledged and replicated that never reached the AOF (Redis postpones
    // the write by up to 2 s while a slow fsync runs). Turning the AOF off here makes the gap certain.
    expect(await sim.call(master, 'CONFIG', 'SET', 'appendonly', 'no')).toBe('OK');
    for (let i = 0; i < 50; i++) expect(await sim.callAs(master, 'app', 'SET', `{${tag}}:${i}`, `v${i}`)).toBe('OK');
    expect(await sim.call(master, 'WAIT', 1, 2000)).toBe(1);
    // A slot half-moved when the kill came: the marker survives in nodes.conf, and the guard carries it over to the
    // replica it promotes (Redis does not replicate markers).
    const open = await openSlotMarker(master);
    const restartedAt = Date.now();
    await sim.restartInPlace(master);
    // While guarded the restarted master acknowledges no write and refuses none for authentication: the
    // application's writes meet NOREPLICAS (a write that did not run: clients retry it), then MOVED once it is a
    // replica.
    const replies: string[] = [];
    await pollUntil(
      async () => {
        const reply = await sim.callAs(master, 'app', 'SET', `{${tag}}:during-guard`, 'x');
        const text = reply instanceof Error ? reply.message : String(reply);
        replies.push(text.split(' ')[0] as string);
        return text.startsWith('MOVED') || undefined;
      },
      { description: `an application write on ${master} to meet MOVED`, timeoutMs: 30_000, intervalMs: 20 },
    );
    expect(replies).not.toContain('OK');
    expect(replies).not.toContain('WRONGPASS');
    console.log(`writes on the guarded master: ${[...new Set(replies)].join(', ')}`);
    expect(sim.log(master)).toMatch(/guard: .*it stopped without handing over and a replica linked to it/);
    await pollUntil(() => /guard: writes accepted again \(min-replicas-to-write 0\): OK/.test(sim.log(master)), {
      description: `${master}'s guard to restore min-replicas-to-write`,
      timeoutMs: 10_000,
    });
    await pollUntil(async () => (await sim.role(master)) === 'slave', {
      description: `${master} to hand over to ${replica}`,
      timeoutMs: 30_000,
    });
    console.log(`hand-over guard: ${master} a replica ${Date.now() - restartedAt} ms after its restart`);
    await sim.waitHealthy(SHARDS * 2, 45_000);
    // The guard sets the marker a few ms after the promotion (the replica's writes are paused until then).
    await pollUntil(
      async () =>
        String(await sim.call(replica, 'CLUSTER', 'NODES'))
          .split('\n')
          .some((l) => l.includes('myself') && l.includes(open.marker)),
      { description: `${replica} to carry ${open.marker}`, timeoutMs: 5000, intervalMs: 50 },
    );
    expect(await sim.call(replica, 'CLUSTER', 'SETSLOT', open.slot, 'STABLE')).toBe('OK');
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => sim.call(replica, 'GET', `{${tag}}:${i}`)));
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
    // The old master, now its replica, copied the same data set.
    const keys = Number(await sim.call(replica, 'DBSIZE'));
    await pollUntil(async () => Number(await sim.call(master, 'DBSIZE')) === keys, {
      description: `${master} to hold the ${keys} keys of ${replica}`,
      timeoutMs: 15_000,
    });
  });
});

/** A hash tag whose slot `master` serves. */
async function tagServedBy(master: string): Promise<string> {
  const me = (await sim.nodes(master)).find((n) => n.flags.includes('myself'));
  for (let i = 0; ; i++) {
    const slot = Number(await sim.call(master, 'CLUSTER', 'KEYSLOT', `t${i}`));
    if (me?.slots.some(([from, to]) => slot >= from && slot <= to)) return `t${i}`;
  }
}

/** Marks the first slot of `master` MIGRATING to another master: the marker as CLUSTER NODES prints it. */
async function openSlotMarker(master: string): Promise<{ slot: number; marker: string }> {
  const nodes = await sim.nodes(master);
  const me = nodes.find((n) => n.flags.includes('myself'));
  const other = nodes.find((n) => n.flags.includes('master') && n.id !== me?.id && n.slots.length > 0);
  const slot = me?.slots[0]?.[0] as number;
  expect(await sim.call(master, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', other?.id as string)).toBe('OK');
  return { slot, marker: `[${slot}->-${other?.id}]` };
}
