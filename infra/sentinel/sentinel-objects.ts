import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { redisResources } from '../data-pod/index.ts';
import { EXPORTER_PORT } from '../metrics/index.ts';
import { dataClaimTemplate } from '../persistence.ts';
import { type NetworkPolicyOptions, redisNetworkPolicy, resolveNetworkPolicyOptions } from '../security/index.ts';
import { dataPodTemplate, sentinelPodTemplate } from './pods.ts';
import type { ResolvedSentinelProps } from './sentinel-props.ts';

/** Labels of a RedisSentinel's objects: all of them, its data pods, its sentinels. @internal */
export interface SentinelLabels {
  readonly labels: Record<string, string>;
  readonly dataLabels: Record<string, string>;
  readonly sentinelLabels: Record<string, string>;
}

/** The labels of a RedisSentinel's data pods and sentinels, from the labels of all its objects. @internal */
export function sentinelLabels(labels: Record<string, string>): SentinelLabels {
  return {
    labels,
    dataLabels: { ...labels, 'app.kubernetes.io/component': 'redis' },
    sentinelLabels: { ...labels, 'app.kubernetes.io/component': 'sentinel' },
  };
}

/**
 * The Services: the headless one (every pod a stable DNS name, published before it is ready), the client Service
 * `<name>` in front of the sentinels, and the data pods' metrics Service when the exporter is on. @internal
 */
