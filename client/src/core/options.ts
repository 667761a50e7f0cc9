import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreakerOptions } from './breaker.ts';
import { booleanOption, durationOption, enumOption, integerOption, invalidOption, stringOption } from './validate.ts';

/**
 * Connection options and their defaults, resolved once. The defaults are chosen to survive real faults (FACTS):
 * a slot map refreshed every second and after every timed-out attempt, and a per-operation deadline long enough to
 * ride out a failover (3.5 to 4.6 s with cluster-node-timeout 2000 ms).
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
const READ_FROM: readonly ReadFrom[] = ['master', 'replicas', 'all'];

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

function parseHostPort(text: string, option: string): HostPort {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text) ?? /^([^:]+)$/.exec(text);
  const host = match?.[1];
  const port = match?.[2] === undefined ? CONNECTION_DEFAULTS.port : Number(match[2]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidOption(option, 'host:port with a port between 1 and 65535', text);
  }
  return { host, port };
}

function validateHostPort(value: unknown, option: string): HostPort {
  const v = value as Partial<HostPort> | undefined;
  if (!v || typeof v.host !== 'string' || v.host.length === 0)
    throw invalidOption(`${option}.host`, 'a non-empty string', v?.host);
  integerOption(`${option}.port`, v.port, 1, 65535);
  return { host: v.host, port: v.port as number };
}

/** Parses a connection URL (see ConnectionOptions.url). */
export function parseRedisUrl(url: string): Partial<ConnectionOptions> & { target: Target } {
  const match =
    /^(redis|rediss|redis\+cluster|rediss\+cluster|redis\+sentinel|rediss\+sentinel):\/\/(?:([^@/]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(
      url,
    );
  if (!match) {
    throw invalidOption(
      'url',
      'redis://[user:password@]host:port[/db], redis+cluster://host:port,... or redis+sentinel://host:port,.../masterName',
      redactUrl(url),
    );
  }
  const [, scheme = 'redis', auth, hosts = '', path = '', query = ''] = match;
  const params = parseQuery(query, scheme.endsWith('+sentinel') ? SENTINEL_URL_PARAMS : [], url);
  const tls = scheme.startsWith('rediss');
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    if (colon === -1) password = decodeURIComponent(auth);
    else {
      username = decodeURIComponent(auth.slice(0, colon)) || undefined;
      password = decodeURIComponent(auth.slice(colon + 1));
    }
  }
  const addresses = hosts
    .split(',')
    .filter((h) => h.length > 0)
    .map((h) => parseHostPort(h, 'url'));
  const first = addresses[0] ?? { host: CONNECTION_DEFAULTS.host, port: CONNECTION_DEFAULTS.port };
  const base = {
    tls,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
  if (scheme.endsWith('+cluster')) {
    if (addresses.length === 0) throw invalidOption('url', 'a cluster URL with at least one seed node', url);
    return { ...base, target: { mode: 'cluster', nodes: addresses } };
  }
  if (scheme.endsWith('+sentinel')) {
    const [masterName = '', dbText, ...extra] = path.split('/');
    if (addresses.length === 0 || masterName === '' || extra.length > 0) {
      throw invalidOption('url', 'a sentinel URL with sentinel addresses and /masterName[/db]', redactUrl(url));
    }
    return {
      ...base,
      ...(dbText === undefined || dbText === '' ? {} : { db: parseDb(dbText, url) }),
      target: {
        mode: 'sentinel',
        sentinels: addresses,
        masterName: decodeURIComponent(masterName),
        sentinelPassword: params.get('sentinelPassword'),
        sentinelUsername: params.get('sentinelUsername'),
      },
    };
  }
  if (addresses.length > 1) throw invalidOption('url', 'one host (use redis+cluster:// for several)', url);
  const db = path === '' ? undefined : parseDb(path, url);
  return { ...base, ...(db === undefined ? {} : { db }), target: { mode: 'standalone', ...first } };
}

/** Query parameters a Sentinel URL accepts (the sentinels' own credentials, named like ioredis' options). */
const SENTINEL_URL_PARAMS = ['sentinelPassword', 'sentinelUsername'] as const;

function parseQuery(query: string, allowed: readonly string[], url: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const [name, value] of new URLSearchParams(query)) {
    if (!allowed.includes(name)) {
      const rule = allowed.length === 0 ? 'no query parameters' : `query parameters among ${allowed.join(', ')}`;
      throw invalidOption('url', `${rule} (unknown '${name}')`, redactUrl(url));
    }
    params.set(name, value);
  }
  return params;
}

function parseDb(text: string, url: string): number {
  const db = Number(text);
  if (!Number.isInteger(db) || db < 0 || text === '')
    throw invalidOption('url', 'a database number >= 0 after /', redactUrl(url));
  return db;
}

/** The url with its passwords replaced by '***', for error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/:]*):[^@/]*@/, '//$1:***@').replace(/([?&]sentinelPassword=)[^&#]*/g, '$1***');
}

