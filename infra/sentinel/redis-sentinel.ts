import type { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import {
  configAndAuth,
  type DataMonitoring,
  dataMonitoring,
  onePodBudget,
  RedisDataConstruct,
  uniqueNameValidation,
} from '../data-pod/index.ts';
import { RedisCluster } from '../redis-cluster.ts';
import type { RedisAuth } from '../security/index.ts';
import { renderAclUsers, secretKeysOf } from '../security/index.ts';
import { SENTINEL_ACCESS_KEY, SENTINEL_ACL_USERS } from './acl.ts';
import { sentinelScriptFiles } from './scripts.ts';
import { masterLines, renderSentinelConf, renderSentinelRedisConf } from './sentinel-config.ts';
import { sentinelLabels, sentinelNetworkPolicies, sentinelServices, sentinelStatefulSets } from './sentinel-objects.ts';
import { type RedisSentinelProps, resolveSentinelProps } from './sentinel-props.ts';

export type { RedisSentinelProps } from './sentinel-props.ts';

/**
 * One Redis primary with replicas, watched by Redis Sentinel: a StatefulSet of data pods `<name>-redis-<i>`, a
 * StatefulSet of sentinels `<name>-sentinel-<i>` (each with a volume for its own state), a headless Service giving
 * every pod a stable DNS name (everything announces names, not IPs), the client Service `<name>` in front of the
 * sentinels, PodDisruptionBudgets, the auth Secret, NetworkPolicies and metrics. Shares the RedisCluster's pieces:
 * the data-pod props and their validation ({@link RedisDataProps}), pod and object builders, config rendering, memory
 * plan, profiles, ACL users, auth, security contexts, exporter, volumes.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/
 */
export class RedisSentinel extends RedisDataConstruct {
  readonly sentinelName: string;
  readonly masterName: string;
  readonly replicas: number;
  readonly sentinels: number;
  readonly quorum: number;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
  readonly minReplicasToWrite: number;
  readonly minReplicasMaxLagS: number;
  readonly sentinelPort: number;
  /** The base redis.conf of the data pods (the entrypoint completes it). */
  readonly redisConf: string;
  /** The base sentinel.conf (the entrypoint completes it on a sentinel's first start). */
  readonly sentinelConf: string;
  readonly dataLabels: Record<string, string>;
  readonly sentinelLabels: Record<string, string>;
  readonly configMap: k8s.KubeConfigMap;
  readonly headlessService: k8s.KubeService;
  /** The client entry point: the sentinels. */
  readonly service: k8s.KubeService;
  /** The data pods' exporter port, for a ServiceMonitor; absent without the exporter. */
  readonly metricsService?: k8s.KubeService;
  readonly dataStatefulSet: k8s.KubeStatefulSet;
  readonly sentinelStatefulSet: k8s.KubeStatefulSet;
  readonly auth: RedisAuth;
  readonly networkPolicies: k8s.KubeNetworkPolicy[] = [];
  protected readonly dataMonitoring: DataMonitoring;

  constructor(scope: Construct, id: string, props: RedisSentinelProps = {}) {
    const r = resolveSentinelProps(id, props);
    super(scope, id, 'redis-sentinel', r);
    const { name, owner } = r;
    this.sentinelName = name;
    this.masterName = r.masterName;
    this.replicas = r.replicas;
    this.sentinels = r.sentinels;
    this.quorum = r.quorum;
    this.downAfterMs = r.downAfterMs;
    this.failoverTimeoutMs = r.failoverTimeoutMs;
    this.minReplicasToWrite = r.minReplicasToWrite;
    this.minReplicasMaxLagS = r.minReplicasMaxLagS;
    this.sentinelPort = r.sentinelPort;
    const labels = sentinelLabels(this.labels);
    this.dataLabels = labels.dataLabels;
    this.sentinelLabels = labels.sentinelLabels;

    this.redisConf = renderSentinelRedisConf(r, owner);
    this.sentinelConf = renderSentinelConf(r, owner);
    const data: Record<string, string> = {
      'redis.conf': this.redisConf,
      'sentinel.conf': this.sentinelConf,
      'sentinel-master.conf': masterLines(r),
      'acl-users.conf': renderAclUsers(SENTINEL_ACL_USERS),
      ...sentinelScriptFiles(),
    };
    const keys = [...secretKeysOf(SENTINEL_ACL_USERS), SENTINEL_ACCESS_KEY];
    const shared = configAndAuth(this, { ...r, labels: this.labels, data, keys, auth: props.auth });
    const { configMapName, configHash } = shared;
    this.configMap = shared.configMap;
    this.auth = shared.auth;

    const headlessName = `${name}-headless`;
    const services = sentinelServices(this, r, labels, headlessName);
    this.headlessService = services.headlessService;
    this.service = services.service;
    this.metricsService = services.metricsService;
    const sets = sentinelStatefulSets(this, r, labels, {
      headlessName,
      configMapName,
      secretName: this.auth.secretName,
      annotations: { 'slotforge.io/config-hash': configHash },
    });
    this.dataStatefulSet = sets.dataStatefulSet;
    this.sentinelStatefulSet = sets.sentinelStatefulSet;
    // One at a time: the data pods keep a primary and a replica, the sentinels keep their majority.
    this.disruptionBudgets.push(
      onePodBudget(this, 'RedisBudget', `${name}-redis`, this.dataLabels),
      onePodBudget(this, 'SentinelBudget', `${name}-sentinel`, this.sentinelLabels),
    );
    this.networkPolicies.push(...sentinelNetworkPolicies(this, r, labels, props.networkPolicy));

    // The Sentinel set of the slotforge alerts (dashboards/alerts.ts): RedisSentinelNoPrimary, no CLUSTER INFO ones.
    this.dataMonitoring = dataMonitoring(this, {
      name,
      labels: this.labels,
      serviceSelector: { ...this.labels, 'slotforge.io/service': 'metrics' },
      serviceName: `${name}-metrics`,
      deployment: 'sentinel',
      exporter: this.metricsService !== undefined,
      serviceMonitor: r.metrics.serviceMonitor,
      prometheusRule: r.metrics.prometheusRule,
    });

    this.node.addValidation(
      uniqueNameValidation(
        this,
        owner,
        (c) =>
          (c instanceof RedisSentinel && c.sentinelName === name) ||
          (c instanceof RedisCluster && c.clusterName === name),
      ),
    );
  }
}
