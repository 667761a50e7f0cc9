import { k8s } from 'cdk8s-plus-27';
import { exporterContainer } from '../metrics/exporter.ts';
import { DATA_MOUNT_PATH } from '../persistence.ts';
import { memberProbes } from '../probes.ts';
import { SCRIPTS_MOUNT_PATH } from '../scripts.ts';
import { AUTH_MOUNT_PATH } from '../security/auth.ts';
import { containerSecurityContext, podSecurityContext } from '../security/security-context.ts';
import { TLS_MOUNT_PATH } from '../security/tls.ts';

/** Where the entrypoint renders the final redis.conf (an in-memory emptyDir: it holds masterauth). */
export const RUN_MOUNT_PATH = '/run/slotforge';

/** Env every script of a pod reads: identity from the downward API, paths and topology from the construct. */
export function scriptEnv(values: Record<string, string | number>, tls = false): k8s.EnvVar[] {
  const field = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [
    field('POD_IP', 'status.podIP'),
    field('POD_NAME', 'metadata.name'),
    field('POD_NAMESPACE', 'metadata.namespace'),
    { name: 'SLOTFORGE_CONFIG_DIR', value: SCRIPTS_MOUNT_PATH },
    { name: 'SLOTFORGE_AUTH_DIR', value: AUTH_MOUNT_PATH },
    { name: 'SLOTFORGE_DATA_DIR', value: DATA_MOUNT_PATH },
    { name: 'SLOTFORGE_RUN_DIR', value: RUN_MOUNT_PATH },
    // redis-cli keeps no history in a container, but HOME must point at something writable.
    { name: 'HOME', value: '/tmp' },
    ...(tls ? [{ name: 'SLOTFORGE_TLS_DIR', value: TLS_MOUNT_PATH }] : []),
    ...Object.entries(values).map(([name, value]) => ({ name, value: String(value) })),
  ];
}

/** Volumes shared by members and Jobs: scripts, auth files, a writable /tmp, and the TLS Secret when there is one. */
export function commonVolumes(configMapName: string, secretName: string, tlsSecretName?: string): k8s.Volume[] {
  return [
    { name: 'scripts', configMap: { name: configMapName, defaultMode: 0o444 } },
    { name: 'auth', secret: { secretName, defaultMode: 0o440 } },
    { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
    ...(tlsSecretName ? [{ name: 'tls', secret: { secretName: tlsSecretName, defaultMode: 0o440 } }] : []),
  ];
}

export function commonMounts(tls: boolean): k8s.VolumeMount[] {
  return [
    { name: 'scripts', mountPath: SCRIPTS_MOUNT_PATH, readOnly: true },
    { name: 'auth', mountPath: AUTH_MOUNT_PATH, readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
    ...(tls ? [{ name: 'tls', mountPath: TLS_MOUNT_PATH, readOnly: true }] : []),
  ];
}

export interface MemberPodInput {
  readonly image: string;
  readonly exporterImage?: string;
  readonly port: number;
  readonly busPort: number;
  readonly env: Record<string, string | number>;
  readonly configMapName: string;
  readonly secretName: string;
  /** Secret with tls.crt, tls.key, ca.crt; TLS is off when absent. */
  readonly tlsSecretName?: string;
  readonly resources: k8s.ResourceRequirements;
  /** Bound of the scripts' redis-cli calls (also sets the probes' timeoutSeconds). */
  readonly redisCliSeconds: number;
  readonly terminationGracePeriodSeconds: number;
  readonly antiAffinity: 'required' | 'preferred';
  /** Labels of this shard's members (anti-affinity between them). */
  readonly shardLabels: Record<string, string>;
  /** Labels of every member of the cluster (topology spread). */
  readonly memberLabels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

/**
 * Pod template of a cluster member: the redis container runs entrypoint.sh from the scripts ConfigMap (POSIX sh,
 * tools by name), with a read-only root filesystem; everything it writes goes to /data (PVC), /run/slotforge and /tmp.
 */
export function memberPodTemplate(input: MemberPodInput): k8s.PodTemplateSpec {
  const tls = input.tlsSecretName !== undefined;
  const term: k8s.PodAffinityTerm = {
    labelSelector: { matchLabels: input.shardLabels },
    topologyKey: 'kubernetes.io/hostname',
  };
  const podAntiAffinity: k8s.PodAntiAffinity =
    input.antiAffinity === 'required'
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  const spread = (topologyKey: string): k8s.TopologySpreadConstraint => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: input.memberLabels },
  });
  const redis: k8s.Container = {
    name: 'redis',
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', `${SCRIPTS_MOUNT_PATH}/entrypoint.sh`],
    env: scriptEnv(input.env, tls),
    ports: [
      { name: 'redis', containerPort: input.port, protocol: 'TCP' },
      { name: 'bus', containerPort: input.busPort, protocol: 'TCP' },
    ],
    resources: input.resources,
    ...memberProbes(input.redisCliSeconds),
    lifecycle: { preStop: { exec: { command: ['sh', `${SCRIPTS_MOUNT_PATH}/prestop.sh`] } } },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: 'data', mountPath: DATA_MOUNT_PATH },
      { name: 'run', mountPath: RUN_MOUNT_PATH },
      ...commonMounts(tls),
    ],
  };
  const containers = [redis];
  if (input.exporterImage) {
    containers.push(
      exporterContainer({
        image: input.exporterImage,
        redisPort: input.port,
        secretName: input.secretName,
        secretKey: 'exporter',
        // With TLS the exporter speaks TLS too (the server has `port 0`), to the pod's own DNS name.
        ...(tls
          ? {
              tlsDir: TLS_MOUNT_PATH,
              tlsServerName: `$(POD_NAME).${input.env.SLOTFORGE_HEADLESS}.$(POD_NAMESPACE).svc.${input.env.SLOTFORGE_CLUSTER_DOMAIN}`,
            }
          : {}),
      }),
    );
  }
  return {
    metadata: { labels: input.shardLabels, annotations: input.annotations },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: input.terminationGracePeriodSeconds,
      securityContext: podSecurityContext(),
      affinity: { podAntiAffinity },
      topologySpreadConstraints: [spread('topology.kubernetes.io/zone'), spread('kubernetes.io/hostname')],
      containers,
      volumes: [
        ...commonVolumes(input.configMapName, input.secretName, input.tlsSecretName),
        { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
      ],
    },
  };
}
