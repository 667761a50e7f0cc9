import { type ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { onePodBudget, redisResources } from '../data-pod/index.ts';
import { check, NAME_PATTERN } from '../errors.ts';
import { EXPORTER_PORT } from '../metrics/index.ts';
import { dataClaimTemplate } from '../persistence.ts';
import {
  certificate,
  type NetworkPolicyOptions,
  redisNetworkPolicy,
  resolveNetworkPolicyOptions,
  type TlsOptions,
} from '../security/index.ts';
import type { ResolvedClusterProps } from './cluster-props.ts';
import { memberPodTemplate } from './member-pod.ts';
import { topologyJob } from './topology-job.ts';

/** Labels of a RedisCluster's objects and of its members. @internal */
export interface ClusterLabels {
  readonly labels: Record<string, string>;
  readonly memberLabels: Record<string, string>;
}

/**
 * The TLS Secret the members mount: the one named by `tls.secretName`, or `<name>-tls` of a cert-manager Certificate
 * for the headless wildcard and the client Service. @internal
 */
export function clusterTls(
  scope: Construct,
  r: ResolvedClusterProps,
  labels: Record<string, string>,
  headlessName: string,
  tls: TlsOptions | undefined,
): { readonly tlsSecretName?: string; readonly certificate?: ApiObject } {
  const { name, owner, clusterDomain } = r;
  if (tls && 'secretName' in tls) {
    check(NAME_PATTERN.test(tls.secretName), owner, 'tls.secretName', 'must be a Secret name', tls.secretName);
    return { tlsSecretName: tls.secretName };
  }
  if (tls && 'issuer' in tls) {
    const namespace = Chart.of(scope).namespace ?? 'default';
    const secretName = `${name}-tls`;
    const cert = certificate(scope, 'Certificate', {
      name: secretName,
      labels,
      secretName,
      issuer: tls.issuer,
      dnsNames: [
        `*.${headlessName}.${namespace}.svc.${clusterDomain}`,
        `${name}.${namespace}.svc.${clusterDomain}`,
        `*.${headlessName}`,
        name,
      ],
    });
    return { tlsSecretName: secretName, certificate: cert };
  }
  if (tls !== undefined) check(false, owner, 'tls', 'must be { secretName } or { issuer: { name, kind } }', tls);
  return {};
}

/**
 * The headless Service (members resolve each other, publishing not-ready addresses) and the client Service (ready
 * members only, and the exporter's `metrics` port). @internal
 */
export function clusterServices(scope: Construct, r: ResolvedClusterProps, l: ClusterLabels, headlessName: string) {
  const headlessService = new k8s.KubeService(scope, 'Headless', {
    metadata: { name: headlessName, labels: l.labels },
    spec: {
      clusterIp: 'None',
      // Members resolve each other (nodes.conf repair, bootstrap) before any of them is ready.
      publishNotReadyAddresses: true,
      selector: l.memberLabels,
      ports: [
        { name: 'redis', port: r.port, targetPort: k8s.IntOrString.fromString('redis') },
        { name: 'bus', port: r.busPort, targetPort: k8s.IntOrString.fromString('bus') },
      ],
    },
  });
  const service = new k8s.KubeService(scope, 'Resource', {
    metadata: { name: r.name, labels: { ...l.labels, 'slotforge.io/service': 'client' } },
    spec: {
      selector: l.memberLabels,
      ports: [
        { name: 'redis', port: r.port, targetPort: k8s.IntOrString.fromString('redis') },
        ...(r.exporterImage
          ? [{ name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') }]
          : []),
      ],
    },
  });
  return { headlessService, service };
}

/** What the shards and the topology Job mount and announce besides the resolved props. @internal */
export interface ClusterPodsInput {
  readonly headlessName: string;
  readonly configMapName: string;
  readonly configHash: string;
  readonly secretName: string;
  readonly tlsSecretName?: string;
}

/** Env of every member and of the topology Job. */
function topologyEnv(r: ResolvedClusterProps, headlessName: string) {
  return {
    REDIS_PORT: r.port,
    REDIS_BUS_PORT: r.busPort,
    SLOTFORGE_NAME: r.name,
    SLOTFORGE_HEADLESS: headlessName,
    SLOTFORGE_CLUSTER_DOMAIN: r.clusterDomain,
    SLOTFORGE_SHARD_SIZE: 1 + r.replicasPerShard,
    SLOTFORGE_CLI_TIMEOUT_S: r.scriptTimeouts.redisCliSeconds,
  };
}

/** One StatefulSet and one PodDisruptionBudget per shard, retiring shards included, in shard order. @internal */
export function shardStatefulSets(
  scope: Construct,
  r: ResolvedClusterProps,
  l: ClusterLabels,
  input: ClusterPodsInput,
) {
  const statefulSets: k8s.KubeStatefulSet[] = [];
  const budgets: k8s.KubePodDisruptionBudget[] = [];
  const resources = redisResources(r);
  for (let shard = 0; shard < r.shards + r.retiringShards; shard++) {
    const shardName = `${r.name}-shard-${shard}`;
    const shardLabels = { ...l.memberLabels, 'slotforge.io/shard': String(shard) };
    statefulSets.push(
      new k8s.KubeStatefulSet(scope, `Shard${shard}`, {
        metadata: { name: shardName, labels: shardLabels },
        spec: {
          serviceName: input.headlessName,
          replicas: 1 + r.replicasPerShard,
          // Parallel: after a full restart every member must start at once (a member is ready only when the
          // cluster is, so OrderedReady would wait forever for member 0).
          podManagementPolicy: 'Parallel',
          updateStrategy: { type: 'RollingUpdate' },
          // A rollout moves on only after the restarted member has been Ready (probe.sh: a replica linked and not
          // syncing, a master serving its slots) for this long.
          minReadySeconds: r.minReadySeconds,
          selector: { matchLabels: shardLabels },
          template: memberPodTemplate({
            image: r.image,
            exporterImage: r.exporterImage,
            port: r.port,
            busPort: r.busPort,
            env: {
              ...topologyEnv(r, input.headlessName),
              SLOTFORGE_SHARD: shard,
              SLOTFORGE_PERSISTENCE: r.persistence.mode,
              SLOTFORGE_GUARD_TIMEOUT_S: r.guardSeconds,
              SLOTFORGE_MEET_INTERVAL_S: 5,
              SLOTFORGE_PRESTOP_TIMEOUT_S: r.grace - 15,
              SLOTFORGE_PRESTOP_PEER_WAIT_S: r.scriptTimeouts.preStopPeerWaitSeconds,
              SLOTFORGE_FAILOVER_ASSIST: r.failoverAssist ? 1 : 0,
              SLOTFORGE_FAILOVER_ASSIST_INTERVAL_MS: r.failoverAssistIntervalMs,
            },
            configMapName: input.configMapName,
            secretName: input.secretName,
            tlsSecretName: input.tlsSecretName,
            resources,
            redisCliSeconds: r.scriptTimeouts.redisCliSeconds,
            terminationGracePeriodSeconds: r.grace,
            antiAffinity: r.antiAffinity,
            shardLabels,
            memberLabels: l.memberLabels,
            annotations: { 'slotforge.io/config-hash': input.configHash },
          }),
          volumeClaimTemplates: [dataClaimTemplate(r.storageSize, r.storageClassName)],
        },
      }),
    );
    budgets.push(onePodBudget(scope, `Budget${shard}`, shardName, shardLabels));
  }
  return { statefulSets, budgets };
}

/** The topology Job of the current topology (`<S>x<M>[-retire<N>]`): bootstrap, then scaling. @internal */
export function clusterTopologyJob(
  scope: Construct,
  r: ResolvedClusterProps,
  labels: Record<string, string>,
  input: ClusterPodsInput,
): k8s.KubeJob {
  const retiring = r.retiringShards ? `-retire${r.retiringShards}` : '';
  return topologyJob(scope, 'Topology', {
    namePrefix: `${r.name}-topology`,
    labels: {
      ...labels,
      'app.kubernetes.io/component': 'topology',
      'slotforge.io/topology': `${r.shards}x${1 + r.replicasPerShard}${retiring}`,
    },
    annotations: { 'slotforge.io/config-hash': input.configHash },
    image: r.image,
    env: {
      ...topologyEnv(r, input.headlessName),
      SLOTFORGE_SHARDS: r.shards,
      SLOTFORGE_RETIRING_SHARDS: r.retiringShards,
      SLOTFORGE_REBALANCE_TIMEOUT_S: r.scriptTimeouts.rebalanceSeconds,
    },
    activeDeadlineSeconds: r.scriptTimeouts.rebalanceSeconds + 600,
    configMapName: input.configMapName,
    secretName: input.secretName,
    tlsSecretName: input.tlsSecretName,
  });
}

/**
 * The members' NetworkPolicy: clients to 6379, the members and the topology Job to 6379 and the bus (the auth Job only
 * talks to the API server), the monitoring namespaces to the exporter when there is one. @internal
 */
export function clusterNetworkPolicy(
  scope: Construct,
  r: ResolvedClusterProps,
  l: ClusterLabels,
  options: NetworkPolicyOptions | undefined,
): k8s.KubeNetworkPolicy {
  return redisNetworkPolicy(scope, 'NetworkPolicy', {
    name: r.name,
    labels: l.labels,
    memberSelector: l.memberLabels,
    peerSelector: { 'app.kubernetes.io/instance': r.name, 'app.kubernetes.io/managed-by': 'slotforge' },
    peerComponents: ['member', 'topology'],
    ...resolveNetworkPolicyOptions(r.owner, r.name, options),
    redisPort: r.port,
    busPort: r.busPort,
    ...(r.exporterImage ? { metricsPort: EXPORTER_PORT } : {}),
  });
}
