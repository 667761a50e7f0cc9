import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtImage } from '../../../runtime/images/index.ts';
import type { Container, PodSpec } from '../../../runtime/local/index.ts';
import { addObject, emptyManifestSet, LocalRuntime, type ManifestSet } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir } from '../../support/index.ts';

const REDIS = 'redis:8.0.2';
const EXPORTER = 'oliver006/redis_exporter:v1.69.0';

/** A one-replica Deployment running `containers` (and the pod-level fields of `spec`). */
function deployment(set: ManifestSet, name: string, containers: Container[], spec: Partial<PodSpec> = {}): void {
  addObject(
    set,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'img' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { ...spec, containers } },
      },
    } as never,
    'test',
  );
}

const shell = (name: string, image: string, script: string, extra: Partial<Container> = {}): Container => ({
  name,
  image,
  command: ['sh', '-c', script],
  ...extra,
});

describe.runIf(process.getuid?.() === 0)('containers run chrooted in their image', () => {
  let runtime: LocalRuntime;
  let stateDir: string;

  /** Everything a pod's containers wrote to their logs, all restarts included. */
  const logsOf = (pod: string) => {
    const dir = join(stateDir, 'logs');
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${pod}-`))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
  };
  const podOf = (prefix: string) => runtime.pods().find((p) => p.name.startsWith(`${prefix}-`))!;

  beforeAll(async () => {
    stateDir = join(harnessTempDir('images'), 'state');
    const set = emptyManifestSet();
    // A script of the redis image that calls a program the image does not have (curl), as a readiness check would.
    deployment(set, 'curler', [shell('main', REDIS, 'echo starting; curl -fsS http://example.invalid/ready; exit 1')]);
    // The image's own configuration: no command, so ENTRYPOINT docker-entrypoint.sh + CMD redis-server, started as
    // the image's root and dropped to redis (999) by the entrypoint, in WORKDIR /data.
    // Beside it the exporter with its image's ENTRYPOINT /redis_exporter and USER 59000.
    deployment(set, 'plain', [
      { name: 'redis', image: REDIS, args: ['--port', '6379', '--save', ''] },
      {
        name: 'exporter',
        image: EXPORTER,
        env: [
          { name: 'REDIS_ADDR', value: 'redis://127.0.0.1:6379' },
          { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: ':9121' },
        ],
        ports: [{ name: 'metrics', containerPort: 9121 }],
      },
    ]);
    // The manifest's securityContext over the image's user, a read-only root, fsGroup on an emptyDir, and an exec
    // readiness probe that only passes inside the image (this host is not Debian trixie).
    deployment(
      set,
      'secure',
      [
        shell('main', REDIS, 'id; pwd; touch /probe-root 2>&1; touch /scratch/ok && ls -ln /scratch; sleep 600', {
          securityContext: { runAsUser: 1234, runAsGroup: 2345, runAsNonRoot: true, readOnlyRootFilesystem: true },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
          readinessProbe: {
            exec: { command: ['sh', '-c', 'grep -q trixie /etc/os-release && test "$(id -u)" = 1234'] },
            periodSeconds: 1,
          },
        }),
      ],
      { securityContext: { fsGroup: 3456 }, volumes: [{ name: 'scratch', emptyDir: {} }] },
    );
    // The exporter image has no shell at all.
    deployment(set, 'noshell', [shell('main', EXPORTER, 'echo hi')]);
    runtime = await LocalRuntime.start({ stateDir, manifests: set, timeScale: 0.05 });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await cleanUpAndExpectNothingLeft(stateDir);
  });

  it('a script calling a program its image lacks (curl) crash-loops with "not found", in status and logs', async () => {
    const restarted = await pollUntil(
      () => {
        const c = podOf('curler')?.containerStatuses()[0];
        return c && c.restartCount >= 2 && c;
      },
      { description: 'the curl container to restart twice', timeoutMs: 30_000 },
    );
    expect(restarted.lastExit?.code).toBe(1);
    const logs = logsOf(podOf('curler').name);
    expect(logs).toContain('starting');
    expect(logs).toMatch(/sh: \d+: curl: not found/);
    const status = (await runtime.status()).pods.find((p) => p.name.startsWith('curler-'))!;
    expect(status.restarts).toBeGreaterThanOrEqual(2);
    expect(status.containers[0]?.lastExit).toEqual({ code: 1, signal: null });
  });

  it('a command the image does not have fails to start, as the container runtime fails it', async () => {
    await pollUntil(() => (podOf('noshell')?.containerStatuses()[0]?.restartCount ?? 0) >= 1, {
      description: 'the shell-less container to restart',
      timeoutMs: 30_000,
    });
    expect(podOf('noshell').containerStatuses()[0]?.lastExit?.code).toBe(128);
    expect(logsOf(podOf('noshell').name)).toContain('exec: "sh": executable file not found in $PATH');
    // Nothing but the exporter, its loader and libc, and CA certificates.
    const root = builtImage('redis-exporter').rootfs;
    expect(readdirSync(root).sort()).toEqual(['etc', 'lib', 'lib64', 'redis_exporter', 'usr']);
  });

  it("runs the image's ENTRYPOINT and CMD as its user in its WORKDIR when the manifest sets no command", async () => {
    const pod = await pollUntil(() => podOf('plain')?.ready && podOf('plain'), {
      description: 'the plain redis pod to be ready',
      timeoutMs: 30_000,
    });
    const client = new Redis({ host: pod.ip, port: 6379, maxRetriesPerRequest: 1, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await pollUntil(async () => (await client.ping().catch(() => '')) === 'PONG', {
        description: `redis in the plain pod to answer (its log: ${logsOf(pod.name).slice(-500)})`,
        timeoutMs: 15_000,
      });
      expect(await client.call('CONFIG', 'GET', 'dir')).toEqual(['dir', '/data']);
      expect(String(await client.info('server'))).toMatch(/redis_version:8\.0\.\d+/);
    } finally {
      client.disconnect();
    }
    const status = readFileSync(`/proc/${pod.containerPid('redis')}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+999\s+999\s+999\s+999$/m);
    expect(status).toMatch(/^Gid:\s+999\s+999\s+999\s+999$/m);
    // The exporter, chrooted in its scratch-like image, scrapes the Redis beside it.
    const metrics = await pollUntil(
      async () => {
        const text = await fetch(`http://${pod.ip}:9121/metrics`)
          .then((res) => res.text())
          .catch(() => '');
        return /^redis_up 1$/m.test(text) && text;
      },
      { description: 'the exporter to report redis_up 1', timeoutMs: 20_000 },
    );
    expect(metrics).toMatch(/^redis_instance_info\{.*redis_version="8\.0\.\d+".*\} 1$/m);
    expect(readFileSync(`/proc/${pod.containerPid('exporter')}/status`, 'utf8')).toMatch(/^Uid:\s+59000\s/m);
  });

  it('honours runAsUser, runAsGroup, fsGroup and readOnlyRootFilesystem; exec probes run inside the image', async () => {
    const pod = await pollUntil(() => podOf('secure')?.ready && podOf('secure'), {
      description: 'the secure pod to be ready (its probe passes only inside the image, as uid 1234)',
      timeoutMs: 30_000,
    });
    const logs = await pollUntil(() => /ok/.test(logsOf(pod.name)) && logsOf(pod.name), {
      description: 'the secure container to report',
      timeoutMs: 10_000,
    });
    expect(logs).toContain('uid=1234 gid=2345 groups=2345,3456');
    // The image's WORKDIR also under a manifest command.
    expect(logs).toMatch(/^\/data$/m);
    expect(logs).toContain("touch: cannot touch '/probe-root': Read-only file system");
    expect(logs).toMatch(/-rw-r--r-- 1 1234 3456 0 .* ok/);
  });
});
