import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import { renderClusterConf } from './cluster/cluster-config.ts';
import { type RedisClusterProps, resolveClusterProps } from './cluster/cluster-props.ts';
import { memberPodTemplate } from './cluster/member-pod.ts';
import { topologyJob } from './cluster/topology-job.ts';
import {
  configAndAuth,
  type DataMonitoring,
  dataMonitoring,
  onePodBudget,
  RedisDataConstruct,
  redisResources,
  uniqueNameValidation,
} from './data-pod/index.ts';
import { check, NAME_PATTERN } from './errors.ts';
import { EXPORTER_PORT } from './metrics/exporter.ts';
import { dataClaimTemplate } from './persistence.ts';
import { MEMBER_SCRIPTS, readScript } from './scripts.ts';
import { CLUSTER_ACL_USERS, renderAclUsers, secretKeysOf } from './security/acl.ts';
import type { RedisAuth } from './security/auth.ts';
import { redisNetworkPolicy, resolveNetworkPolicyOptions } from './security/network-policy.ts';
import { certificate } from './security/tls.ts';

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
    const { name, owner, nodeTimeoutMs, userConfig, preferredEndpointType, clusterDomain } = resolved;
    const { storageSize, storageClassName } = resolved;
    const { antiAffinity, grace, guardSeconds, scriptTimeouts, metrics, exporterImage, minReadySeconds } = resolved;
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

    const servicePorts: k8s.ServicePort[] = [
      { name: 'redis', port: this.port, targetPort: k8s.IntOrString.fromString('redis') },
      { name: 'bus', port: this.busPort, targetPort: k8s.IntOrString.fromString('bus') },
    ];
    const headlessName = `${name}-headless`;
    if (props.tls && 'secretName' in props.tls) {
      check(
        NAME_PATTERN.test(props.tls.secretName),
        owner,
        'tls.secretName',
        'must be a Secret name',
        props.tls.secretName,
      );
      this.tlsSecretName = props.tls.secretName;
    } else if (props.tls && 'issuer' in props.tls) {
      this.tlsSecretName = `${name}-tls`;
      const namespace = Chart.of(this).namespace ?? 'default';
      this.certificate = certificate(this, 'Certificate', {
        name: `${name}-tls`,
        labels: this.labels,
        secretName: this.tlsSecretName,
        issuer: props.tls.issuer,
        dnsNames: [
          `*.${headlessName}.${namespace}.svc.${clusterDomain}`,
          `${name}.${namespace}.svc.${clusterDomain}`,
          `*.${headlessName}`,
          name,
        ],
      });
    } else if (props.tls !== undefined) {
      check(false, owner, 'tls', 'must be { secretName } or { issuer: { name, kind } }', props.tls);
    }
    this.headlessService = new k8s.KubeService(this, 'Headless', {
      metadata: { name: headlessName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Members resolve each other (nodes.conf repair, bootstrap) before any of them is ready.
        publishNotReadyAddresses: true,
        selector: this.memberLabels,
        ports: servicePorts,
      },
    });
    this.service = new k8s.KubeService(this, 'Resource', {
      metadata: { name, labels: { ...this.labels, 'slotforge.io/service': 'client' } },
      spec: {
        selector: this.memberLabels,
        ports: [
          { name: 'redis', port: this.port, targetPort: k8s.IntOrString.fromString('redis') },
          ...(exporterImage
            ? [{ name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') }]
            : []),
        ],
      },
    });

    const shardSize = 1 + this.replicasPerShard;
    const topologyEnv = {
      REDIS_PORT: this.port,
      REDIS_BUS_PORT: this.busPort,
      SLOTFORGE_NAME: name,
      SLOTFORGE_HEADLESS: headlessName,
      SLOTFORGE_CLUSTER_DOMAIN: clusterDomain,
      SLOTFORGE_SHARD_SIZE: shardSize,
      SLOTFORGE_CLI_TIMEOUT_S: scriptTimeouts.redisCliSeconds,
    };
    const resources = redisResources(resolved);
    for (let shard = 0; shard < this.shards + this.retiringShards; shard++) {
      const shardName = `${name}-shard-${shard}`;
      const shardLabels = { ...this.memberLabels, 'slotforge.io/shard': String(shard) };
      this.statefulSets.push(
        new k8s.KubeStatefulSet(this, `Shard${shard}`, {
          metadata: { name: shardName, labels: shardLabels },
          spec: {
            serviceName: headlessName,
            replicas: shardSize,
            // Parallel: after a full restart every member must start at once (a member is ready only when the
            // cluster is, so OrderedReady would wait forever for member 0).
            podManagementPolicy: 'Parallel',
            updateStrategy: { type: 'RollingUpdate' },
            // A rollout moves on only after the restarted member has been Ready (probe.sh: a replica linked and not
            // syncing, a master serving its slots) for this long.
            minReadySeconds,
            selector: { matchLabels: shardLabels },
            template: memberPodTemplate({
              image: this.image,
              exporterImage,
              port: this.port,
              busPort: this.busPort,
              env: {
                ...topologyEnv,
                SLOTFORGE_SHARD: shard,
                SLOTFORGE_PERSISTENCE: this.persistence.mode,
                SLOTFORGE_GUARD_TIMEOUT_S: guardSeconds,
                SLOTFORGE_MEET_INTERVAL_S: 5,
                SLOTFORGE_PRESTOP_TIMEOUT_S: grace - 15,
                SLOTFORGE_PRESTOP_PEER_WAIT_S: scriptTimeouts.preStopPeerWaitSeconds,
              },
              configMapName,
              secretName: this.auth.secretName,
              tlsSecretName: this.tlsSecretName,
              resources,
              redisCliSeconds: scriptTimeouts.redisCliSeconds,
              terminationGracePeriodSeconds: grace,
              antiAffinity,
              shardLabels,
              memberLabels: this.memberLabels,
              annotations: { 'slotforge.io/config-hash': configHash },
            }),
            volumeClaimTemplates: [dataClaimTemplate(storageSize, storageClassName)],
          },
        }),
      );
      this.disruptionBudgets.push(onePodBudget(this, `Budget${shard}`, shardName, shardLabels));
    }

    const retiring = this.retiringShards ? `-retire${this.retiringShards}` : '';
    this.topologyJob = topologyJob(this, 'Topology', {
      namePrefix: `${name}-topology`,
      labels: {
        ...this.labels,
        'app.kubernetes.io/component': 'topology',
        'slotforge.io/topology': `${this.shards}x${shardSize}${retiring}`,
      },
      annotations: { 'slotforge.io/config-hash': configHash },
      image: this.image,
      env: {
        ...topologyEnv,
        SLOTFORGE_SHARDS: this.shards,
        SLOTFORGE_RETIRING_SHARDS: this.retiringShards,
        SLOTFORGE_REBALANCE_TIMEOUT_S: scriptTimeouts.rebalanceSeconds,
      },
      activeDeadlineSeconds: scriptTimeouts.rebalanceSeconds + 600,
      configMapName,
      secretName: this.auth.secretName,
      tlsSecretName: this.tlsSecretName,
    });

    this.networkPolicy = redisNetworkPolicy(this, 'NetworkPolicy', {
      name,
      labels: this.labels,
      memberSelector: this.memberLabels,
      peerSelector: { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'slotforge' },
      // The members and the topology Job; the auth Job only talks to the API server.
      peerComponents: ['member', 'topology'],
      ...resolveNetworkPolicyOptions(owner, name, props.networkPolicy),
      redisPort: this.port,
      busPort: this.busPort,
      ...(exporterImage ? { metricsPort: EXPORTER_PORT } : {}),
    });

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
