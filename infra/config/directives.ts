/**
 * The redis.conf directives (Redis 7.0) a construct lets users set through `config`, each with its value rule.
 * Directives the construct owns (ports, paths, auth, cluster identity, persistence and memory, which have typed props)
 * are listed in {@link MANAGED_DIRECTIVES} with the prop to use instead.
 * @see https://raw.githubusercontent.com/redis/redis/7.0/redis.conf
 * @internal
 */

/** How a directive's value is checked. */
export type DirectiveRule =
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'memory' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'pattern'; readonly pattern: RegExp; readonly description: string };

const bool = { kind: 'bool' } as const;
const int = (min: number, max: number = 2 ** 31 - 1) => ({ kind: 'int', min, max }) as const;
const memory = { kind: 'memory' } as const;
const oneOf = (...values: string[]) => ({ kind: 'enum', values }) as const;

/** Eviction policies of `maxmemory-policy`. */
export const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

export const DIRECTIVES: Readonly<Record<string, DirectiveRule>> = {
  'maxmemory-policy': oneOf(...EVICTION_POLICIES),
  'maxmemory-samples': int(1, 64),
  'maxmemory-eviction-tenacity': int(0, 100),
  'maxmemory-clients': memory,
  'lfu-log-factor': int(0),
  'lfu-decay-time': int(0),
  timeout: int(0),
  'tcp-keepalive': int(0),
  'tcp-backlog': int(1, 65535),
  maxclients: int(1),
  loglevel: oneOf('debug', 'verbose', 'notice', 'warning'),
  'slowlog-log-slower-than': int(-1),
  'slowlog-max-len': int(0),
  'latency-monitor-threshold': int(0),
  'latency-tracking': bool,
  'notify-keyspace-events': {
    kind: 'pattern',
    pattern: /^[KEg$lshzxetdmAn]*$/,
    description: 'must be a set of the flags K E g $ l s h z x e t d m A n',
  },
  hz: int(1, 500),
  'dynamic-hz': bool,
  activedefrag: bool,
  'active-expire-effort': int(1, 10),
  'lazyfree-lazy-eviction': bool,
  'lazyfree-lazy-expire': bool,
  'lazyfree-lazy-server-del': bool,
  'lazyfree-lazy-user-del': bool,
  'lazyfree-lazy-user-flush': bool,
  'replica-lazy-flush': bool,
  'io-threads': int(1, 128),
  'io-threads-do-reads': bool,
  'auto-aof-rewrite-percentage': int(0),
  'auto-aof-rewrite-min-size': memory,
  'aof-use-rdb-preamble': bool,
  'aof-timestamp-enabled': bool,
  'no-appendfsync-on-rewrite': bool,
  'aof-load-truncated': bool,
  rdbcompression: bool,
  rdbchecksum: bool,
  'stop-writes-on-bgsave-error': bool,
  'repl-backlog-size': memory,
  'repl-backlog-ttl': int(0),
  'repl-timeout': int(1),
  'repl-ping-replica-period': int(1),
  'repl-diskless-sync': bool,
  'repl-diskless-sync-delay': int(0),
  'repl-diskless-sync-max-replicas': int(0),
  'repl-diskless-load': oneOf('disabled', 'on-empty-db', 'swapdb'),
  'repl-disable-tcp-nodelay': bool,
  'replica-serve-stale-data': bool,
  'replica-priority': int(0),
  'min-replicas-to-write': int(0),
  'min-replicas-max-lag': int(0),
  'cluster-node-timeout': int(100),
  'cluster-replica-validity-factor': int(0),
  'cluster-migration-barrier': int(0),
  'cluster-allow-replica-migration': bool,
  'cluster-require-full-coverage': bool,
  'cluster-replica-no-failover': bool,
  'cluster-allow-reads-when-down': bool,
  'cluster-allow-pubsubshard-when-down': bool,
  'cluster-link-sendbuf-limit': memory,
  'cluster-preferred-endpoint-type': oneOf('ip', 'hostname', 'unknown-endpoint'),
  'client-output-buffer-limit': {
    kind: 'pattern',
    pattern: /^(normal|replica|pubsub) \d+[kmgb]* \d+[kmgb]* \d+$/i,
    description: 'must read `<normal|replica|pubsub> <hard> <soft> <seconds>`',
  },
  'client-query-buffer-limit': memory,
  'proto-max-bulk-len': memory,
  'busy-reply-threshold': int(0),
  'hash-max-listpack-entries': int(0),
  'hash-max-listpack-value': int(0),
  'list-max-listpack-size': int(-5),
  'list-compress-depth': int(0),
  'set-max-intset-entries': int(0),
  'zset-max-listpack-entries': int(0),
  'zset-max-listpack-value': int(0),
  'stream-node-max-bytes': memory,
  'stream-node-max-entries': int(0),
  'jemalloc-bg-thread': bool,
  'shutdown-timeout': int(0),
  'lua-time-limit': int(0),
};

/** Directives the construct sets itself, with the prop that controls each. */
export const MANAGED_DIRECTIVES: Readonly<Record<string, string>> = {
  port: 'port',
  'tls-port': 'tls',
  'cluster-port': 'port',
  bind: 'the pod address',
  dir: 'storage',
  'cluster-enabled': 'the construct (always yes)',
  'cluster-config-file': 'the construct (nodes.conf on the volume)',
  'cluster-announce-ip': 'the pod address',
  'cluster-announce-hostname': 'the pod DNS name',
  requirepass: 'auth',
  masterauth: 'auth',
  masteruser: 'auth',
  user: 'auth (ACL users)',
  aclfile: 'auth (ACL users)',
  'rename-command': 'auth (ACL users)',
  appendonly: 'persistence.aof',
  appendfsync: 'persistence.appendfsync',
  save: 'persistence.rdb',
  maxmemory: 'maxmemory',
  'cluster-require-full-coverage': 'requireFullCoverage',
  'cluster-allow-reads-when-down': 'allowReadsWhenDown',
  include: 'nothing (one file is rendered)',
  daemonize: 'nothing (the container runs redis-server in the foreground)',
  logfile: 'nothing (logs go to stdout)',
  databases: 'nothing (a cluster has database 0 only)',
};