/** Validates connection options and applies CONNECTION_DEFAULTS. */
export function resolveConnectionOptions(options: ConnectionOptions = {}): ResolvedConnectionOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  // `sentinel: { password, username }` next to a url only adds the sentinels' credentials: not a second way in.
  const sentinelCredentialsOnly =
    options.url !== undefined &&
    options.sentinel !== undefined &&
    options.sentinel.sentinels === undefined &&
    options.sentinel.masterName === undefined;
  const given = [
    options.url,
    options.cluster,
    sentinelCredentialsOnly ? undefined : options.sentinel,
    options.host ?? options.port,
  ].filter((v) => v !== undefined);
  if (given.length > 1) {
    throw invalidOption(
      'url/host/cluster/sentinel',
      'exactly one way to reach Redis (with a url, sentinel may hold only { password, username })',
      given.length,
    );
  }
  let target: Target;
  let fromUrl: Partial<ConnectionOptions> = {};
  if (options.url !== undefined) {
    const parsed = parseRedisUrl(stringOption('url', options.url));
    target = parsed.target;
    fromUrl = parsed;
    if (options.sentinel !== undefined) {
      if (target.mode !== 'sentinel')
        throw invalidOption('sentinel', 'absent unless url is a redis+sentinel:// url', options.sentinel);
      target = {
        ...target,
        sentinelPassword: optionalString('sentinel.password', options.sentinel.password) ?? target.sentinelPassword,
        sentinelUsername: optionalString('sentinel.username', options.sentinel.username) ?? target.sentinelUsername,
      };
    }
  } else if (options.cluster !== undefined) {
    const nodes = options.cluster.nodes;
    if (!Array.isArray(nodes) || nodes.length === 0)
      throw invalidOption('cluster.nodes', 'a non-empty array of { host, port }', nodes);
    target = { mode: 'cluster', nodes: nodes.map((n, i) => validateHostPort(n, `cluster.nodes[${i}]`)) };
  } else if (options.sentinel !== undefined) {
    const { sentinels, masterName, password, username } = options.sentinel;
    if (!Array.isArray(sentinels) || sentinels.length === 0) {
      throw invalidOption('sentinel.sentinels', 'a non-empty array of { host, port }', sentinels);
    }
    target = {
      mode: 'sentinel',
      sentinels: sentinels.map((n, i) => validateHostPort(n, `sentinel.sentinels[${i}]`)),
      masterName: stringOption('sentinel.masterName', masterName),
      sentinelPassword: optionalString('sentinel.password', password),
      sentinelUsername: optionalString('sentinel.username', username),
    };
  } else {
    const host = options.host ?? CONNECTION_DEFAULTS.host;
    target = {
      mode: 'standalone',
      host: stringOption('host', host),
      port: integerOption('port', options.port ?? CONNECTION_DEFAULTS.port, 1, 65535),
    };
  }
  const db = integerOption('db', options.db ?? fromUrl.db ?? CONNECTION_DEFAULTS.db, 0, 65535);
  if (target.mode === 'cluster' && db !== 0)
    throw invalidOption('db', '0 on a cluster (a cluster has only database 0)', db);
  const resolved: ResolvedConnectionOptions = {
    target,
    username: options.username ?? fromUrl.username,
    password: options.password ?? fromUrl.password,
    db,
    tls: options.tls ?? fromUrl.tls ?? false,
    commandTimeoutMs: durationOption(
      'commandTimeoutMs',
      options.commandTimeoutMs ??
        (target.mode === 'sentinel' ? SENTINEL_COMMAND_TIMEOUT_MS : CONNECTION_DEFAULTS.commandTimeoutMs),
      1,
    ),
    attemptTimeoutMs: durationOption(
      'attemptTimeoutMs',
      options.attemptTimeoutMs ?? CONNECTION_DEFAULTS.attemptTimeoutMs,
      1,
    ),
    connectTimeoutMs: durationOption(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
      1,
    ),
    retryBaseDelayMs: durationOption(
      'retryBaseDelayMs',
      options.retryBaseDelayMs ?? CONNECTION_DEFAULTS.retryBaseDelayMs,
      1,
    ),
    retryMaxDelayMs: durationOption(
      'retryMaxDelayMs',
      options.retryMaxDelayMs ?? CONNECTION_DEFAULTS.retryMaxDelayMs,
      1,
    ),
    slotsRefreshIntervalMs: durationOption(
      'slotsRefreshIntervalMs',
      options.slotsRefreshIntervalMs ?? CONNECTION_DEFAULTS.slotsRefreshIntervalMs,
      10,
    ),
    slotsRefreshTimeoutMs: durationOption(
      'slotsRefreshTimeoutMs',
      options.slotsRefreshTimeoutMs ?? CONNECTION_DEFAULTS.slotsRefreshTimeoutMs,
      1,
    ),
    connectionName: stringOption('connectionName', options.connectionName ?? CONNECTION_DEFAULTS.connectionName),
    coalesceWrites: booleanOption('coalesceWrites', options.coalesceWrites ?? CONNECTION_DEFAULTS.coalesceWrites),
    circuitBreaker: resolveBreaker(options.circuitBreaker),
    readFrom: enumOption('readFrom', options.readFrom ?? CONNECTION_DEFAULTS.readFrom, READ_FROM),
  };
  if (resolved.retryMaxDelayMs < resolved.retryBaseDelayMs) {
    throw invalidOption(
      'retryMaxDelayMs',
      `>= retryBaseDelayMs (${resolved.retryBaseDelayMs})`,
      resolved.retryMaxDelayMs,
    );
  }
  return resolved;
}

function resolveBreaker(value: ConnectionOptions['circuitBreaker']): Required<CircuitBreakerOptions> | null {
  if (value === false) return null;
  if (value !== undefined && (typeof value !== 'object' || value === null))
    throw invalidOption('circuitBreaker', 'false or { failureThreshold, openMs }', value);
  return {
    failureThreshold: integerOption(
      'circuitBreaker.failureThreshold',
      value?.failureThreshold ?? CIRCUIT_BREAKER_DEFAULTS.failureThreshold,
      1,
    ),
    openMs: durationOption('circuitBreaker.openMs', value?.openMs ?? CIRCUIT_BREAKER_DEFAULTS.openMs, 10),
  };
}

function optionalString(option: string, value: unknown): string | undefined {
  return value === undefined ? undefined : stringOption(option, value);
}
