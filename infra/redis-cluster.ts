import { createHash } from 'node:crypto';
import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { renderClusterConf } from './cluster/cluster-config.ts';
import { memberPodTemplate } from './cluster/member-pod.ts';
import { topologyJob } from './cluster/topology-job.ts';
import { EVICTION_POLICIES, type EvictionPolicy } from './config/directives.ts';
import { type MemoryPlan, planMemory } from './config/memory.ts';
import {
  type PersistenceOptions,
  PROFILES,
  type RedisProfile,
  type ResolvedPersistence,
  resolvePersistence,
} from './config/profiles.ts';
import { parseMemoryQuantity } from './config/quantity.ts';
import { type DirectiveValue, validateUserConfig } from './config/redis-conf.ts';
import { check } from './errors.ts';
import { DEFAULT_EXPORTER_IMAGE, EXPORTER_PORT } from './metrics/exporter.ts';
import { prometheusRule, serviceMonitor } from './metrics/monitoring.ts';
import { dataClaimTemplate, type StorageOptions } from './persistence.ts';
import { MEMBER_SCRIPTS, readScript } from './scripts.ts';
import { CLUSTER_ACL_USERS, renderAclUsers, secretKeysOf } from './security/acl.ts';
import { type AuthOptions, RedisAuth } from './security/auth.ts';
import { type NetworkPolicyOptions, redisNetworkPolicy } from './security/network-policy.ts';
import { certificate, type TlsOptions } from './security/tls.ts';

/** The Redis image our machines' redis-server matches (Debian 12 ships 7.0.15). */
export const DEFAULT_REDIS_IMAGE = 'redis:7.0.15';

/** Container resources of a member's redis container. */
export interface MemberResources {
  /**
   * Memory limit; `maxmemory` is derived from it (a quarter, at least 64Mi, is kept as headroom).
   * @default '1Gi'
   */
  readonly memoryLimit?: string;
  /**
   * Memory request. Equal to the limit by default, so the node never overcommits the memory Redis will use.
   * @default memoryLimit
   */
  readonly memoryRequest?: string;
  /** @default '250m' */
  readonly cpuRequest?: string;
  /**
   * CPU limit. None by default: CFS throttling of a single-threaded server shows up as latency spikes and as missed
   * cluster-bus pings, which can trigger needless failovers.
   * @default no limit
   */
  readonly cpuLimit?: string;
}

/** Metrics options. */
export interface MetricsOptions {
  /** @default true */
  readonly exporter?: boolean;
  /** @default 'oliver006/redis_exporter:v1.45.0' */
  readonly exporterImage?: string;
  /** A Prometheus Operator ServiceMonitor. @default false */
  readonly serviceMonitor?: boolean;
  /** A Prometheus Operator PrometheusRule with the cluster alerts. @default false */
  readonly prometheusRule?: boolean;
}

/** Properties of a RedisCluster. */
export interface RedisClusterProps {
  /**
   * Name prefix of every object; pod names are `<name>-shard-<s>-<m>` and must stay DNS labels.
   * @default the construct id
   */
  readonly name?: string;
  /**
   * Primary shards. A failover needs a majority of primaries, so fewer than three cannot fail over.
   * @default 3
   */
  readonly shards?: number;
  /**
   * Replicas of each primary. 0 means no failover: a lost member loses its shard.
   * @default 1
   */
  readonly replicasPerShard?: number;
  /**
   * Shards being removed (scale in): set `shards` to the new count and this to the number removed; the topology Job
   * moves every slot off shards `shards .. shards+retiringShards-1` and takes their members out of the cluster. The
   * next apply without it deletes their StatefulSets.
   * @default 0
   */
  readonly retiringShards?: number;
  /**
   * `cache`: no persistence, `allkeys-lru`, serves the slots it has while a shard is down. `store`: AOF everysec,
   * `noeviction`, all slots or none. Explicit props override the profile.
   * @default 'store'
   */
  readonly profile?: RedisProfile;
  /** @default 'redis:7.0.15' */
  readonly image?: string;
  /** @default from the profile */
  readonly persistence?: PersistenceOptions;
  /** @default from the profile */
  readonly storage?: StorageOptions;
  /** @default 'allkeys-lru' for `cache`, 'noeviction' for `store` */
  readonly evictionPolicy?: EvictionPolicy;
  /** @default see {@link MemberResources} */
  readonly resources?: MemberResources;
  /**
   * Data set limit as a Kubernetes quantity; must leave 64Mi of the memory limit.
   * @default memoryLimit minus max(25%, 64Mi)
   */
  readonly maxmemory?: string;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be declared failed.
   * @default 5000
   */
  readonly nodeTimeoutMs?: number;
  /**
   * Extra redis.conf directives (Redis 7.0), validated at synth time; they replace the construct's values.
   * @default {}
   */
  readonly config?: Readonly<Record<string, DirectiveValue>>;
  /** @default 6379 (the cluster bus is port + 10000) */
  readonly port?: number;
  /**
   * What clients see in MOVED/ASK and CLUSTER SLOTS: `hostname` keeps clients working across IP changes but needs
   * them to resolve `<pod>.<headless>.<namespace>.svc.<domain>`.
   * @default 'ip'
   */
  readonly preferredEndpointType?: 'ip' | 'hostname';
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** @default a generated Secret */
  readonly auth?: AuthOptions;
  /** @default clients labelled `slotforge.io/client: <name>`, metrics from namespace `monitoring` */
  readonly networkPolicy?: NetworkPolicyOptions;
  /** @default exporter on, no Prometheus Operator objects */
  readonly metrics?: MetricsOptions;
  /**
   * Members of one shard on different nodes: `required` guarantees it (a single-node cluster such as kind then
   * schedules one member per shard only), `preferred` tries.
   * @default 'required'
   */
  readonly antiAffinity?: 'required' | 'preferred';
  /**
   * Time for the preStop failover plus shutdown; the preStop budget is this minus 15 s.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * TLS for clients, the cluster bus and replication: a Secret with tls.crt/tls.key/ca.crt, or a cert-manager issuer.
   * @default no TLS
   */
  readonly tls?: TlsOptions;
  /**
   * How long a guarded empty master waits for one of its replicas to take over before it serves empty.
   * @default 60
   */
  readonly emptyMasterGuardSeconds?: number;
}

