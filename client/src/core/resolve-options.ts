/**
 * Connection options validated (E_INVALID_OPTION naming the option, the rule and the value) and resolved with
 * CONNECTION_DEFAULTS, once, when a connection is opened.
 */
import { CIRCUIT_BREAKER_DEFAULTS, type CircuitBreakerOptions } from './breaker.ts';
import {
  CONNECTION_DEFAULTS,
  type ConnectionOptions,
  type HostPort,
  READ_FROM,
  type ResolvedConnectionOptions,
  SENTINEL_COMMAND_TIMEOUT_MS,
  type Target,
} from './options.ts';
import { parseRedisUrl } from './redis-url.ts';
import {
  booleanOption,
  durationOption,
  enumOption,
  integerOption,
  invalidOption,
  MAX_TIMER_MS,
  stringOption,
} from './validate.ts';

function validateHostPort(value: unknown, option: string): HostPort {
  const v = value as Partial<HostPort> | undefined;
  if (!v || typeof v.host !== 'string' || v.host.length === 0)
    throw invalidOption(`${option}.host`, 'a non-empty string', v?.host);
  integerOption(`${option}.port`, v.port, 1, 65535);
  return { host: v.host, port: v.port as number };
}

/** The duration options resolved alike: the value given or its default, at least a minimum. */
type DurationOption =
  | 'attemptTimeoutMs'
  | 'connectTimeoutMs'
  | 'retryBaseDelayMs'
  | 'retryMaxDelayMs'
  | 'slotsRefreshIntervalMs'
  | 'slotsRefreshTimeoutMs';

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
  /** A duration option of at least `min` ms, else its default. */
  const duration = (name: DurationOption, min: number) =>
    durationOption(name, options[name] ?? CONNECTION_DEFAULTS[name], min, MAX_TIMER_MS);
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
      MAX_TIMER_MS,
    ),
    attemptTimeoutMs: duration('attemptTimeoutMs', 1),
    connectTimeoutMs: duration('connectTimeoutMs', 1),
    retryBaseDelayMs: duration('retryBaseDelayMs', 1),
    retryMaxDelayMs: duration('retryMaxDelayMs', 1),
    slotsRefreshIntervalMs: duration('slotsRefreshIntervalMs', 10),
    slotsRefreshTimeoutMs: duration('slotsRefreshTimeoutMs', 1),
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
    openMs: durationOption('circuitBreaker.openMs', value?.openMs ?? CIRCUIT_BREAKER_DEFAULTS.openMs, 10, MAX_TIMER_MS),
  };
}

function optionalString(option: string, value: unknown): string | undefined {
  return value === undefined ? undefined : stringOption(option, value);
}
