import { EVICTION_POLICIES, type EvictionPolicy } from '../config/directives.ts';
import { planMemory } from '../config/memory.ts';
import { type PersistenceOptions, PROFILES, type RedisProfile, resolvePersistence } from '../config/profiles.ts';
import { parseMemoryQuantity } from '../config/quantity.ts';
import { type DirectiveValue, validateUserConfig } from '../config/redis-conf.ts';
import { check } from '../errors.ts';
import { REDIS_IMAGE } from '../images.ts';
import { DEFAULT_EXPORTER_IMAGE, EXPORTER_PORT } from '../metrics/exporter.ts';
import type { StorageOptions } from '../persistence.ts';
import type { AuthOptions } from '../security/auth.ts';
import type { NetworkPolicyOptions } from '../security/network-policy.ts';
import type { TlsOptions } from '../security/tls.ts';

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

/** Properties of a RedisCluster. */
/** Deadlines of the shell scripts in the pods and the topology Job (each a hang that would otherwise need a person). */
export interface ScriptTimeoutOptions {
  /**
   * Bound of every redis-cli call of the scripts and probes (redis-cli 7.0 has no timeout of its own): a deleted or
   * frozen peer never answers. The probes' timeoutSeconds is this plus 2.
   * @default 3
   */
  readonly redisCliSeconds?: number;
  /**
   * How long a master's preStop waits for a replica that answers before it stops without a hand-over (on a full
   * restart the replicas are gone first; waiting for them only delays the restart).
   * @default 3
   */
  readonly preStopPeerWaitSeconds?: number;
  /**
   * Bound of the slot rebalance of the topology Job (scale out or in); the Job's activeDeadlineSeconds is this plus
   * 600. Moving slots takes as long as their keys take to MIGRATE.
   * @default 3000
   */
  readonly rebalanceSeconds?: number;
}

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
  /** @default 'redis:8.0.6' (DEFAULT_REDIS_IMAGE) */
  readonly image?: string;
  /**
   * `cluster-require-full-coverage`: with `true`, while any slot is uncovered (a shard whose master failed and has no
   * replica to promote yet) EVERY node answers CLUSTERDOWN on EVERY slot (measured: ~12 s for one shard frozen past
   * the node timeout); with `false` the other shards keep serving their slots and only the lost shard's keys fail.
   * A cache wants `false`. A store may choose: `true` keeps the keyspace all-or-nothing (an application never sees
   * some keys while others of the same logical record are unreachable), `false` keeps most of it available.
   * @default false for `cache`, true for `store`
   */
  readonly requireFullCoverage?: boolean;
  /**
   * `cluster-allow-reads-when-down`: nodes serve reads (not writes) while the cluster is down, from a master on the
   * minority side or a replica with READONLY, so reads may return data that the majority side has since changed or a
   * failover is about to discard. Pair it with the client's `readFrom: 'replicas'` to read a failed shard's keys
   * from its replica before the promotion.
   * @default false
   */
  readonly allowReadsWhenDown?: boolean;
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
   * @default memoryLimit minus max(25%, 64Mi); with persistence (AOF or RDB) half of that, so a fork's
   * copy-on-write fits (docs/persistence-and-eviction.md)
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
  /** @default see {@link ScriptTimeoutOptions} */
  readonly scriptTimeouts?: ScriptTimeoutOptions;
  /**
   * StatefulSet `minReadySeconds`: a restarted member must stay Ready this long before a rollout moves on to the next
   * one. Readiness already waits for a replica's full resync (probe.sh); this rides out a replica that reports in sync
   * and then drops its link again (a sync that fails on its last step, an output-buffer limit).
   * @default 10
   */
  readonly minReadySeconds?: number;
}