const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const isInt = (value: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isInteger(value) && value >= min && value <= max;

/**
 * A Redis Cluster: one StatefulSet per shard (its primary and replicas), a headless Service publishing not-ready
 * addresses (pods find each other before the cluster is formed), a client Service, a PodDisruptionBudget per shard,
 * the topology Job (bootstrap and scaling), the auth Secret (referenced or generated), a NetworkPolicy and metrics.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/
 */
export class RedisCluster extends Construct {
  readonly clusterName: string;
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly retiringShards: number;
  readonly profile: RedisProfile;
  readonly image: string;
  readonly port: number;
  readonly busPort: number;
  readonly persistence: ResolvedPersistence;
  readonly evictionPolicy: EvictionPolicy;
  readonly memory: MemoryPlan;
  /** The base redis.conf the entrypoint completes. */
  readonly redisConf: string;
  readonly labels: Record<string, string>;
  readonly memberLabels: Record<string, string>;
  readonly configMap: k8s.KubeConfigMap;
  readonly headlessService: k8s.KubeService;
  readonly service: k8s.KubeService;
  /** One per shard, retiring shards included, in shard order. */
  readonly statefulSets: k8s.KubeStatefulSet[] = [];
  readonly disruptionBudgets: k8s.KubePodDisruptionBudget[] = [];
  readonly topologyJob: k8s.KubeJob;
  readonly auth: RedisAuth;
  readonly networkPolicy: k8s.KubeNetworkPolicy;
  readonly serviceMonitor?: ApiObject;
  readonly prometheusRule?: ApiObject;
  /** Name of the mounted TLS Secret; undefined without TLS. */
  readonly tlsSecretName?: string;
  readonly certificate?: ApiObject;

  constructor(scope: Construct, id: string, props: RedisClusterProps = {}) {
    super(scope, id);
    const name = props.name ?? id;
    const owner = `RedisCluster '${name}'`;
    check(
      NAME_PATTERN.test(name) && name.length <= 30,
      owner,
      'name',
      'must be a DNS label of at most 30 characters (pod names append -shard-<s>-<m> and must stay under 63)',
      name,
    );
    this.clusterName = name;
    this.shards = props.shards ?? 3;
    check(
      isInt(this.shards, 3, 1000),
      owner,
      'shards',
      'must be an integer of at least 3 so a failover can win a majority',
      this.shards,
    );
    this.replicasPerShard = props.replicasPerShard ?? 1;
    check(
      isInt(this.replicasPerShard, 0, 5),
      owner,
      'replicasPerShard',
      'must be an integer from 0 to 5',
      this.replicasPerShard,
    );
    this.retiringShards = props.retiringShards ?? 0;
    check(
      isInt(this.retiringShards, 0, 1000),
      owner,
      'retiringShards',
      'must be a non-negative integer',
      this.retiringShards,
    );
    this.profile = props.profile ?? 'store';
    check(this.profile in PROFILES, owner, 'profile', "must be 'cache' or 'store'", this.profile);
    const profile = PROFILES[this.profile];
    this.image = props.image ?? DEFAULT_REDIS_IMAGE;
    check(this.image.trim() !== '' && !/\s/.test(this.image), owner, 'image', 'must be an image reference', this.image);
    this.port = props.port ?? 6379;
    check(
      isInt(this.port, 1, 55535),
      owner,
      'port',
      'must be an integer from 1 to 55535 (the bus uses port + 10000)',
      this.port,
    );
    check(this.port !== EXPORTER_PORT, owner, 'port', `must differ from the exporter port ${EXPORTER_PORT}`, this.port);
    this.busPort = this.port + 10000;
    const nodeTimeoutMs = props.nodeTimeoutMs ?? 5000;
    check(
      isInt(nodeTimeoutMs, 500, 120_000),
      owner,
      'nodeTimeoutMs',
      'must be an integer from 500 to 120000',
      nodeTimeoutMs,
    );
    const persistenceOptions = props.persistence ?? {};
    check(
      persistenceOptions.appendfsync === undefined || ['everysec', 'always'].includes(persistenceOptions.appendfsync),
      owner,
      'persistence.appendfsync',
      "must be 'everysec' or 'always'",
      persistenceOptions.appendfsync,
    );
    for (const pair of persistenceOptions.rdb || []) {
      check(
        pair.length === 2 && isInt(pair[0], 1) && isInt(pair[1], 1),
        owner,
        'persistence.rdb',
        'must list [seconds, changes] pairs of positive integers',
        pair,
      );
    }
    this.persistence = resolvePersistence(this.profile, persistenceOptions);
    this.evictionPolicy = props.evictionPolicy ?? profile.evictionPolicy;
    check(
      (EVICTION_POLICIES as readonly string[]).includes(this.evictionPolicy),
      owner,
      'evictionPolicy',
      `must be one of ${EVICTION_POLICIES.join(', ')}`,
      this.evictionPolicy,
    );
    const res = props.resources ?? {};
    const memoryLimit = res.memoryLimit ?? '1Gi';
    const limitBytes = parseMemoryQuantity(owner, 'resources.memoryLimit', memoryLimit);
    const memoryRequest = res.memoryRequest ?? memoryLimit;
    const requestBytes = parseMemoryQuantity(owner, 'resources.memoryRequest', memoryRequest);
    check(
      requestBytes <= limitBytes,
      owner,
      'resources.memoryRequest',
      `must not exceed memoryLimit ${memoryLimit}`,
      memoryRequest,
    );
    const cpuPattern = /^\d+(\.\d+)?m?$/;
    const cpuRequest = res.cpuRequest ?? '250m';
    check(
      cpuPattern.test(cpuRequest),
      owner,
      'resources.cpuRequest',
      'must be a CPU quantity such as 250m or 1',
      cpuRequest,
    );
    if (res.cpuLimit !== undefined) {
      check(
        cpuPattern.test(res.cpuLimit),
        owner,
        'resources.cpuLimit',
        'must be a CPU quantity such as 500m or 2',
        res.cpuLimit,
      );
    }
    const maxmemoryBytes =
      props.maxmemory === undefined ? undefined : parseMemoryQuantity(owner, 'maxmemory', props.maxmemory);
    this.memory = planMemory(owner, limitBytes, maxmemoryBytes);
    const storageSize = props.storage?.size ?? profile.storageSize;
    parseMemoryQuantity(owner, 'storage.size', storageSize);
    const userConfig = props.config ?? {};
    validateUserConfig(owner, userConfig);
    const antiAffinity = props.antiAffinity ?? 'required';
    check(
      ['required', 'preferred'].includes(antiAffinity),
      owner,
      'antiAffinity',
      "must be 'required' or 'preferred'",
      antiAffinity,
    );
    const grace = props.terminationGracePeriodSeconds ?? 60;
    check(
      isInt(grace, 20, 3600),
      owner,
      'terminationGracePeriodSeconds',
      'must be an integer from 20 to 3600 (preStop needs time to fail over)',
      grace,
    );
    const guardSeconds = props.emptyMasterGuardSeconds ?? 60;
    check(
      isInt(guardSeconds, 5, 3600),
      owner,
      'emptyMasterGuardSeconds',
      'must be an integer from 5 to 3600',
      guardSeconds,
    );
    const preferredEndpointType = props.preferredEndpointType ?? 'ip';
    check(
      ['ip', 'hostname'].includes(preferredEndpointType),
      owner,
      'preferredEndpointType',
      "must be 'ip' or 'hostname'",
      preferredEndpointType,
    );
    const clusterDomain = props.clusterDomain ?? 'cluster.local';
    check(
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(clusterDomain),
      owner,
      'clusterDomain',
      'must be a DNS domain',
      clusterDomain,
    );
    const metrics = props.metrics ?? {};
    const exporterImage = metrics.exporter === false ? undefined : (metrics.exporterImage ?? DEFAULT_EXPORTER_IMAGE);

    this.labels = {
      'app.kubernetes.io/name': 'redis-cluster',
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'slotforge',
    };
    this.memberLabels = { ...this.labels, 'app.kubernetes.io/component': 'member' };

    this.redisConf = renderClusterConf(
      {
        port: this.port,
        nodeTimeoutMs,
        persistence: this.persistence,
        memory: this.memory,
        evictionPolicy: this.evictionPolicy,
        requireFullCoverage: profile.requireFullCoverage,
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
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, labels: this.labels },
      data,
    });
    const configHash = createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);

    this.auth = new RedisAuth(this, 'Auth', {
      ...props.auth,
      baseName: name,
      labels: { ...this.labels, 'app.kubernetes.io/component': 'auth' },
      keys: secretKeysOf(CLUSTER_ACL_USERS),
    });

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
    };
    const resources: k8s.ResourceRequirements = {
      requests: { cpu: k8s.Quantity.fromString(cpuRequest), memory: k8s.Quantity.fromString(memoryRequest) },
      limits: {
        memory: k8s.Quantity.fromString(memoryLimit),
        ...(res.cpuLimit ? { cpu: k8s.Quantity.fromString(res.cpuLimit) } : {}),
      },
    };
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
              },
              configMapName: `${name}-config`,
              secretName: this.auth.secretName,
              tlsSecretName: this.tlsSecretName,
              resources,
              terminationGracePeriodSeconds: grace,
              antiAffinity,
              shardLabels,
              memberLabels: this.memberLabels,
              annotations: { 'slotforge.io/config-hash': configHash },
            }),
            volumeClaimTemplates: [dataClaimTemplate(storageSize, props.storage?.storageClassName)],
          },
        }),
      );
      this.disruptionBudgets.push(
        new k8s.KubePodDisruptionBudget(this, `Budget${shard}`, {
          metadata: { name: shardName, labels: shardLabels },
          spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: shardLabels } },
        }),
      );
    }

    const retiring = this.retiringShards ? `-retire${this.retiringShards}` : '';
    this.topologyJob = topologyJob(this, 'Topology', {
      name: `${name}-topology-${this.shards}x${shardSize}${retiring}`,
      labels: { ...this.labels, 'app.kubernetes.io/component': 'topology' },
      image: this.image,
      env: { ...topologyEnv, SLOTFORGE_SHARDS: this.shards, SLOTFORGE_RETIRING_SHARDS: this.retiringShards },
      configMapName: `${name}-config`,
      secretName: this.auth.secretName,
      tlsSecretName: this.tlsSecretName,
    });

    const np = props.networkPolicy ?? {};
    this.networkPolicy = redisNetworkPolicy(this, 'NetworkPolicy', {
      name,
      labels: this.labels,
      memberSelector: this.memberLabels,
      peerSelector: { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/managed-by': 'slotforge' },
      clientPodLabels: np.clientPodLabels ?? { 'slotforge.io/client': name },
      metricsNamespaceLabels: np.metricsNamespaceLabels ?? { 'kubernetes.io/metadata.name': 'monitoring' },
      redisPort: this.port,
      busPort: this.busPort,
      metricsPort: EXPORTER_PORT,
    });

    const monitoring = {
      name,
      labels: this.labels,
      serviceSelector: { ...this.labels, 'slotforge.io/service': 'client' },
      serviceName: name,
    };
    if (metrics.serviceMonitor) {
      check(
        exporterImage !== undefined,
        owner,
        'metrics.serviceMonitor',
        'needs metrics.exporter',
        metrics.serviceMonitor,
      );
      this.serviceMonitor = serviceMonitor(this, 'ServiceMonitor', monitoring);
    }
    if (metrics.prometheusRule) this.prometheusRule = prometheusRule(this, 'PrometheusRule', monitoring);

    this.node.addValidation({
      validate: () => {
        const chart = Chart.of(this);
        const clash = chart.node
          .findAll()
          .filter((c): c is RedisCluster => c instanceof RedisCluster && c !== this && c.clusterName === name);
        return clash.length
          ? [`${owner}: name must be unique in its chart (also used by ${clash.map((c) => c.node.path).join(', ')})`]
          : [];
      },
    });
  }
}

/** @internal Used by tests to find every object of a construct. */
export function apiObjectsOf(construct: Construct): ApiObject[] {
  return construct.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
}
