import { renameSync, writeFileSync } from 'node:fs';
import type { PodReport } from './status.ts';

/** What discovery needs of a pod (a {@link PodReport} has it). */
export type SdPod = Pick<PodReport, 'name' | 'namespace' | 'ip' | 'phase' | 'ports'>;

/** One target group of Prometheus file-based service discovery (`file_sd_configs`). */
export interface SdTargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The exporter sidecars of the running pods as Prometheus file_sd target groups: one group per pod that runs, has an
 * IP and a container port named `metrics` (the RedisCluster's redis_exporter), labelled as `slotforge monitor`'s
 * static targets were: `node` (the pod) and `redis` (`<pod IP>:<redis port>`), plus `namespace`. This is what a
 * Prometheus on Kubernetes gets from pod discovery; here the supervisor rewrites the file when pods move.
 */
export function exporterTargetGroups(pods: readonly SdPod[]): SdTargetGroup[] {
  const groups: SdTargetGroup[] = [];
  for (const pod of pods) {
    const metrics = pod.ports.find((p) => p.name === 'metrics');
    const redis = pod.ports.find((p) => p.name === 'redis');
    if (!metrics || !redis || !pod.ip || pod.phase !== 'Running') continue;
    groups.push({
      targets: [`${pod.ip}:${metrics.port}`],
      labels: { node: pod.name, redis: `${pod.ip}:${redis.port}`, namespace: pod.namespace },
    });
  }
  return groups.sort((a, b) => (a.labels.node as string).localeCompare(b.labels.node as string));
}

/** Writes `groups` to `file` atomically (a rename), so Prometheus never reads half a file. */
export function writeTargetGroups(file: string, groups: readonly SdTargetGroup[]): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(groups, null, 2)}\n`);
  renameSync(tmp, file);
}