export function sentinelServices(scope: Construct, r: ResolvedSentinelProps, l: SentinelLabels, headlessName: string) {
  const headlessService = new k8s.KubeService(scope, 'Headless', {
    metadata: { name: headlessName, labels: l.labels },
    spec: {
      clusterIp: 'None',
      // Pods resolve each other by name before they are ready (a sentinel looks for its peers on its first start).
      publishNotReadyAddresses: true,
      selector: l.labels,
      ports: [
        { name: 'redis', port: r.port, targetPort: k8s.IntOrString.fromNumber(r.port) },
        { name: 'sentinel', port: r.sentinelPort, targetPort: k8s.IntOrString.fromNumber(r.sentinelPort) },
      ],
    },
  });
  const service = new k8s.KubeService(scope, 'Resource', {
    metadata: { name: r.name, labels: { ...l.labels, 'slotforge.io/service': 'client' } },
    spec: {
      selector: l.sentinelLabels,
      ports: [{ name: 'sentinel', port: r.sentinelPort, targetPort: k8s.IntOrString.fromString('sentinel') }],
    },
  });
  const metricsService = r.exporterImage
    ? new k8s.KubeService(scope, 'Metrics', {
        metadata: { name: `${r.name}-metrics`, labels: { ...l.labels, 'slotforge.io/service': 'metrics' } },
        spec: {
          selector: l.dataLabels,
          ports: [{ name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') }],
        },
      })
    : undefined;
  return { headlessService, service, metricsService };
}

/** What both StatefulSets of a RedisSentinel need besides the resolved props. @internal */
export interface SentinelSetsInput {
  readonly headlessName: string;
  readonly configMapName: string;
  readonly secretName: string;
  readonly annotations: Record<string, string>;
}

/**
 * The two StatefulSets: the data pods `<name>-redis-<i>` and the sentinels `<name>-sentinel-<i>`, each pod with a
 * volume (the sentinels keep their own rewritten config file, which holds their state, on it). @internal
 */
export function sentinelStatefulSets(
  scope: Construct,
  r: ResolvedSentinelProps,
  l: SentinelLabels,
  input: SentinelSetsInput,
) {
  const env = {
    REDIS_PORT: r.port,
    SENTINEL_PORT: r.sentinelPort,
    SLOTFORGE_NAME: r.name,
    SLOTFORGE_HEADLESS: input.headlessName,
    SLOTFORGE_CLUSTER_DOMAIN: r.clusterDomain,
    SLOTFORGE_MASTER_NAME: r.masterName,
    SLOTFORGE_DATA_PODS: r.replicas + 1,
    SLOTFORGE_SENTINELS: r.sentinels,
    SLOTFORGE_QUORUM: r.quorum,
    SLOTFORGE_PERSISTENCE: r.persistence.mode,
    SLOTFORGE_GUARD_TIMEOUT_S: r.guardSeconds,
    SLOTFORGE_PRESTOP_TIMEOUT_S: r.grace - 15,
    SLOTFORGE_FAILOVER_WAIT_S: Math.ceil(r.failoverTimeoutMs / 1000) + 5,
    // The hand-over guard counts a replica as linked until the primary's stop only if its link went down at most this
    // long ago: a primary down for longer than down-after is failed over (the sentinels then name another pod).
    SLOTFORGE_LINKED_WITHIN_S: Math.ceil((r.downAfterMs * 2) / 1000) + 5,
  };
  const common = {
    image: r.image,
    env,
    configMapName: input.configMapName,
    secretName: input.secretName,
    antiAffinity: r.antiAffinity,
    annotations: input.annotations,
  };
  const set = (id: string, name: string, labels: Record<string, string>, replicas: number) => ({
    metadata: { name, labels },
    spec: {
      serviceName: input.headlessName,
      replicas,
      // Parallel: every ordinal decides its role from the sentinels or from ordinal 0's name, not from start order.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: labels },
    },
    id,
  });
  const data = set('Redis', `${r.name}-redis`, l.dataLabels, r.replicas + 1);
  const dataStatefulSet = new k8s.KubeStatefulSet(scope, data.id, {
    metadata: data.metadata,
    spec: {
      ...data.spec,
      template: dataPodTemplate({
        ...common,
        labels: l.dataLabels,
        port: r.port,
        exporterImage: r.exporterImage,
        terminationGracePeriodSeconds: r.grace,
        resources: redisResources(r),
      }),
      volumeClaimTemplates: [dataClaimTemplate(r.storageSize, r.storageClassName)],
    },
  });
  const sentinels = set('Sentinel', `${r.name}-sentinel`, l.sentinelLabels, r.sentinels);
  const sentinelStatefulSet = new k8s.KubeStatefulSet(scope, sentinels.id, {
    metadata: sentinels.metadata,
    spec: {
      ...sentinels.spec,
      template: sentinelPodTemplate({
        ...common,
        labels: l.sentinelLabels,
        sentinelPort: r.sentinelPort,
        resources: redisResources({ cpuRequest: '50m', memoryRequest: '32Mi', memoryLimit: '64Mi' }),
      }),
      // Sentinel rewrites its config file with everything it learns: on a volume, a restart keeps its view.
      volumeClaimTemplates: [dataClaimTemplate(r.sentinelStorageSize, r.storageClassName)],
    },
  });
  return { dataStatefulSet, sentinelStatefulSet };
}

/**
 * The NetworkPolicies: clients reach both the sentinels (to learn the primary) and the data pods (to use it); the
 * pods of the deployment reach each other. @internal
 */
export function sentinelNetworkPolicies(
  scope: Construct,
  r: ResolvedSentinelProps,
  l: SentinelLabels,
  options: NetworkPolicyOptions | undefined,
): k8s.KubeNetworkPolicy[] {
  const policy = {
    labels: l.labels,
    peerSelector: { 'app.kubernetes.io/instance': r.name, 'app.kubernetes.io/managed-by': 'slotforge' },
    // Data pods and sentinels talk to each other; the auth Job only talks to the API server.
    peerComponents: ['redis', 'sentinel'],
    ...resolveNetworkPolicyOptions(r.owner, r.name, options),
  };
  return [
    redisNetworkPolicy(scope, 'RedisNetworkPolicy', {
      ...policy,
      name: `${r.name}-redis`,
      memberSelector: l.dataLabels,
      redisPort: r.port,
      // Only the data pods run the exporter, and only when it is on.
      ...(r.exporterImage ? { metricsPort: EXPORTER_PORT } : {}),
    }),
    redisNetworkPolicy(scope, 'SentinelNetworkPolicy', {
      ...policy,
      name: `${r.name}-sentinel`,
      memberSelector: l.sentinelLabels,
      redisPort: r.sentinelPort,
    }),
  ];
}