export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const isInt = (value: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isInteger(value) && value >= min && value <= max;

/** Every prop of a RedisCluster validated and with its default resolved. @internal */
export type ResolvedClusterProps = ReturnType<typeof resolveClusterProps>;

/**
 * Validates the props and resolves their defaults, once. Each failure throws an InvalidPropError naming the
 * construct, the prop, the rule and the value. `owner` names the construct in those errors (RedisSentinel validates
 * its shared member props, such as profile, persistence, resources and config, through this function).
 * @internal
 */
export function resolveClusterProps(
  id: string,
  props: RedisClusterProps,
  owner = `RedisCluster '${props.name ?? id}'`,
) {
  const name = props.name ?? id;
  check(
    NAME_PATTERN.test(name) && name.length <= 30,
    owner,
    'name',
    'must be a DNS label of at most 30 characters (pod names append -shard-<s>-<m> and must stay under 63)',
    name,
  );
  const _clusterName = name;
  const shards = props.shards ?? 3;
  check(
    isInt(shards, 3, 1000),
    owner,
    'shards',
    'must be an integer of at least 3 so a failover can win a majority',
    shards,
  );
  const replicasPerShard = props.replicasPerShard ?? 1;
  check(isInt(replicasPerShard, 0, 5), owner, 'replicasPerShard', 'must be an integer from 0 to 5', replicasPerShard);
  const retiringShards = props.retiringShards ?? 0;
  check(isInt(retiringShards, 0, 1000), owner, 'retiringShards', 'must be a non-negative integer', retiringShards);
  const profileName = props.profile ?? 'store';
  check(profileName in PROFILES, owner, 'profile', "must be 'cache' or 'store'", profileName);
  const profile = PROFILES[profileName];
  const requireFullCoverage = props.requireFullCoverage ?? profile.requireFullCoverage;
  check(
    typeof requireFullCoverage === 'boolean',
    owner,
    'requireFullCoverage',
    'must be true or false',
    requireFullCoverage,
  );
  const allowReadsWhenDown = props.allowReadsWhenDown ?? false;
  check(
    typeof allowReadsWhenDown === 'boolean',
    owner,
    'allowReadsWhenDown',
    'must be true or false',
    allowReadsWhenDown,
  );
  const image = props.image ?? DEFAULT_REDIS_IMAGE;
  check(image.trim() !== '' && !/\s/.test(image), owner, 'image', 'must be an image reference', image);
  const port = props.port ?? 6379;
  check(isInt(port, 1, 55535), owner, 'port', 'must be an integer from 1 to 55535 (the bus uses port + 10000)', port);
  check(port !== EXPORTER_PORT, owner, 'port', `must differ from the exporter port ${EXPORTER_PORT}`, port);
  const busPort = port + 10000;
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
  const persistence = resolvePersistence(profileName, persistenceOptions);
  const evictionPolicy = props.evictionPolicy ?? profile.evictionPolicy;
  check(
    (EVICTION_POLICIES as readonly string[]).includes(evictionPolicy),
    owner,
    'evictionPolicy',
    `must be one of ${EVICTION_POLICIES.join(', ')}`,
    evictionPolicy,
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
  const memory = planMemory(owner, limitBytes, maxmemoryBytes, persistence.mode !== 'none');
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
  const timeouts = props.scriptTimeouts ?? {};
  const scriptTimeouts = {
    redisCliSeconds: timeouts.redisCliSeconds ?? 3,
    preStopPeerWaitSeconds: timeouts.preStopPeerWaitSeconds ?? 3,
    rebalanceSeconds: timeouts.rebalanceSeconds ?? 3000,
  };
  check(
    isInt(scriptTimeouts.redisCliSeconds, 1, 30),
    owner,
    'scriptTimeouts.redisCliSeconds',
    'must be an integer from 1 to 30',
    scriptTimeouts.redisCliSeconds,
  );
  check(
    isInt(scriptTimeouts.preStopPeerWaitSeconds, 1, grace - 15),
    owner,
    'scriptTimeouts.preStopPeerWaitSeconds',
    `must be an integer from 1 to ${grace - 15} (the preStop budget, terminationGracePeriodSeconds - 15)`,
    scriptTimeouts.preStopPeerWaitSeconds,
  );
  check(
    isInt(scriptTimeouts.rebalanceSeconds, 60, 86_400),
    owner,
    'scriptTimeouts.rebalanceSeconds',
    'must be an integer from 60 to 86400',
    scriptTimeouts.rebalanceSeconds,
  );
  const minReadySeconds = props.minReadySeconds ?? 10;
  check(isInt(minReadySeconds, 0, 600), owner, 'minReadySeconds', 'must be an integer from 0 to 600', minReadySeconds);
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
  return {
    name,
    owner,
    shards,
    replicasPerShard,
    retiringShards,
    profileName,
    profile,
    requireFullCoverage,
    allowReadsWhenDown,
    image,
    port,
    busPort,
    nodeTimeoutMs,
    persistence,
    evictionPolicy,
    memoryLimit,
    memoryRequest,
    cpuRequest,
    cpuLimit: res.cpuLimit,
    memory,
    storageSize,
    storageClassName: props.storage?.storageClassName,
    userConfig,
    antiAffinity,
    grace,
    guardSeconds,
    scriptTimeouts,
    minReadySeconds,
    preferredEndpointType,
    clusterDomain,
    metrics,
    exporterImage,
  };
}
