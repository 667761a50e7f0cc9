import { k8s } from 'cdk8s-plus-27';
import { exporterContainer } from '../metrics/index.ts';
import { DATA_MOUNT_PATH } from '../persistence.ts';
import { SCRIPTS_MOUNT_PATH } from '../scripts.ts';
import { AUTH_MOUNT_PATH, containerSecurityContext, TLS_MOUNT_PATH } from '../security/index.ts';

/** Where the entrypoint renders the final redis.conf (an in-memory emptyDir: it holds masterauth). */
export const RUN_MOUNT_PATH = '/run/slotforge';

/** `sh <scripts mount>/<name> args...`: how every container and probe runs a script of the ConfigMap. */
export const scriptCommand = (name: string, ...args: string[]): string[] => [
  'sh',
  `${SCRIPTS_MOUNT_PATH}/${name}`,
  ...args,
];

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

/** Volumes of a data pod: the common ones and the in-memory run directory. */
export function dataPodVolumes(configMapName: string, secretName: string, tlsSecretName?: string): k8s.Volume[] {
  return [
    ...commonVolumes(configMapName, secretName, tlsSecretName),
    { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('16Mi') } },
  ];
}

/** Mounts of a data pod's container: the data volume (PVC), the run directory and the common ones. */
export function dataPodMounts(tls: boolean): k8s.VolumeMount[] {
  return [
    { name: 'data', mountPath: DATA_MOUNT_PATH },
    { name: 'run', mountPath: RUN_MOUNT_PATH },
    ...commonMounts(tls),
  ];
}

/** Pods matching `labels` on different nodes: guaranteed (`required`) or tried (`preferred`). */
export function podAntiAffinity(labels: Record<string, string>, mode: 'required' | 'preferred'): k8s.PodAntiAffinity {
  const term: k8s.PodAffinityTerm = { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' };
  return mode === 'required'
    ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
    : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
}

/** Spreads the pods matching `labels` over the values of `topologyKey`, as a preference. */
export const spreadConstraint = (
  topologyKey: string,
  labels: Record<string, string>,
): k8s.TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey,
  whenUnsatisfiable: 'ScheduleAnyway',
  labelSelector: { matchLabels: labels },
});

/** The resolved resources of a data pod's redis container (requests, memory limit, optional CPU limit). */
export function redisResources(res: {
  readonly cpuRequest: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
  readonly cpuLimit?: string;
}): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(res.cpuRequest), memory: k8s.Quantity.fromString(res.memoryRequest) },
    limits: {
      memory: k8s.Quantity.fromString(res.memoryLimit),
      ...(res.cpuLimit ? { cpu: k8s.Quantity.fromString(res.cpuLimit) } : {}),
    },
  };
}

/** Exec probes of the given budgets (seconds), each running `command`. */
export function execProbe(
  command: string[],
  periodSeconds: number,
  timeoutSeconds: number,
  failureThreshold: number,
): k8s.Probe {
  return { exec: { command }, periodSeconds, timeoutSeconds, failureThreshold };
}

/** The exporter sidecar of a data pod, logged in as the `exporter` user; TLS when `tlsServerName` is given. */
export function exporterSidecar(input: {
  readonly image: string;
  readonly redisPort: number;
  readonly secretName: string;
  readonly tlsServerName?: string;
}): k8s.Container {
  return exporterContainer({
    image: input.image,
    redisPort: input.redisPort,
    secretName: input.secretName,
    secretKey: 'exporter',
    // With TLS the exporter speaks TLS too (the server has `port 0`), to the pod's own DNS name.
    ...(input.tlsServerName ? { tlsDir: TLS_MOUNT_PATH, tlsServerName: input.tlsServerName } : {}),
  });
}

/** What a data pod's main container is made of besides its probes and hooks. */
export interface ScriptContainerInput {
  readonly name: string;
  readonly image: string;
  /** Script of the ConfigMap the container runs. */
  readonly entrypoint: string;
  readonly env: Record<string, string | number>;
  readonly ports: k8s.ContainerPort[];
  readonly resources: k8s.ResourceRequirements;
  /** Mount the TLS Secret and tell the scripts where it is. @default false */
  readonly tls?: boolean;
}

/**
 * The main container of a data pod or sentinel: a script of the ConfigMap run by the image's sh, the scripts' env,
 * the restricted security context and the data pod mounts. Callers add probes and the preStop hook.
 */
export function scriptContainer(input: ScriptContainerInput): k8s.Container {
  const tls = input.tls ?? false;
  return {
    name: input.name,
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    command: scriptCommand(input.entrypoint),
    env: scriptEnv(input.env, tls),
    ports: input.ports,
    resources: input.resources,
    securityContext: containerSecurityContext(),
    volumeMounts: dataPodMounts(tls),
  };
}
