import type { Partition } from './partitions.ts';
import type { Pod } from './pod.ts';
import type { NetworkPolicyReport } from './policy-enforcement.ts';
import { type ClusterReport, groupClusters, type RedisStatus } from './redis-status.ts';
import { rootlessDegradations } from './rootless/index.ts';

/** One pod in {@link RuntimeStatus}. */
export interface PodReport {
  readonly name: string;
  readonly namespace: string;
  readonly owner: string;
  readonly ip: string | null;
  readonly phase: string;
  readonly reason: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly role: string | null;
  /** The Redis version the pod's Redis reports (INFO redis_version), null when none answers. */
  readonly redisVersion: string | null;
  readonly ports: ReadonlyArray<{ name?: string; port: number }>;
  readonly netns: string | null;
  readonly containers: ReturnType<Pod['containerStatuses']>;
}

/** What `status --json` prints. */
export interface RuntimeStatus {
  readonly stateDir: string;
  readonly up: true;
  readonly prefix: string;
  readonly subnet: string;
  readonly hostIp: string;
  readonly degraded: readonly string[];
  readonly notReproduced: readonly string[];
  /**
   * Objects admitted (kind served, schema-validated where a schema exists) that nothing in the runtime executes or
   * enforces: a PodDisruptionBudget, a ServiceMonitor when its CRD is installed, ... As `Kind/ns/name`, with how it
   * was validated.
   */
  readonly acceptedNotEnforced: ReadonlyArray<{ readonly object: string; readonly validated: string }>;
  readonly pods: PodReport[];
  readonly jobs: ReadonlyArray<{ name: string; status: string; failures: number }>;
  readonly clusters: ClusterReport[];
  readonly partitions: readonly Partition[];
  readonly networkPolicies: readonly NetworkPolicyReport[];
  /** Cluster DNS: the delay in force and how many names have a change on its way to clients. */
  readonly dns: { readonly delayMs: number; readonly pending: number };
}

/** What the local runtime does not reproduce of Kubernetes, as `status` says it. */
const DEGRADED = [
  'Services have no virtual IP: a Service name resolves to the addresses of its ready endpoints',
  'no resource limits, no pid namespace; containers run chrooted in image file systems built from Debian packages (runtime/images), the kubectl image is built in',
];

/** The parts of {@link RuntimeStatus} that do not come from the pods. */
export type RuntimeFacts = Omit<RuntimeStatus, 'up' | 'degraded' | 'pods' | 'clusters'>;

/**
 * The status of a runtime: per pod its name, IP, phase, readiness, ports, and the role and version its Redis reports;
 * per Redis Cluster its state and slot coverage; and the runtime-wide facts, taken once the Redis servers answered.
 */
export async function collectStatus(
  pods: Pod[],
  redis: RedisStatus,
  facts: () => RuntimeFacts,
): Promise<RuntimeStatus> {
  const views = await redis.views(pods);
  const reports: PodReport[] = pods.map((pod, i) => ({
    name: pod.name,
    namespace: pod.namespace,
    owner: `${pod.owner.kind}/${pod.owner.name}`,
    ip: pod.ip ?? null,
    phase: pod.phase,
    reason: pod.reason,
    ready: pod.ready,
    restarts: pod.restarts,
    role: views[i]?.role ?? null,
    redisVersion: views[i]?.version ?? null,
    ports: pod.ports.map((p) => ({ name: p.name, port: p.containerPort })),
    netns: pod.net?.netns ?? null,
    containers: pod.containerStatuses(),
  }));
  const { stateDir, prefix, subnet, hostIp, notReproduced, acceptedNotEnforced, ...rest } = facts();
  return {
    stateDir,
    up: true,
    prefix,
    subnet,
    hostIp,
    degraded: [...DEGRADED, ...rootlessDegradations()],
    notReproduced,
    acceptedNotEnforced,
    pods: reports,
    jobs: rest.jobs,
    clusters: groupClusters(pods, views),
    partitions: rest.partitions,
    networkPolicies: rest.networkPolicies,
    dns: rest.dns,
  };
}
