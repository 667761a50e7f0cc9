import type { k8s } from 'cdk8s-plus-27';
import {
  dataPodVolumes,
  exporterSidecar,
  podAntiAffinity,
  scriptCommand,
  scriptContainer,
  spreadConstraint,
} from '../data-pod/index.ts';
import { memberProbes } from '../probes.ts';
import { podSecurityContext } from '../security/index.ts';

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
  const redis: k8s.Container = {
    ...scriptContainer({
      name: 'redis',
      image: input.image,
      entrypoint: 'entrypoint.sh',
      env: input.env,
      ports: [
        { name: 'redis', containerPort: input.port, protocol: 'TCP' },
        { name: 'bus', containerPort: input.busPort, protocol: 'TCP' },
      ],
      resources: input.resources,
      tls,
    }),
    ...memberProbes(input.redisCliSeconds),
    lifecycle: { preStop: { exec: { command: scriptCommand('prestop.sh') } } },
  };
  const containers = [redis];
  if (input.exporterImage) {
    const { SLOTFORGE_HEADLESS: headless, SLOTFORGE_CLUSTER_DOMAIN: domain } = input.env;
    containers.push(
      exporterSidecar({
        image: input.exporterImage,
        redisPort: input.port,
        secretName: input.secretName,
        ...(tls ? { tlsServerName: `$(POD_NAME).${headless}.$(POD_NAMESPACE).svc.${domain}` } : {}),
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
      affinity: { podAntiAffinity: podAntiAffinity(input.shardLabels, input.antiAffinity) },
      topologySpreadConstraints: [
        spreadConstraint('topology.kubernetes.io/zone', input.memberLabels),
        spreadConstraint('kubernetes.io/hostname', input.memberLabels),
      ],
      containers,
      volumes: dataPodVolumes(input.configMapName, input.secretName, input.tlsSecretName),
    },
  };
}
