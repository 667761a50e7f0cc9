import { createHash } from 'node:crypto';
import { type ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { type MemberResources, type MetricsOptions, resolveClusterProps } from '../cluster/cluster-props.ts';
import type { EvictionPolicy } from '../config/directives.ts';
import type { MemoryPlan } from '../config/memory.ts';
import type { PersistenceOptions, RedisProfile, ResolvedPersistence } from '../config/profiles.ts';
import { parseMemoryQuantity } from '../config/quantity.ts';
import type { DirectiveValue } from '../config/redis-conf.ts';
import { check, InvalidPropError } from '../errors.ts';
import { EXPORTER_PORT } from '../metrics/exporter.ts';
import { type MonitoringTarget, prometheusRule, serviceMonitor } from '../metrics/monitoring.ts';
import { dataClaimTemplate, type StorageOptions } from '../persistence.ts';
import { RedisCluster } from '../redis-cluster.ts';
import { renderAclUsers, secretKeysOf } from '../security/acl.ts';
import { type AuthOptions, RedisAuth } from '../security/auth.ts';
import {
  type NetworkPolicyOptions,
  redisNetworkPolicy,
  resolveNetworkPolicyOptions,
} from '../security/network-policy.ts';
import { SENTINEL_ACCESS_KEY, SENTINEL_ACL_USERS } from './acl.ts';
import { dataPodTemplate, sentinelPodTemplate } from './pods.ts';
import { sentinelScriptFiles } from './scripts.ts';
import { masterLines, renderSentinelConf, renderSentinelRedisConf } from './sentinel-config.ts';

/** Properties of a RedisSentinel. */
export interface RedisSentinelProps {
  /**
   * Name prefix of every object; pods are `<name>-redis-<i>` and `<name>-sentinel-<i>`.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * Name under which the sentinels monitor the primary: clients ask for it (`masterName`).
   * @default the name
   */
  readonly masterName?: string;
  /**
   * Replicas of the primary (data pods = replicas + 1). At least one, or the sentinels have nothing to promote.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Sentinels: odd and at least 3, so a majority survives the loss of any one and a partition cannot give both sides
   * a majority.
   * @default 3
   */
  readonly sentinels?: number;
  /**
   * Sentinels that must agree the primary is down before a failover starts (the failover itself always needs a
   * majority to elect a leader).
   * @default a majority of `sentinels`
   */
  readonly quorum?: number;
  /**
   * `sentinel down-after-milliseconds`: how long the primary must be silent before a sentinel deems it down.
   * @default 5000 (Bitnami 60000; see docs/sentinel-setup.md)
   */
  readonly downAfterMs?: number;
  /**
   * `sentinel failover-timeout`: bounds a failover's steps and the delay before the same primary is failed over again.
   * @default 10000 (Bitnami 180000)
   */
  readonly failoverTimeoutMs?: number;
  /**
   * `min-replicas-to-write`: the primary refuses writes while fewer replicas acknowledged within
   * `minReplicasMaxLagS`. A primary cut off from its replicas then stops accepting writes that the promoted replica on
   * the other side would never see. 0 turns the bound off.
   * @default 1 for `store`, 0 for `cache`
   */
  readonly minReplicasToWrite?: number;
  /**
   * `min-replicas-max-lag`: seconds since a replica's last acknowledgement before it no longer counts.
   * @default 5
   */
  readonly minReplicasMaxLagS?: number;
  /**
   * `cache`: no persistence, `allkeys-lru`. `store`: AOF everysec, `noeviction`. Explicit props override the profile.
   * @default 'store'
   */
  readonly profile?: RedisProfile;
  /** @default 'redis:8.0.6' (DEFAULT_REDIS_IMAGE; also runs redis-sentinel) */
  readonly image?: string;
  /** @default from the profile */
  readonly persistence?: PersistenceOptions;
  /** Volumes of the data pods. @default from the profile */
  readonly storage?: StorageOptions;
  /**
   * Size of each sentinel's volume (its config file, which holds its state).
   * @default '64Mi'
   */
  readonly sentinelStorageSize?: string;
  /** @default 'allkeys-lru' for `cache`, 'noeviction' for `store` */
  readonly evictionPolicy?: EvictionPolicy;
  /** Resources of a data pod's redis container. @default see {@link MemberResources} */
  readonly resources?: MemberResources;
  /**
   * Data set limit as a Kubernetes quantity; must leave 64Mi of the memory limit.
   * @default memoryLimit minus max(25%, 64Mi); with persistence (AOF or RDB) half of that, so a fork's
   * copy-on-write fits (docs/persistence-and-eviction.md)
   */
  readonly maxmemory?: string;
  /**
   * Extra redis.conf directives (Redis 7.0) for the data pods, validated at synth time.
   * @default {}
   */
  readonly config?: Readonly<Record<string, DirectiveValue>>;
  /** @default 6379 */
  readonly port?: number;
  /** @default 26379 */
  readonly sentinelPort?: number;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** @default a generated Secret (keys admin, app, probe, exporter, replication, sentinel, sentinel-access) */
  readonly auth?: AuthOptions;
  /** @default clients labelled `slotforge.io/client: <name>`, metrics from namespace `monitoring` */
  readonly networkPolicy?: NetworkPolicyOptions;
  /** @default exporter on, no Prometheus Operator objects */
  readonly metrics?: MetricsOptions;
  /**
   * Data pods (and sentinels) on different nodes: `required` guarantees it, `preferred` tries (single-node kind).
   * @default 'required'
   */
  readonly antiAffinity?: 'required' | 'preferred';
  /**
   * Time for the preStop failover plus shutdown; the preStop budget is this minus 15 s.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * How long a data pod that the sentinels still name as primary, but whose data did not survive its restart, waits
   * for them to promote a replica before it serves empty (the empty-primary guard).
   * @default 60
   */
  readonly emptyPrimaryGuardSeconds?: number;
}

/** Directives the RedisSentinel sets itself, with the prop that controls each (on top of the shared list). */
const SENTINEL_MANAGED: Readonly<Record<string, string>> = {
  'min-replicas-to-write': 'minReplicasToWrite',
  'min-replicas-max-lag': 'minReplicasMaxLagS',
  replicaof: 'nothing (the entrypoint and the sentinels decide roles)',
  slaveof: 'nothing (the entrypoint and the sentinels decide roles)',
  'replica-announce-ip': 'nothing (the pod DNS name)',
};

const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const isInt = (value: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isInteger(value) && value >= min && value <= max;

/**
 * One Redis primary with replicas, watched by Redis Sentinel: a StatefulSet of data pods `<name>-redis-<i>`, a
 * StatefulSet of sentinels `<name>-sentinel-<i>` (each with a volume for its own state), a headless Service giving
 * every pod a stable DNS name (everything announces names, not IPs), the client Service `<name>` in front of the
 * sentinels, PodDisruptionBudgets, the auth Secret, NetworkPolicies and metrics. Shares the RedisCluster's pieces:
 * config rendering and validation, memory plan, profiles, ACL users, auth, security contexts, exporter, volumes.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/
 */
export class RedisSentinel extends Construct {
  readonly sentinelName: string;
  readonly masterName: string;
  readonly replicas: number;
  readonly sentinels: number;
  readonly quorum: number;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
  readonly minReplicasToWrite: number;
  readonly minReplicasMaxLagS: number;
  readonly profile: RedisProfile;
  readonly image: string;
  readonly port: number;
  readonly sentinelPort: number;
  readonly persistence: ResolvedPersistence;
  readonly evictionPolicy: EvictionPolicy;
  readonly memory: MemoryPlan;
  /** The base redis.conf of the data pods (the entrypoint completes it). */
  readonly redisConf: string;
  /** The base sentinel.conf (the entrypoint completes it on a sentinel's first start). */
  readonly sentinelConf: string;
  readonly labels: Record<string, string>;
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
  readonly disruptionBudgets: k8s.KubePodDisruptionBudget[] = [];
  readonly auth: RedisAuth;
  readonly networkPolicies: k8s.KubeNetworkPolicy[] = [];
  readonly serviceMonitor?: ApiObject;
  readonly prometheusRule?: ApiObject;
  /** What an OperatorMonitoring in another chart needs to scrape the data pods; undefined without the exporter. */
  readonly monitoringTarget?: MonitoringTarget;

  constructor(scope: Construct, id: string, props: RedisSentinelProps = {}) {
    super(scope, id);
    const name = props.name ?? id;
    const owner = `RedisSentinel '${name}'`;
    check(
      NAME_PATTERN.test(name) && name.length <= 40,
      owner,
      'name',
      'must be a DNS label of at most 40 characters (pod names append -sentinel-<i> and must stay under 63)',
      name,
    );
    this.sentinelName = name;
    this.masterName = props.masterName ?? name;
    check(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(this.masterName),
      owner,
      'masterName',
      'must be 1 to 64 characters of letters, digits, dot, underscore or dash',
      this.masterName,
    );
    this.replicas = props.replicas ?? 2;
    check(
      isInt(this.replicas, 1, 9),
      owner,
      'replicas',
      'must be an integer from 1 to 9 (with 0 the sentinels have no replica to promote)',
      this.replicas,
    );
    this.sentinels = props.sentinels ?? 3;
    check(
      isInt(this.sentinels, 3, 9) && this.sentinels % 2 === 1,
      owner,
      'sentinels',
      'must be an odd integer from 3 to 9 so a majority survives the loss of one sentinel and a partition cannot give both sides one',
      this.sentinels,
    );
    const majority = Math.floor(this.sentinels / 2) + 1;
    this.quorum = props.quorum ?? majority;
    check(isInt(this.quorum, 1), owner, 'quorum', 'must be a positive integer', this.quorum);
    check(
      this.quorum <= this.sentinels,
      owner,
      'quorum',
      `must not exceed sentinels (${this.sentinels}), or no failover can ever start`,
      this.quorum,
    );
    this.downAfterMs = props.downAfterMs ?? 5000;
    check(
      isInt(this.downAfterMs, 1000, 600_000),
      owner,
      'downAfterMs',
      'must be an integer from 1000 to 600000 (sentinels ping every second)',
      this.downAfterMs,
    );
    this.failoverTimeoutMs = props.failoverTimeoutMs ?? 10_000;
    check(
      isInt(this.failoverTimeoutMs, 3000, 3_600_000),
      owner,
      'failoverTimeoutMs',
      'must be an integer from 3000 to 3600000',
      this.failoverTimeoutMs,
    );
    this.port = props.port ?? 6379;
    check(isInt(this.port, 1, 65535), owner, 'port', 'must be an integer from 1 to 65535', this.port);
    check(this.port !== EXPORTER_PORT, owner, 'port', `must differ from the exporter port ${EXPORTER_PORT}`, this.port);
    this.sentinelPort = props.sentinelPort ?? 26379;
    check(
      isInt(this.sentinelPort, 1, 65535) && this.sentinelPort !== this.port && this.sentinelPort !== EXPORTER_PORT,
      owner,
      'sentinelPort',
      `must be an integer from 1 to 65535 other than port (${this.port}) and the exporter port ${EXPORTER_PORT}`,
      this.sentinelPort,
    );
    const userConfig = props.config ?? {};
    for (const [directive, value] of Object.entries(userConfig)) {
      const managedBy = SENTINEL_MANAGED[directive];
      if (managedBy !== undefined) {
        throw new InvalidPropError(
          owner,
          `config['${directive}']`,
          `is set by the construct; use ${managedBy} instead`,
          value,
        );
      }
    }
    // The props a data pod shares with a cluster member (profile, image, persistence, memory, resources, config,
    // scheduling, metrics) are validated and defaulted by the RedisCluster's resolver, with this construct named in
    // its errors; its cluster-only props stay at their (valid) defaults and are ignored.
    const shared = resolveClusterProps(
      'shared',
      {
        profile: props.profile,
        image: props.image,
        persistence: props.persistence,
        storage: props.storage,
        evictionPolicy: props.evictionPolicy,
        resources: props.resources,
        maxmemory: props.maxmemory,
        config: userConfig,
        clusterDomain: props.clusterDomain,
        metrics: props.metrics,
        antiAffinity: props.antiAffinity,
        terminationGracePeriodSeconds: props.terminationGracePeriodSeconds,
      },
      owner,
    );
    this.profile = shared.profileName;
    this.image = shared.image;
    this.persistence = shared.persistence;
    this.evictionPolicy = shared.evictionPolicy;
    this.memory = shared.memory;
    const { memoryLimit, memoryRequest, cpuRequest, cpuLimit, storageSize, antiAffinity, grace, clusterDomain } =
      shared;
    const { metrics, exporterImage } = shared;
    this.minReplicasToWrite = props.minReplicasToWrite ?? (this.profile === 'store' ? 1 : 0);
    check(
      isInt(this.minReplicasToWrite, 0, this.replicas),
      owner,
      'minReplicasToWrite',
      `must be an integer from 0 to replicas (${this.replicas}), or the primary never accepts a write`,
      this.minReplicasToWrite,
    );
    this.minReplicasMaxLagS = props.minReplicasMaxLagS ?? 5;
    check(
      isInt(this.minReplicasMaxLagS, 1, 3600),
      owner,
      'minReplicasMaxLagS',
      'must be an integer from 1 to 3600',
      this.minReplicasMaxLagS,
    );
    const sentinelStorageSize = props.sentinelStorageSize ?? '64Mi';
    parseMemoryQuantity(owner, 'sentinelStorageSize', sentinelStorageSize);
    const guardSeconds = props.emptyPrimaryGuardSeconds ?? 60;
    check(
      isInt(guardSeconds, 5, 3600),
      owner,
      'emptyPrimaryGuardSeconds',
      'must be an integer from 5 to 3600',
      guardSeconds,
    );
    check(
      !metrics.serviceMonitor || exporterImage !== undefined,
      owner,
      'metrics.serviceMonitor',
      'needs metrics.exporter',
      metrics.serviceMonitor,
    );

    this.labels = {
      'app.kubernetes.io/name': 'redis-sentinel',
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'slotforge',
    };
    this.dataLabels = { ...this.labels, 'app.kubernetes.io/component': 'redis' };
    this.sentinelLabels = { ...this.labels, 'app.kubernetes.io/component': 'sentinel' };

    this.redisConf = renderSentinelRedisConf(
      {
        port: this.port,
        persistence: this.persistence,
        memory: this.memory,
        evictionPolicy: this.evictionPolicy,
        minReplicasToWrite: this.minReplicasToWrite,
        minReplicasMaxLagS: this.minReplicasMaxLagS,
        userConfig,
      },
      owner,
    );
    const sentinelInput = {
      masterName: this.masterName,
      sentinelPort: this.sentinelPort,
      quorum: this.quorum,
      downAfterMs: this.downAfterMs,
      failoverTimeoutMs: this.failoverTimeoutMs,
    };
    this.sentinelConf = renderSentinelConf(sentinelInput, owner);
    const data: Record<string, string> = {
      'redis.conf': this.redisConf,
      'sentinel.conf': this.sentinelConf,
      'sentinel-master.conf': masterLines(sentinelInput),
      'acl-users.conf': renderAclUsers(SENTINEL_ACL_USERS),
      ...sentinelScriptFiles(),
    };
    const configMapName = `${name}-config`;
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMapName, labels: this.labels },
      data,
    });
    const configHash = createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);

    this.auth = new RedisAuth(this, 'Auth', {
      ...props.auth,
      baseName: name,
      labels: { ...this.labels, 'app.kubernetes.io/component': 'auth' },
      keys: [...secretKeysOf(SENTINEL_ACL_USERS), SENTINEL_ACCESS_KEY],
      redisImage: this.image,
      owner,
    });

    const headlessName = `${name}-headless`;
    this.headlessService = new k8s.KubeService(this, 'Headless', {
      metadata: { name: headlessName, labels: this.labels },
      spec: {
        clusterIp: 'None',
        // Pods resolve each other by name before they are ready (a sentinel looks for its peers on its first start).
        publishNotReadyAddresses: true,
        selector: this.labels,
        ports: [
          { name: 'redis', port: this.port, targetPort: k8s.IntOrString.fromNumber(this.port) },
          { name: 'sentinel', port: this.sentinelPort, targetPort: k8s.IntOrString.fromNumber(this.sentinelPort) },
        ],
      },
    });
    this.service = new k8s.KubeService(this, 'Resource', {
      metadata: { name, labels: { ...this.labels, 'slotforge.io/service': 'client' } },
      spec: {
        selector: this.sentinelLabels,
        ports: [{ name: 'sentinel', port: this.sentinelPort, targetPort: k8s.IntOrString.fromString('sentinel') }],
      },
    });
    if (exporterImage) {
      this.metricsService = new k8s.KubeService(this, 'Metrics', {
        metadata: { name: `${name}-metrics`, labels: { ...this.labels, 'slotforge.io/service': 'metrics' } },
        spec: {
          selector: this.dataLabels,
          ports: [{ name: 'metrics', port: EXPORTER_PORT, targetPort: k8s.IntOrString.fromString('metrics') }],
        },
      });
    }

    const env = {
      REDIS_PORT: this.port,
      SENTINEL_PORT: this.sentinelPort,
      SLOTFORGE_NAME: name,
      SLOTFORGE_HEADLESS: headlessName,
      SLOTFORGE_CLUSTER_DOMAIN: clusterDomain,
      SLOTFORGE_MASTER_NAME: this.masterName,
      SLOTFORGE_DATA_PODS: this.replicas + 1,
      SLOTFORGE_SENTINELS: this.sentinels,
      SLOTFORGE_QUORUM: this.quorum,
      SLOTFORGE_PERSISTENCE: this.persistence.mode,
      SLOTFORGE_GUARD_TIMEOUT_S: guardSeconds,
      SLOTFORGE_PRESTOP_TIMEOUT_S: grace - 15,
      SLOTFORGE_FAILOVER_WAIT_S: Math.ceil(this.failoverTimeoutMs / 1000) + 5,
    };
    const annotations = { 'slotforge.io/config-hash': configHash };
    const common = {
      image: this.image,
      env,
      configMapName,
      secretName: this.auth.secretName,
      antiAffinity,
      annotations,
    };
    const dataSet = `${name}-redis`;
    this.dataStatefulSet = new k8s.KubeStatefulSet(this, 'Redis', {
      metadata: { name: dataSet, labels: this.dataLabels },
      spec: {
        serviceName: headlessName,
        replicas: this.replicas + 1,
        // Parallel: every ordinal decides its role from the sentinels or from ordinal 0's name, not from start order.
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: this.dataLabels },
        template: dataPodTemplate({
          ...common,
          labels: this.dataLabels,
          port: this.port,
          exporterImage,
          terminationGracePeriodSeconds: grace,
          resources: {
            requests: { cpu: k8s.Quantity.fromString(cpuRequest), memory: k8s.Quantity.fromString(memoryRequest) },
            limits: {
              memory: k8s.Quantity.fromString(memoryLimit),
              ...(cpuLimit ? { cpu: k8s.Quantity.fromString(cpuLimit) } : {}),
            },
          },
        }),
        volumeClaimTemplates: [dataClaimTemplate(storageSize, shared.storageClassName)],
      },
    });
    this.sentinelStatefulSet = new k8s.KubeStatefulSet(this, 'Sentinel', {
      metadata: { name: `${name}-sentinel`, labels: this.sentinelLabels },
      spec: {
        serviceName: headlessName,
        replicas: this.sentinels,
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: this.sentinelLabels },
        template: sentinelPodTemplate({
          ...common,
          labels: this.sentinelLabels,
          sentinelPort: this.sentinelPort,
          resources: {
            requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('32Mi') },
            limits: { memory: k8s.Quantity.fromString('64Mi') },
          },
        }),
        // Sentinel rewrites its config file with everything it learns: on a volume, a restart keeps its view.
        volumeClaimTemplates: [dataClaimTemplate(sentinelStorageSize, shared.storageClassName)],
      },
    });
    for (const [budgetId, labels] of [
      ['RedisBudget', this.dataLabels],
      ['SentinelBudget', this.sentinelLabels],
    ] as const) {
      this.disruptionBudgets.push(
        new k8s.KubePodDisruptionBudget(this, budgetId, {
          metadata: { name: `${name}-${labels['app.kubernetes.io/component']}`, labels },
          // One at a time: the data pods keep a primary and a replica, the sentinels keep their majority.
          // AlwaysAllow: a pod that is not Ready already serves nothing; it must not block node drains.
          spec: {
            maxUnavailable: k8s.IntOrString.fromNumber(1),
            selector: { matchLabels: labels },
            unhealthyPodEvictionPolicy: 'AlwaysAllow',
          },
        }),
      );
    }

    const policy = {
      labels: this.labels,
      peerSelector: { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'slotforge' },
      ...resolveNetworkPolicyOptions(owner, name, props.networkPolicy),
      metricsPort: EXPORTER_PORT,
    };
    // Clients reach both: the sentinels to learn the primary, the data pods to use it.
    this.networkPolicies.push(
      redisNetworkPolicy(this, 'RedisNetworkPolicy', {
        ...policy,
        name: `${name}-redis`,
        memberSelector: this.dataLabels,
        redisPort: this.port,
      }),
      redisNetworkPolicy(this, 'SentinelNetworkPolicy', {
        ...policy,
        name: `${name}-sentinel`,
        memberSelector: this.sentinelLabels,
        redisPort: this.sentinelPort,
      }),
    );

    const monitoring = {
      name,
      labels: this.labels,
      serviceSelector: { ...this.labels, 'slotforge.io/service': 'metrics' },
      serviceName: `${name}-metrics`,
    };
    if (this.metricsService) {
      this.monitoringTarget = { ...monitoring, namespace: Chart.of(this).namespace, deployment: 'sentinel' };
    }
    if (metrics.serviceMonitor) this.serviceMonitor = serviceMonitor(this, 'ServiceMonitor', monitoring);
    if (metrics.prometheusRule) {
      // The Sentinel set of the slotforge alerts (dashboards/alerts.ts): RedisSentinelNoPrimary, no CLUSTER INFO ones.
      this.prometheusRule = prometheusRule(this, 'PrometheusRule', { ...monitoring, deployment: 'sentinel' });
    }

    this.node.addValidation({
      validate: () => {
        const chart = Chart.of(this);
        const clash = chart.node
          .findAll()
          .filter(
            (c) =>
              c !== this &&
              ((c instanceof RedisSentinel && c.sentinelName === name) ||
                (c instanceof RedisCluster && c.clusterName === name)),
          );
        return clash.length
          ? [`${owner}: name must be unique in its chart (also used by ${clash.map((c) => c.node.path).join(', ')})`]
          : [];
      },
    });
  }
}
