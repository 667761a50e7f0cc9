import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageProgram } from '../../../runtime/images/index.ts';
import type { Job, StatefulSet } from '../../../runtime/local/index.ts';
import {
  addObject,
  CREATED_FILE,
  cleanupLocal,
  cloneManifestSet,
  emptyManifestSet,
  LocalRuntime,
  LocalRuntimeError,
  leftovers,
  loadManifests,
  type ManifestSet,
  REVISION_LABEL,
} from '../../../runtime/local/index.ts';
import { pollUntil, run } from '../../../runtime/process/index.ts';
import { harnessTempDir, NOTHING_LEFT } from '../../support/index.ts';

const fixture = new URL('./fixtures/basic.yaml', import.meta.url).pathname;
const PASSWORD = 's3cret';

function client(ip: string): Redis {
  const c = new Redis({ host: ip, port: 6379, password: PASSWORD, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => {});
  return c;
}

async function withClient<T>(ip: string, use: (c: Redis) => Promise<T>): Promise<T> {
  const c = client(ip);
  try {
    return await use(c);
  } finally {
    c.disconnect();
  }
}

describe.runIf(process.getuid?.() === 0)('local runtime on hand-written manifests', () => {
  let runtime: LocalRuntime;
  let stateDir: string;

  const ready = (name: string, notIp?: string) =>
    pollUntil(
      () => {
        const pod = runtime.pods().find((p) => p.name === name);
        return pod?.ready && pod.ip !== notIp && pod;
      },
      { description: `${name} to be ready${notIp ? ` with an address other than ${notIp}` : ''}`, timeoutMs: 30_000 },
    );

  beforeAll(async () => {
    stateDir = join(harnessTempDir('local'), 'state');
    runtime = await LocalRuntime.start({ stateDir, manifests: loadManifests(fixture), timeScale: 0.1 });
    await ready('kv-0');
    await ready('kv-1');
  });

  afterAll(async () => {
    await runtime?.stop(2000);
    if (stateDir) await cleanupLocal(stateDir);
  });

  it('runs containers with fieldRef, secretKeyRef and configMapKeyRef env, their volumes and their hostname', async () => {
    const kv0 = runtime.pod('kv-0');
    const boots = readFileSync(join(stateDir, 'pvc/demo/data-kv-0/boots'), 'utf8');
    expect(boots).toContain(`kv-0 at ${kv0.ip} says hello; hostname kv-0`);
    // The password came from the Secret volume (requirepass) and the env (the readiness probe uses it).
    await withClient(kv0.ip!, async (c) => expect(await c.ping()).toBe('PONG'));
    expect(kv0.ip).not.toBe(runtime.pod('kv-1').ip);
  });

  it('runs a Job to completion that reaches a pod by its DNS name, and resolves names on the host', async () => {
    await pollUntil(
      async () => (await runtime.status()).jobs.find((j) => j.name === 'demo/seed')?.status === 'Complete',
      {
        description: 'the seed Job to complete',
        timeoutMs: 30_000,
      },
    );
    const job = runtime.pods().find((p) => p.name.startsWith('seed-'))!;
    expect(job.phase).toBe('Succeeded');
    await withClient(runtime.pod('kv-0').ip!, async (c) => expect(await c.get('seeded')).toBe(job.name));
    expect(runtime.lookup('kv-1.kv.demo.svc.cluster.local')).toBe(runtime.pod('kv-1').ip);
    expect((await lookup('kv-0.kv.demo.svc.cluster.local', { family: 4 })).address).toBe(runtime.pod('kv-0').ip);
  });

  it('delete runs preStop, and the StatefulSet brings the pod back with a new IP and the same PVC data', async () => {
    const before = runtime.pod('kv-0');
    const oldIp = before.ip!;
    await withClient(oldIp, (c) => c.set('survives', 'yes'));
    await runtime.deletePod('kv-0');
    expect(existsSync(join(stateDir, 'pvc/demo/data-kv-0/prestop-ran'))).toBe(true);
    const after = await ready('kv-0', oldIp);
    expect(after).not.toBe(before);
    await withClient(after.ip!, async (c) => {
      expect(await c.get('survives')).toBe('yes');
      // Written by the preStop hook while the old incarnation still served.
      expect(await c.get('prestop')).toBe('kv-0');
    });
    expect(readFileSync(join(stateDir, 'pvc/demo/data-kv-0/boots'), 'utf8')).toContain(
      `kv-0 at ${after.ip} says hello`,
    );
  });

  it('kill restarts the containers in place: same pod, same IP, one more restart', async () => {
    const pod = runtime.pod('kv-1');
    const ip = pod.ip;
    const pid = pod.containerPid();
    expect(await runtime.killPod('kv-1')).toBeGreaterThan(0);
    await pollUntil(() => pod.ready && pod.containerPid() !== pid && pod.restarts === 1, {
      description: 'kv-1 restarted in place',
      timeoutMs: 30_000,
    });
    expect(runtime.pod('kv-1')).toBe(pod);
    expect(pod.ip).toBe(ip);
  });

  it('pause stops every process of the pod until resume', async () => {
    const ip = runtime.pod('kv-1').ip!;
    await runtime.pausePod('kv-1');
    const c = new Redis({ host: ip, port: 6379, password: PASSWORD, commandTimeout: 500, maxRetriesPerRequest: 0 });
    c.on('error', () => {});
    try {
      await expect(c.ping()).rejects.toThrow();
      await runtime.resumePod('kv-1');
      await pollUntil(() => c.ping().catch(() => false), {
        description: 'kv-1 to answer after resume',
        timeoutMs: 10_000,
      });
    } finally {
      c.disconnect();
    }
  });

  it('partition drops traffic between the named pods only, and heal restores it', async () => {
    const from = (pod: string, to: string) =>
      run(
        'ip',
        [
          'netns',
          'exec',
          runtime.pod(pod).net!.netns,
          imageProgram('redis-cli'),
          '-h',
          runtime.pod(to).ip!,
          '-a',
          PASSWORD,
          '--no-auth-warning',
          'ping',
        ],
        { timeoutMs: 3000 },
      );
    expect((await from('kv-0', 'kv-1')).stdout.trim()).toBe('PONG');
    await runtime.partition(['kv-0'], ['kv-1']);
    const blocked = await from('kv-0', 'kv-1');
    expect(blocked.stdout.trim()).not.toBe('PONG');
    expect((await from('kv-1', 'kv-0')).stdout.trim()).not.toBe('PONG');
    // The host still reaches both.
    await withClient(runtime.pod('kv-1').ip!, async (c) => expect(await c.ping()).toBe('PONG'));
    await runtime.heal();
    expect((await from('kv-0', 'kv-1')).stdout.trim()).toBe('PONG');
  });

  it('a port-scoped partition cuts only those ports, both ways, and heal restores them', async () => {
    // Nothing listens on 16379: an open path answers at once with a refusal (RST); a dropped one never answers.
    const probe = (pod: string, to: string, port: number) =>
      run(
        'ip',
        [
          'netns',
          'exec',
          runtime.pod(pod).net!.netns,
          imageProgram('redis-cli'),
          '-h',
          runtime.pod(to).ip!,
          '-p',
          String(port),
          '-a',
          PASSWORD,
          '--no-auth-warning',
          'ping',
        ],
        { timeoutMs: 1500 },
      );
    const refused = async (pod: string, to: string) => {
      const result = await probe(pod, to, 16379);
      return !result.timedOut && `${result.stdout}${result.stderr}`.includes('refused');
    };
    expect(await refused('kv-0', 'kv-1')).toBe(true);
    await runtime.partition(['kv-0'], ['kv-1'], { ports: [16379] });
    expect((await runtime.status()).partitions).toEqual([{ a: ['kv-0'], b: ['kv-1'], ports: [16379] }]);
    expect((await probe('kv-0', 'kv-1', 6379)).stdout.trim()).toBe('PONG');
    expect((await probe('kv-1', 'kv-0', 6379)).stdout.trim()).toBe('PONG');
    const cut = await probe('kv-0', 'kv-1', 16379);
    expect(cut.timedOut, `${cut.stdout}${cut.stderr}`).toBe(true);
    expect((await probe('kv-1', 'kv-0', 16379)).timedOut).toBe(true);
    await runtime.heal();
    expect(await refused('kv-0', 'kv-1')).toBe(true);
    expect(await refused('kv-1', 'kv-0')).toBe(true);
    await expect(runtime.partition(['kv-0'], ['kv-1'], { ports: [99999] })).rejects.toThrow(
      'partition: ports must list integers from 1 to 65535 (got 99999)',
    );
  });

  describe('apply', () => {
    /** The fixture, changed by `edit` (objects are plain data: copied before they are changed). */
    const edited = (edit: (set: ManifestSet) => void): ManifestSet => {
      const set = cloneManifestSet(loadManifests(fixture));
      edit(set);
      return set;
    };
    const withReplicas = (set: ManifestSet, replicas: number, env?: { name: string; value: string }) => {
      const sts = structuredClone(set.statefulSets.get('demo/kv')!) as StatefulSet & {
        spec: { replicas: number; template: { spec: { containers: Array<{ env: unknown[] }> } } };
      };
      sts.spec.replicas = replicas;
      if (env) sts.spec.template.spec.containers[0]!.env.push(env);
      set.statefulSets.set('demo/kv', sts);
    };
    const reseed = (set: ManifestSet) => {
      const job = structuredClone(set.jobs.get('demo/seed')!) as Job & { metadata: { name: string } };
      job.metadata.name = 'reseed';
      set.jobs.set('demo/reseed', job);
    };
    const inPod = (pod: string, ...argv: string[]) =>
      run('nsenter', ['-t', String(runtime.pod(pod).containerPid()), '-m', '-r', ...argv]);
    const actions = (result: { changes: Array<{ object: string; action: string }> }) =>
      Object.fromEntries(result.changes.map((c) => [c.object, c.action]));

    it('scales a StatefulSet out, updates mounted ConfigMap files, runs a new Job and leaves a completed one alone', async () => {
      const seedPods = () => runtime.pods().filter((p) => p.name.startsWith('seed-')).length;
      const seedsBefore = seedPods();
      const next = edited((set) => {
        withReplicas(set, 3);
        const scripts = set.configMaps.get('demo/scripts')!;
        set.configMaps.set('demo/scripts', { ...scripts, data: { ...scripts.data, greeting: 'bonjour', extra: 'x' } });
        reseed(set);
      });
      const result = await runtime.apply(next);
      expect(actions(result)).toMatchObject({
        'StatefulSet/demo/kv': 'configured',
        'ConfigMap/demo/scripts': 'configured',
        'Secret/demo/auth': 'unchanged',
        'Job/demo/seed': 'unchanged',
        'Job/demo/reseed': 'created',
      });
      expect(result.changes.find((c) => c.object === 'StatefulSet/demo/kv')?.detail).toBe('replicas 2 -> 3');
      await ready('kv-2');
      // The running pods' ConfigMap volume changed in place (the kubelet's sync), new keys included.
      expect((await inPod('kv-0', 'cat', '/opt/scripts/greeting')).stdout).toBe('bonjour');
      expect((await inPod('kv-1', 'cat', '/opt/scripts/extra')).stdout).toBe('x');
      await pollUntil(
        async () => (await runtime.status()).jobs.find((j) => j.name === 'demo/reseed')?.status === 'Complete',
        { description: 'the reseed Job to complete', timeoutMs: 30_000 },
      );
      expect(seedPods()).toBe(seedsBefore);
    });

    it('scales in from the highest ordinal with preStop, then rolls a changed template one pod at a time', async () => {
      const events: string[] = [];
      const oldRevision = runtime.pod('kv-0').labels[REVISION_LABEL];
      const result = await runtime.apply(
        edited((set) => {
          withReplicas(set, 2, { name: 'ROLLED', value: 'yes' });
          reseed(set);
        }),
      );
      expect(result.changes.find((c) => c.object === 'StatefulSet/demo/kv')?.detail).toBe(
        'replicas 3 -> 2, pod template',
      );
      const rolled = await pollUntil(
        () => {
          const pods = runtime.pods().filter((p) => /^kv-\d$/.test(p.name));
          return (
            pods.length === 2 &&
            pods.every((p) => p.ready && p.labels[REVISION_LABEL] !== oldRevision && !p.terminating) &&
            pods
          );
        },
        { description: 'kv-2 gone and kv-0, kv-1 rolled to the new template', timeoutMs: 60_000 },
      );
      expect(rolled.map((p) => p.containerEnv('redis')?.ROLLED)).toEqual(['yes', 'yes']);
      expect(existsSync(join(stateDir, 'pvc/demo/data-kv-2/prestop-ran'))).toBe(true);
      for (const e of runtime.events(2000)) if (e.object === 'StatefulSet/demo/kv') events.push(e.message);
      const order = ['scale in to 2: deleting kv-2', 'rolling update: deleting kv-1', 'rolling update: deleting kv-0'];
      const at = order.map((m) => events.findIndex((e) => e.startsWith(m)));
      expect(at.every((i) => i >= 0) && at[0]! < at[1]! && at[1]! < at[2]!, events.join('\n')).toBe(true);
    }, 90_000);

    it('keeps objects the manifests no longer list unless asked to prune, and refuses a changed Job', async () => {
      const base = edited((set) => withReplicas(set, 2, { name: 'ROLLED', value: 'yes' }));
      expect(actions(await runtime.apply(base))).toMatchObject({ 'Job/demo/reseed': 'kept' });
      expect((await runtime.status()).jobs.map((j) => j.name)).toContain('demo/reseed');
      const changedJob = edited((set) => {
        const seed = set.jobs.get('demo/seed')!;
        set.jobs.set('demo/seed', { ...seed, spec: { ...seed.spec, backoffLimit: 5 } });
      });
      await expect(runtime.apply(changedJob)).rejects.toThrow(
        'apply: Job demo/seed: spec is immutable and the new manifests change it',
      );
      const pruned = await runtime.apply(base, { prune: true });
      expect(actions(pruned)).toMatchObject({ 'Job/demo/reseed': 'pruned', 'StatefulSet/demo/kv': 'unchanged' });
      await pollUntil(() => !runtime.pods().some((p) => p.name.startsWith('reseed-')), {
        description: "the pruned Job's pod to be gone",
        timeoutMs: 10_000,
      });
      expect((await runtime.status()).jobs.map((j) => j.name)).toEqual(['demo/seed']);
    });
  });

  it('status reports every pod with its IP, readiness, role and ports', async () => {
    const status = await runtime.status();
    const kv0 = status.pods.find((p) => p.name === 'kv-0')!;
    expect(kv0).toMatchObject({ ip: runtime.pod('kv-0').ip, ready: true, role: 'master', phase: 'Running' });
    // The Redis of the redis image, not the host's.
    expect(kv0?.redisVersion).toMatch(/^8\.0\.\d+$/);
    expect(kv0.ports).toEqual([{ name: 'redis', port: 6379 }]);
    expect(status.prefix).toBe(runtime.prefix);
  });

  it('stop leaves no process, namespace, link or hosts entry behind', async () => {
    const netns = runtime.pods().flatMap((p) => (p.net ? [p.net.netns] : []));
    expect(netns.length).toBeGreaterThan(0);
    await runtime.stop(2000);
    expect(await leftovers(stateDir)).toEqual(NOTHING_LEFT);
    const report = await cleanupLocal(stateDir);
    expect(report.namespaces).toEqual([]);
    // The mount points the fixture's pods needed on the host are gone, or (while another runtime runs and could be
    // mounting there) recorded for the last runtime to remove.
    for (const path of ['/opt/scripts', '/opt/slotforge-test']) {
      if (existsSync(path)) expect(readFileSync(CREATED_FILE, 'utf8')).toContain(path);
    }
  });
});

describe('local runtime input checks', () => {
  it('rejects an image it cannot map, naming the image and the table', async () => {
    const set = emptyManifestSet();
    addObject(
      set,
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'web', namespace: 'x' },
        spec: { template: { spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } } },
      } as never,
      'test',
    );
    const error = await LocalRuntime.start({ stateDir: join(harnessTempDir('local'), 's'), manifests: set }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LocalRuntimeError);
    if (process.getuid?.() !== 0) return;
    expect(error).toMatchObject({ code: 'E_IMAGE' });
    expect((error as Error).message).toContain("image 'nginx:1.25'");
    expect((error as Error).message).toContain('IMAGE_TABLE');
    expect((error as Error).message).toContain("container 'nginx'");
  });

  it('rejects a document without a name, naming the file and the document', () => {
    const set = emptyManifestSet();
    expect(() =>
      addObject(set, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as never, 'a.yaml document 3'),
    ).toThrow('a.yaml document 3: ConfigMap has no metadata.name');
  });

  it('rejects a manifests path that does not exist', () => {
    expect(() => loadManifests('/nonexistent/dist')).toThrow("manifests '/nonexistent/dist' do not exist");
  });
});
