import type { EnvelopeOptions } from './codecs/index.ts';
import type { ConnectionOptions, DepsOptions, RedisCommands } from './core/index.ts';
import { durationOption, invalidOption } from './core/index.ts';
import type { NearCacheOptions } from './near/index.ts';

/** Options of `createClient`. Connection options sit at the top level (url, cluster, sentinel, timeouts...). */
export interface ClientOptions extends ConnectionOptions, EnvelopeOptions {
  /**
   * Prefix of every key (`namespace:key`), applied by the client (also to SCAN patterns, unlike ioredis keyPrefix).
   * @default ''
   */
  readonly namespace?: string;
  /** TTL of values written without one. @default 3_600_000 (1 hour) */
  readonly defaultTtlMs?: number;
  /** Injected clock, random, logger and prom-client Registry. */
  readonly deps?: DepsOptions;
  /**
   * The near cache (in-process tier, invalidated across instances). `true` for the defaults.
   * @default false
   */
  readonly nearCache?: boolean | NearCacheOptions;
  /** An existing command layer to use instead of opening a connection (it is not closed by `close()`). */
  readonly commands?: RedisCommands;
  /**
   * How long a tag's version key lives after it is created or invalidated; every write of an entry carrying the tag
   * extends it to that entry's lifetime (see cache/tags.ts). At least 1000. @default 86_400_000 (a day)
   */
  readonly tagTtlMs?: number;
}

/** Defaults of the client-level options (connection defaults are in CONNECTION_DEFAULTS). */
export const CLIENT_DEFAULTS = {
  namespace: '',
  defaultTtlMs: 3_600_000,
  codec: 'json',
  maxValueBytes: 1_048_576,
} as const;

/** The client-level options after validation. */
export interface ResolvedClientOptions {
  readonly namespace: string;
  readonly defaultTtlMs: number;
}

/** Validates the client-level options. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const namespace = options.namespace ?? CLIENT_DEFAULTS.namespace;
  if (typeof namespace !== 'string') throw invalidOption('namespace', 'a string', namespace);
  return {
    namespace,
    defaultTtlMs: durationOption('defaultTtlMs', options.defaultTtlMs ?? CLIENT_DEFAULTS.defaultTtlMs, 1),
  };
}
