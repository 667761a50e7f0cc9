import { k8s } from 'cdk8s-plus-27';
import { commonMounts, commonVolumes, RUN_MOUNT_PATH, scriptEnv } from '../cluster/member-pod.ts';
import { exporterContainer } from '../metrics/exporter.ts';
import { DATA_MOUNT_PATH } from '../persistence.ts';
import { SCRIPTS_MOUNT_PATH } from '../scripts.ts';
import { containerSecurityContext, podSecurityContext } from '../security/security-context.ts';

/** What both pod templates of a RedisSentinel share. */
export interface SentinelPodInput {
  readonly image: string;
  readonly env: Record<string, string | number>;
  readonly configMapName: string;
  readonly secretName: string;
  readonly resources: k8s.ResourceRequirements;
  readonly antiAffinity: 'required' | 'preferred';
  /** Labels of the pods of this StatefulSet (anti-affinity between them). */
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export interface DataPodInput extends SentinelPodInput {
  readonly port: number;
  readonly exporterImage?: string;
  readonly terminationGracePeriodSeconds: number;
}

export interface SentinelPodSpecInput extends SentinelPodInput {
  readonly sentinelPort: number;
}

const script = (name: string, ...args: string[]) => ['sh', `${SCRIPTS_MOUNT_PATH}/${name}`, ...args];

function podSpec(input: SentinelPodInput, containers: k8s.Container[], grace: number): k8s.PodSpec {
  const term: k8s.PodAffinityTerm = {
    labelSelector: { matchLabels: input.labels },
    topologyKey: 'kubernetes.io/hostname',
  };
  const podAntiAffinity: k8s.PodAntiAffinity =
    input.antiAffinity === 'required'
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: grace,
    securityContext: podSecurityContext(),
    affinity: { podAntiAffinity },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: input.labels },
      },
    ],
    containers,
    volumes: [
      ...commonVolumes(input.configMapName, input.secretName),
      { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
    ],
  };
}

const mounts = (): k8s.VolumeMount[] => [
  { name: 'data', mountPath: DATA_MOUNT_PATH },
  { name: 'run', mountPath: RUN_MOUNT_PATH },
  ...commonMounts(false),
];

/**
 * Pod template of a data pod (primary or replica): redis-entrypoint.sh decides the role, probes as the `probe` user,
 * the preStop hook hands the primary over through the sentinels, and the exporter sidecar when metrics are on.
 */
export function dataPodTemplate(input: DataPodInput): k8s.PodTemplateSpec {
  const redis: k8s.Container = {
    name: 'redis',
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    command: script('redis-entrypoint.sh'),
    env: scriptEnv(input.env),
    ports: [{ name: 'redis', containerPort: input.port, protocol: 'TCP' }],
    resources: input.resources,
    // The cluster's liveness check (probe.sh: LOADING, MASTERDOWN and BUSY count as alive) with the same budgets: a
    // long startup budget, so a large AOF load (or the empty-primary guard's hand-over) is never killed.
    startupProbe: {
      exec: { command: script('probe.sh', 'liveness') },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 120,
    },
    livenessProbe: {
      exec: { command: script('probe.sh', 'liveness') },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    readinessProbe: {
      exec: { command: script('redis-probe.sh', 'readiness') },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 2,
    },
    lifecycle: { preStop: { exec: { command: script('redis-prestop.sh') } } },
    securityContext: containerSecurityContext(),
    volumeMounts: mounts(),
  };
  const containers = [redis];
  if (input.exporterImage) {
    containers.push(
      exporterContainer({
        image: input.exporterImage,
        redisPort: input.port,
        secretName: input.secretName,
        secretKey: 'exporter',
      }),
    );
  }
  return {
    metadata: { labels: input.labels, annotations: input.annotations },
    spec: podSpec(input, containers, input.terminationGracePeriodSeconds),
  };
}

/** Pod template of a sentinel: sentinel-entrypoint.sh keeps Sentinel's own config file on the pod's volume. */
export function sentinelPodTemplate(input: SentinelPodSpecInput): k8s.PodTemplateSpec {
  const sentinel: k8s.Container = {
    name: 'sentinel',
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    command: script('sentinel-entrypoint.sh'),
    env: scriptEnv(input.env),
    ports: [{ name: 'sentinel', containerPort: input.sentinelPort, protocol: 'TCP' }],
    resources: input.resources,
    livenessProbe: {
      exec: { command: script('sentinel-probe.sh', 'liveness') },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    readinessProbe: {
      exec: { command: script('sentinel-probe.sh', 'readiness') },
      periodSeconds: 5,
      timeoutSeconds: 5,
      failureThreshold: 2,
    },
    securityContext: containerSecurityContext(),
    volumeMounts: mounts(),
  };
  return {
    metadata: { labels: input.labels, annotations: input.annotations },
    spec: podSpec(input, [sentinel], 30),
  };
}
