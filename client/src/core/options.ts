import type { CircuitBreakerOptions } from './breaker.ts';

/**
 * Connection options and their defaults, resolved once. The defaults are chosen to survive real faults (FACTS):
 * a slot map refreshed every second and after every timed-out attempt, and a per-operation deadline long enough to
 * ride out a failover (3.5 to 4.6 s with cluster-node-timeout 2000 ms). URLs are parsed in redis-url.ts, options are
 * validated and resolved in resolve-options.ts.
 */

/** A host and port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** How to reach Redis: exactly one of `url`, `host`/`port`, `cluster` or `sentinel`. */
export interface ConnectionOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://...` (TLS),
   * `redis+cluster://[user:password@]host:port,host:port` (seed nodes),
   * `redis+sentinel://[user:password@]host:port,host:port/masterName[/db][?sentinelPassword=...&sentinelUsername=...]`.
   * In every form the user info is the data nodes' credentials (the Redis ACL user); a Sentinel URL carries the
   * sentinels' own credentials as the query parameters `sentinelPassword`/`sentinelUsername` (ioredis' option names),
   * or takes them from `sentinel: { password, username }` given next to `url`. Percent-encode reserved characters.
   */
  readonly url?: string;
  /** Standalone host. @default '127.0.0.1' when nothing else is given */
  readonly host?: string;
  /** Standalone port. @default 6379 */
  readonly port?: number;
  /** Cluster seed nodes: any reachable ones; the rest is discovered from CLUSTER SLOTS. */
  readonly cluster?: { readonly nodes: readonly HostPort[] };
  /**
   * Sentinel addresses and the master name they monitor, and the sentinels' own credentials (`requirepass` /
   * ACL user of the sentinels, distinct from the data nodes' `username`/`password`). With a `redis+sentinel://` url,
   * give only `password`/`username` here (the url names the sentinels and the master).
   */
  readonly sentinel?: {
    readonly sentinels?: readonly HostPort[];
    readonly masterName?: string;
    readonly password?: string;
    readonly username?: string;
  };
  readonly username?: string;
  readonly password?: string;
  /** Logical database (standalone and sentinel only; a cluster has only db 0). @default 0 */
  readonly db?: number;
  /** Connect with TLS. @default false, true for rediss:// */
  readonly tls?: boolean;
  /**
   * Deadline of every operation, retries included. It must cover a failover: with cluster-node-timeout T a failover
   * takes about T + 1.5 s, so the default covers T up to about 6 s; raise it for Redis' default T of 15 s. Through
   * Sentinel, a failover takes `downAfterMs` + 1.2 to 2.4 s (measured: switch-master 6.2 to 7.4 s after the primary
   * stopped with the RedisSentinel chart's default downAfterMs of 5000) plus the client's reconnect, so the Sentinel
   * default is 12000: downAfterMs + 7 s. Raise it to `downAfterMs + 7000` when you raise downAfterMs.
   * @default 8000 (cluster, standalone), 12000 (sentinel: SENTINEL_COMMAND_TIMEOUT_MS)
   */
  readonly commandTimeoutMs?: number;
  /** Deadline of one attempt (ioredis `commandTimeout`); a timed-out attempt refreshes the slot map. @default 1000 */
  readonly attemptTimeoutMs?: number;
  /** TCP connect timeout. @default 2000 */
  readonly connectTimeoutMs?: number;
  /** First retry delay (full jitter, doubling). @default 50 */
  readonly retryBaseDelayMs?: number;
  /** Longest retry delay. @default 500 */
  readonly retryMaxDelayMs?: number;
  /** Cluster slot map refresh interval. @default 1000 */
  readonly slotsRefreshIntervalMs?: number;
  /** Cluster slot map refresh timeout. @default 1000 */
  readonly slotsRefreshTimeoutMs?: number;
  /** Connection name (CLIENT SETNAME) for debugging. @default 'slotforge' */
  readonly connectionName?: string;
  /**
   * Write the commands issued in one tick of the event loop to each node's socket in one system call (socket
   * cork/uncork), as node-redis does. ioredis otherwise makes one `write` per command, and on a busy process the
   * system calls cost more than everything else of a cache hit. Replies, ordering and deadlines are unchanged; a
   * command waits at most until the end of the current tick.
   * @default true
   */
  readonly coalesceWrites?: boolean;
  /**
   * Circuit breaker: after `failureThreshold` consecutive attempts Redis did not answer, the cache stops waiting on
   * it (getOrSet serves grace or the loader at once, get fails with E_CIRCUIT_OPEN) and a background PING probes it
   * every `openMs`; the first answer closes it. `false` turns it off. See core/breaker.ts.
   * @default { failureThreshold: 3, openMs: 1000 }
   */
  readonly circuitBreaker?: false | CircuitBreakerOptions;
  /**
   * Where a cluster client sends read-only commands (ioredis `scaleReads`). `replicas` reads from the replicas (with
   * READONLY): reads may be stale by the replication lag, and keep working while a master is failing over; with the
   * deployment's `cluster-allow-reads-when-down yes` (RedisCluster `allowReadsWhenDown`) they also keep working while
   * the cluster answers writes with CLUSTERDOWN. `all` spreads reads over masters and replicas. Writes always go to the
   * master. Cluster only.
   * @default 'master'
   */
  readonly readFrom?: ReadFrom;
}

/**
 * Default deadline through Sentinel: the RedisSentinel chart's default `downAfterMs` (5000) + the time from there to
 * `+switch-master` measured at 1.2 to 2.4 s + the client's reconnect and one retry, with a margin of about 1.5x
 * (docs/sentinel-setup.md "Failover timings").
 */
export const SENTINEL_COMMAND_TIMEOUT_MS = 12_000;

/** Where a cluster client reads: see {@link ConnectionOptions.readFrom}. */
export type ReadFrom = 'master' | 'replicas' | 'all';
/** @internal Every ReadFrom. */
export const READ_FROM: readonly ReadFrom[] = ['master', 'replicas', 'all'];

/** One defaults constant for the connection layer. */
export const CONNECTION_DEFAULTS = {
  host: '127.0.0.1',
  port: 6379,
  db: 0,
  commandTimeoutMs: 8000,
  attemptTimeoutMs: 1000,
  connectTimeoutMs: 2000,
  retryBaseDelayMs: 50,
  retryMaxDelayMs: 500,
  slotsRefreshIntervalMs: 1000,
  slotsRefreshTimeoutMs: 1000,
  connectionName: 'slotforge',
  coalesceWrites: true,
  readFrom: 'master',
} as const;

/** A resolved target. */
export type Target =
  | { readonly mode: 'standalone'; readonly host: string; readonly port: number }
  | { readonly mode: 'cluster'; readonly nodes: readonly HostPort[] }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly HostPort[];
      readonly masterName: string;
      readonly sentinelPassword: string | undefined;
      readonly sentinelUsername: string | undefined;
    };

/** Connection options after validation and defaults. */
export interface ResolvedConnectionOptions {
  readonly target: Target;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: boolean;
  readonly commandTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly slotsRefreshIntervalMs: number;
  readonly slotsRefreshTimeoutMs: number;
  readonly connectionName: string;
  readonly coalesceWrites: boolean;
  /** Null when turned off. */
  readonly circuitBreaker: Required<CircuitBreakerOptions> | null;
  readonly readFrom: ReadFrom;
}
