import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRuntimeStatus } from '../../../cli/index.ts';
import type { ManifestSet } from '../../../runtime/local/index.ts';
import { CGROUP_ROOT, cgroupLeftovers, limitsOf } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { localRuntimeFixture, manifestSetOf } from '../../support/index.ts';

describe('limitsOf', () => {
  const c = (limits: Record<string, string>) => ({ name: 'c', image: 'x', resources: { limits } });
  it('parses memory and CPU quantities as the API server does', () => {
    expect(limitsOf(c({ memory: '64Mi', cpu: '500m' }), 'pod p')).toEqual({
      memoryBytes: 64 * 2 ** 20,
      cpuMillis: 500,
    });
    expect(limitsOf(c({ memory: '1G', cpu: '2' }), 'pod p')).toEqual({ memoryBytes: 1e9, cpuMillis: 2000 });
    expect(limitsOf({ name: 'c', image: 'x' }, 'pod p')).toEqual({});
  });

  it('rejects a malformed quantity naming the field, the value and the rule', () => {
    expect(() => limitsOf(c({ memory: '64MB' }), "pod p container 'c'")).toThrow(
      "pod p container 'c': resources.limits.memory must be a quantity such as 256Mi or 1G (got '64MB')",
    );
    expect(() => limitsOf(c({ cpu: 'half' }), 'pod p')).toThrow(/resources\.limits\.cpu .*\(got 'half'\)/);
  });
});

const LIMIT = '64Mi';

/** A Deployment whose container allocates `mib` MiB on its first run (restartPolicy Always). */
function hog(mib: number): ManifestSet {
  return manifestSetOf(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lim' } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hog', namespace: 'lim' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'hog' } },
        template: {
          metadata: { labels: { app: 'hog' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            volumes: [{ name: 'scratch', emptyDir: {} }],
            containers: [
              {
                name: 'hog',
                image: 'redis:8.0.2',
                // The shell itself holds the bytes (a command substitution), so the main process is what the OOM
                // killer picks and the container exits. Only the first run allocates (a marker in an emptyDir, which
                // outlives container restarts), so the restarted one keeps running.
                command: [
                  'sh',
                  '-c',
                  `if [ ! -e /scratch/ran ]; then : >/scratch/ran; x=$(head -c ${mib * 1024 * 1024} /dev/zero | tr '\\0' x); fi; exec sleep 3600`,
                ],
                volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
                resources: { limits: { memory: LIMIT, cpu: '500m' } },
              },
            ],
          },
        },
      },
    },
  );
}

describe.runIf(process.getuid?.() === 0 && existsSync(join(CGROUP_ROOT, 'memory', 'memory.limit_in_bytes')))(
  'resources.limits on the local runtime',
  () => {
    const fixture = localRuntimeFixture('limits');

    it('a container over its 64 MiB memory limit is OOM-killed and restarted with OOMKilled (137)', async () => {
      const rt = await fixture.start({ manifests: hog(96), dnsDelayMs: 0, hostDns: false });
      const pod = await pollUntil(
        () => rt.pods().find((p) => p.name.startsWith('hog-') && p.restarts >= 1 && p.ready),
        {
          description: 'the hog container to be OOM-killed and running again',
          timeoutMs: 60_000,
          intervalMs: 100,
        },
      );
      const container = pod.containerStatuses()[0]!;
      expect(container.lastExit).toEqual({ code: 137, signal: 'SIGKILL', reason: 'OOMKilled' });
      const status = await rt.status();
      const reported = status.pods.find((p) => p.name === pod.name)!;
      expect(reported.containers[0]!.lastExit?.reason).toBe('OOMKilled');
      expect(renderRuntimeStatus(status)).toMatch(/\d+ \(last: OOMKilled, 137\)/);
      expect(rt.events(500).some((e) => e.message.includes("container 'hog' exited: OOMKilled"))).toBe(true);
      // The running incarnation has its own cgroup, with the limit and the CFS quota of 500m.
      const cgroups = cgroupLeftovers(rt.prefix);
      const memory = cgroups.find((d) => d.includes('/memory/'))!;
      const cpu = cgroups.find((d) => d.includes('/cpu/'))!;
      expect(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 2 ** 20));
      expect(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('50000');
      expect(readFileSync(join(cpu, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');
      expect(readFileSync(join(memory, 'cgroup.procs'), 'utf8')).toContain(String(pod.containerPid()));
    });
  },
);
