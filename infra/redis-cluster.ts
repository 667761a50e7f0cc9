import { ApiObject } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { renderClusterConf } from './cluster/cluster-config.ts';
import {
  clusterNetworkPolicy,
  clusterServices,
  clusterTls,
  clusterTopologyJob,
  shardStatefulSets,
} from './cluster/cluster-objects.ts';
import { type RedisClusterProps, resolveClusterProps } from './cluster/cluster-props.ts';
import {
  configAndAuth,
  type DataMonitoring,
  dataMonitoring,
  RedisDataConstruct,
  uniqueNameValidation,
} from './data-pod/index.ts';
import { MEMBER_SCRIPTS, readScript } from './scripts.ts';
import { CLUSTER_ACL_USERS, renderAclUsers, secretKeysOf } from './security/acl.ts';
import type { RedisAuth } from './security/auth.ts';

/**
 * A Redis Cluster: one StatefulSet per shard (its primary and replicas), a headless Service publishing not-ready
 * addresses (pods find each other before the cluster is formed), a client Service, a PodDisruptionBudget per shard,
 * the topology Job (bootstrap and scaling), the auth Secret (referenced or generated), a NetworkPolicy and metrics.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/
 */
export class RedisCluster extends RedisDataConstruct {
  readonly clusterName: string;
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly retiringShards: number;
  readonly busPort: number;
  /** The base redis.conf the entrypoint completes. */
  readonly redisConf: string;
  readonly memberLabels: Record<string, string>;
  readonly configMap: k8s.KubeConfigMap;
  readonly headlessService: k8s.KubeService;
  readonly service: k8s.KubeService;
  /** One per shard, retiring shards included, in shard order. */
  readonly statefulSets: k8s.KubeStatefulSet[] = [];
  readonly topologyJob: k8s.KubeJob;
  readonly auth: RedisAuth;
  readonly networkPolicy: k8s.KubeNetworkPolicy;
  protected readonly dataMonitoring: DataMonitoring;
  /** Name of the mounted TLS Secret; undefined without TLS. */
  readonly tlsSecretName?: string;
  readonly certificate?: ApiObject;

  constructor(scope: Construct, id: string, props: RedisClusterProps = {}) {
    const resolved = resolveClusterProps(id, props);
    super(scope, id, 'redis-cluster', resolved);
    const { name, owner, nodeTimeoutMs, userConfig, preferredEndpointType, metrics, exporterImage } = resolved;
    this.clusterName = name;
    this.shards = resolved.shards;
    this.replicasPerShard = resolved.replicasPerShard;
    this.retiringShards = resolved.retiringShards;
    this.busPort = resolved.busPort;

    this.memberLabels = { ...this.labels, 'app.kubernetes.io/component': 'member' };

    this.redisConf = renderClusterConf(
      {
        port: this.port,
        nodeTimeoutMs,
        persistence: this.persistence,
        memory: this.memory,
        evictionPolicy: this.evictionPolicy,
        requireFullCoverage: resolved.requireFullCoverage,
        allowReadsWhenDown: resolved.allowReadsWhenDown,
        preferredEndpointType,
        userConfig,
      },
      owner,
    );
    const data: Record<string, string> = {
      'redis.conf': this.redisConf,
      'acl-users.conf': renderAclUsers(CLUSTER_ACL_USERS),
    };
    for (const script of MEMBER_SCRIPTS) data[script] = readScript(script);
    const keys = secretKeysOf(CLUSTER_ACL_USERS);
    const shared = configAndAuth(this, { ...resolved, labels: this.labels, data, keys, auth: props.auth });
    const { configMapName, configHash } = shared;
    this.configMap = shared.configMap;
    this.auth = shared.auth;

    const headlessName = `${name}-headless`;
    const tls = clusterTls(this, resolved, this.labels, headlessName, props.tls);
    this.tlsSecretName = tls.tlsSecretName;
    this.certificate = tls.certificate;
    const labels = { labels: this.labels, memberLabels: this.memberLabels };
    const services = clusterServices(this, resolved, labels, headlessName);
    this.headlessService = services.headlessService;
    this.service = services.service;
    const pods = { headlessName, configMapName, configHash, secretName: this.auth.secretName, ...tls };
    const shards = shardStatefulSets(this, resolved, labels, pods);
    this.statefulSets.push(...shards.statefulSets);
    this.disruptionBudgets.push(...shards.budgets);
    this.topologyJob = clusterTopologyJob(this, resolved, this.labels, pods);
    this.networkPolicy = clusterNetworkPolicy(this, resolved, labels, props.networkPolicy);

    this.dataMonitoring = dataMonitoring(this, {
      name,
      labels: this.labels,
      serviceSelector: { ...this.labels, 'slotforge.io/service': 'client' },
      serviceName: name,
      deployment: 'cluster',
      exporter: exporterImage !== undefined,
      serviceMonitor: metrics.serviceMonitor,
      prometheusRule: metrics.prometheusRule,
    });

    this.node.addValidation(
      uniqueNameValidation(this, owner, (c) => c instanceof RedisCluster && c.clusterName === name),
    );
  }
}

/** @internal Used by tests to find every object of a construct. */
export function apiObjectsOf(construct: Construct): ApiObject[] {
  return construct.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
}
