import {
  type DirectiveValue,
  EVICTION_POLICIES,
  type EvictionPolicy,
  type PersistenceOptions,
  PROFILES,
  parseMemoryQuantity,
  planMemory,
  type RedisProfile,
  resolvePersistence,
  validateUserConfig,
} from '../config/index.ts';
import { check, checkInt, checkOneOf, isInt } from '../errors.ts';
import { REDIS_IMAGE } from '../images.ts';
import { DEFAULT_EXPORTER_IMAGE } from '../metrics/index.ts';
import type { StorageOptions } from '../persistence.ts';
import type { AuthOptions, NetworkPolicyOptions } from '../security/index.ts';

/**
 * The deployed Redis: the oldest maintained 8.x tag (8.2.9); the local runtime runs Debian's 8.0.2 with the same
 * security fixes backported. infra/images.ts records where the tag was checked and how close the local image is.
 */
export const DEFAULT_REDIS_IMAGE = REDIS_IMAGE;

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
  /** @default 'oliver006/redis_exporter:v1.88.0' (DEFAULT_EXPORTER_IMAGE) */
  readonly exporterImage?: string;
  /** A Prometheus Operator ServiceMonitor. @default false */
  readonly serviceMonitor?: boolean;
  /** A Prometheus Operator PrometheusRule with the cluster alerts. @default false */
  readonly prometheusRule?: boolean;
}

/**
 * Properties every construct of Redis data pods shares (RedisCluster members, RedisSentinel data pods): what the data
 * is for, the image, persistence, memory, volumes, config, auth, network policy, metrics and scheduling.
 */
export interface RedisDataProps {
  /**
   * `cache`: no persistence, `allkeys-lru`. `store`: AOF everysec, `noeviction`. Explicit props override the profile.
   * @default 'store'
   */
  readonly profile?: RedisProfile;
  /** @default 'redis:8.2.9' (DEFAULT_REDIS_IMAGE) */
  readonly image?: string;
  /** @default from the profile */
  readonly persistence?: PersistenceOptions;
  /** Volumes of the data pods. @default from the profile */
  readonly storage?: StorageOptions;
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
   * Extra redis.conf directives (Redis 7.0) for the data pods, validated at synth time; they replace the construct's
   * values.
   * @default {}
   */
  readonly config?: Readonly<Record<string, DirectiveValue>>;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** @default a generated Secret */
  readonly auth?: AuthOptions;
  /** @default clients labelled `slotforge.io/client: <name>`, metrics from namespace `monitoring` */
  readonly networkPolicy?: NetworkPolicyOptions;
  /** @default exporter on, no Prometheus Operator objects */
  readonly metrics?: MetricsOptions;
  /**
   * Data pods of one group (a shard, the Sentinel's data pods and sentinels) on different nodes: `required`
   * guarantees it (a single-node cluster such as kind then schedules one pod per group only), `preferred` tries.
   * @default 'required'
   */
  readonly antiAffinity?: 'required' | 'preferred';
  /**
   * Time for the preStop failover plus shutdown; the preStop budget is this minus 15 s.
   * @default 60
   */
  readonly terminationGracePeriodSeconds?: number;
}

/** The {@link RedisDataProps} validated, with their defaults resolved. @internal */
export type ResolvedDataProps = ReturnType<typeof resolveDataProps>;

/**
 * Validates the shared data-pod props and resolves their defaults, once. Each failure throws an InvalidPropError
 * naming `owner` (`RedisCluster 'x'`, `RedisSentinel 'y'`), the prop, the rule and the value.
 * @internal
 */
export function resolveDataProps(owner: string, props: RedisDataProps) {
  const profileName = props.profile ?? 'store';
  checkOneOf(owner, 'profile', profileName, ['cache', 'store']);
  const profile = PROFILES[profileName];
  const image = props.image ?? DEFAULT_REDIS_IMAGE;
  check(image.trim() !== '' && !/\s/.test(image), owner, 'image', 'must be an image reference', image);
  const persistenceOptions = props.persistence ?? {};
  if (persistenceOptions.appendfsync !== undefined) {
    checkOneOf(owner, 'persistence.appendfsync', persistenceOptions.appendfsync, ['everysec', 'always']);
  }
  for (const pair of persistenceOptions.rdb || []) {
    check(
      pair.length === 2 && isInt(pair[0], 1) && isInt(pair[1], 1),
      owner,
      'persistence.rdb',
      'must list [seconds, changes] pairs of positive integers',
      pair,
    );
  }
  const persistence = resolvePersistence(profileName, persistenceOptions);
  const evictionPolicy = props.evictionPolicy ?? profile.evictionPolicy;
  check(
    (EVICTION_POLICIES as readonly string[]).includes(evictionPolicy),
    owner,
    'evictionPolicy',
    `must be one of ${EVICTION_POLICIES.join(', ')}`,
    evictionPolicy,
  );
  const resources = resolveResources(owner, props.resources ?? {});
  const maxmemoryBytes =
    props.maxmemory === undefined ? undefined : parseMemoryQuantity(owner, 'maxmemory', props.maxmemory);
  const memory = planMemory(owner, resources.limitBytes, maxmemoryBytes, persistence.mode !== 'none');
  const storageSize = props.storage?.size ?? profile.storageSize;
  parseMemoryQuantity(owner, 'storage.size', storageSize);
  const userConfig = props.config ?? {};
  validateUserConfig(owner, userConfig);
  const antiAffinity = props.antiAffinity ?? 'required';
  checkOneOf(owner, 'antiAffinity', antiAffinity, ['required', 'preferred']);
  const grace = props.terminationGracePeriodSeconds ?? 60;
  checkInt(owner, 'terminationGracePeriodSeconds', grace, 20, 3600, 'preStop needs time to fail over');
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
  check(
    !metrics.serviceMonitor || exporterImage !== undefined,
    owner,
    'metrics.serviceMonitor',
    'needs metrics.exporter',
    metrics.serviceMonitor,
  );
  return {
    owner,
    profileName,
    profile,
    image,
    persistence,
    evictionPolicy,
    memoryLimit: resources.memoryLimit,
    memoryRequest: resources.memoryRequest,
    cpuRequest: resources.cpuRequest,
    cpuLimit: resources.cpuLimit,
    memory,
    storageSize,
    storageClassName: props.storage?.storageClassName,
    userConfig,
    antiAffinity,
    grace,
    clusterDomain,
    metrics,
    exporterImage,
  };
}

function resolveResources(owner: string, res: MemberResources) {
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
  return { memoryLimit, limitBytes, memoryRequest, cpuRequest, cpuLimit: res.cpuLimit };
}
