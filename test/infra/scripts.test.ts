import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { harnessTempDir } from '../support/harness-root.ts';
import { loopbackBlock, PodSim, type SimPod } from './support/pod-sim.ts';
import { synthCluster } from './support/synth.ts';

// A store-profile cluster of 3 shards x 2 members run from the synthesized manifests: the entrypoint, bootstrap,
// preStop and probe scripts execute for real with sh against real redis-server processes.
const SHARDS = 3;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const address = loopbackBlock();
let root: string;
let sim: PodSim;

function members(): SimPod[] {
  return [...sim.pods.values()];
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

async function masterWithReplica(): Promise<{ master: SimPod; replica: SimPod }> {
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
  root = harnessTempDir('infra-scripts');
  const objects = synthCluster({
    shards: SHARDS,
    replicasPerShard: 1,
    port,
    nodeTimeoutMs: 2000,
    resources: { memoryLimit: '256Mi' },
  });
  sim = new PodSim(root, objects, { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30' });
  let host = 2;
  for (let s = 0; s < SHARDS; s++) for (let m = 0; m < 2; m++) sim.addPod(s, m, address(host++));
  await Promise.all(members().map((p) => sim.start(p)));
});

afterAll(async () => {
  await sim?.stopAll();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('cluster scripts against real redis-server processes', () => {
  it('bootstrap forms the cluster, and a second run changes nothing', async () => {
    const first = await sim.runScript('bootstrap.sh');
    expect(first.code, first.output).toBe(0);
    await sim.waitHealthy(SHARDS * 2);
    for (let s = 0; s < SHARDS; s++) {
      expect(await sim.role(sim.pod(`${sim.name}-shard-${s}-0`))).toBe('master');
      expect(await sim.role(sim.pod(`${sim.name}-shard-${s}-1`))).toBe('slave');
    }
    const before = await topology();
    const epochBefore = (await sim.clusterInfo(members()[0] as SimPod)).cluster_current_epoch;
    const second = await sim.runScript('bootstrap.sh');
    expect(second.code, second.output).toBe(0);
    expect(second.output).not.toMatch(/meeting|assigning|replicates/);
    expect(await topology()).toEqual(before);
    expect((await sim.clusterInfo(members()[0] as SimPod)).cluster_current_epoch).toBe(epochBefore);
    const scale = await sim.runScript('scale.sh');
    expect(scale.code, scale.output).toBe(0);
    expect(await topology()).toEqual(before);
  });

  it('the probes pass on a healthy member and readiness fails while the empty-master guard holds', async () => {
    const pod = members()[0] as SimPod;
    expect((await sim.runScript('probe.sh', { pod, args: ['liveness'] })).code).toBe(0);
    expect((await sim.runScript('probe.sh', { pod, args: ['readiness'] })).code).toBe(0);
    const { writeFileSync, rmSync: rm } = await import('node:fs');
    writeFileSync(`${pod.dirs.run}/guard`, '');
    const guarded = await sim.runScript('probe.sh', { pod, args: ['readiness'] });
    rm(`${pod.dirs.run}/guard`);
    expect(guarded.code).toBe(1);
    expect(guarded.output).toContain('guard');
  });

  it('preStop on a master makes its replica master before it returns', async () => {
    const client = sim.ref(members()[0] as SimPod).connect();
    const { master, replica } = await masterWithReplica();
    client.disconnect();
    const started = Date.now();
    const result = await sim.runScript('prestop.sh', { pod: master });
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
    const onReplica = await sim.runScript('prestop.sh', { pod: master });
    expect(onReplica.code).toBe(0);
    expect(await sim.role(master)).toBe('slave');
  });

  it('heals a full restart in which every pod returns with a new IP, keeping the data', async () => {
    const seed = members()[0] as SimPod;
    const { Cluster } = await import('ioredis');
    const cluster = new Cluster([{ host: seed.ip, port }], { redisOptions: { password: sim.passwords.admin } });
    for (let i = 0; i < 200; i++) await cluster.set(`k${i}`, `v${i}`);
    await cluster.quit();
    await Promise.all(members().map((p) => sim.stop(p, 'term')));
    // Every pod gets an address none of them had.
    let host = 100;
    for (const pod of members()) pod.ip = address(host++);
    sim.writeHosts();
    const started = Date.now();
    await Promise.all(members().map((p) => sim.start(p)));
    await sim.waitHealthy(SHARDS * 2, 45_000);
    console.log(`full restart with new IPs healed in ${Date.now() - started} ms`);
    for (const pod of members()) {
      expect(sim.log(pod)).toMatch(/nodes\.conf: node \w+ \(.+\) moved from/);
      for (const node of await sim.nodes(pod)) expect(node.address.split(':')[0]).toMatch(/\.(1\d\d)$/);
    }
    const after = new Cluster([{ host: seed.ip, port }], { redisOptions: { password: sim.passwords.admin } });
    const values = await Promise.all(Array.from({ length: 200 }, (_, i) => after.get(`k${i}`)));
    await after.quit();
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`));
  });
  it('keeps the address a peer moved to while DNS still serves its old one (a lagging DNS cache)', async () => {
    const [moved, restarted] = [members()[0] as SimPod, members()[2] as SimPod];
    const oldIp = moved.ip;
    await sim.stop(moved);
    moved.ip = address(150);
    sim.writeHosts();
    await sim.start(moved);
    const seesMoved = async () =>
      (await sim.nodes(restarted)).some((n) => n.address.split(':')[0] === moved.ip && !n.flags.includes('fail'));
    await pollUntil(seesMoved, {
      description: `${restarted.name} to see ${moved.name} at ${moved.ip}`,
      timeoutMs: 30_000,
    });
    await sim.waitHealthy(SHARDS * 2, 45_000);
    // DNS lags: the name still resolves to the old address (CoreDNS's cache), while the pod answers at the new one.
    const fresh = moved.ip;
    moved.ip = oldIp;
    sim.writeHosts();
    moved.ip = fresh;
    try {
      await sim.stop(restarted);
      await sim.start(restarted);
      expect(sim.log(restarted)).not.toContain(`moved from '${fresh}' to '${oldIp}'`);
      expect(await seesMoved()).toBe(true);
    } finally {
      sim.writeHosts();
    }
    await sim.waitHealthy(SHARDS * 2, 45_000);
  });
});
