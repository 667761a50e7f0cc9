import type { k8s } from 'cdk8s-plus-27';
import {
  dataPodVolumes,
  execProbe,
  exporterSidecar,
  podAntiAffinity,
  scriptCommand as script,
  scriptContainer,
  spreadConstraint,
} from '../data-pod/index.ts';
import { podSecurityContext } from '../security/index.ts';

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

function podSpec(input: SentinelPodInput, containers: k8s.Container[], grace: number): k8s.PodSpec {
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: grace,
    securityContext: podSecurityContext(),
    affinity: { podAntiAffinity: podAntiAffinity(input.labels, input.antiAffinity) },
    topologySpreadConstraints: [spreadConstraint('topology.kubernetes.io/zone', input.labels)],
    containers,
    volumes: dataPodVolumes(input.configMapName, input.secretName),
  };
}

/**
 * Pod template of a data pod (primary or replica): redis-entrypoint.sh decides the role, probes as the `probe` user,
 * the preStop hook hands the primary over through the sentinels, and the exporter sidecar when metrics are on.
 */
export function dataPodTemplate(input: DataPodInput): k8s.PodTemplateSpec {
  const redis: k8s.Container = {
    ...scriptContainer({
      name: 'redis',
      image: input.image,
      entrypoint: 'redis-entrypoint.sh',
      env: input.env,
      ports: [{ name: 'redis', containerPort: input.port, protocol: 'TCP' }],
      resources: input.resources,
    }),
    // The cluster's liveness check (probe.sh: LOADING, MASTERDOWN and BUSY count as alive) with the same budgets: a
    // long startup budget, so a large AOF load (or the empty-primary guard's hand-over) is never killed.
    startupProbe: execProbe(script('probe.sh', 'liveness'), 5, 5, 120),
    livenessProbe: execProbe(script('probe.sh', 'liveness'), 10, 5, 3),
    readinessProbe: execProbe(script('redis-probe.sh', 'readiness'), 5, 5, 2),
    lifecycle: { preStop: { exec: { command: script('redis-prestop.sh') } } },
  };
  const containers = [redis];
  if (input.exporterImage) {
    containers.push(
      exporterSidecar({ image: input.exporterImage, redisPort: input.port, secretName: input.secretName }),
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
    ...scriptContainer({
      name: 'sentinel',
      image: input.image,
      entrypoint: 'sentinel-entrypoint.sh',
      env: input.env,
      ports: [{ name: 'sentinel', containerPort: input.sentinelPort, protocol: 'TCP' }],
      resources: input.resources,
    }),
    livenessProbe: execProbe(script('sentinel-probe.sh', 'liveness'), 10, 5, 3),
    readinessProbe: execProbe(script('sentinel-probe.sh', 'readiness'), 5, 5, 2),
  };
  return {
    metadata: { labels: input.labels, annotations: input.annotations },
    spec: podSpec(input, [sentinel], 30),
  };
}
