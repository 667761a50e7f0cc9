/**
 * @slotforge/client: typed cache patterns that stay correct on Redis Cluster and under failure.
 * Public exports, by name.
 */

// Cache patterns
export type { Entry } from './cache/index.ts';
export {
  CacheStore,
  GET_OR_SET_DEFAULTS,
  GetOrSet,
  type GetOrSetDeps,
  type GetOrSetOptions,
  type InvalidatePatternOptions,
  Invalidation,
  type InvalidationDeps,
  jitterTtl,
  LOCK_KEY_PART,
  type Loader,
  type LoaderLockDeps,
  type LockedLoad,
  loadUnderLock,
  type ReadResult,
  ReadThrough,
  type ReadThroughOptions,
  SingleFlight,
  type StoreDeps,
  TAG_DEFAULTS,
  TAG_KEY_PART,
  Tags,
  type TagsOptions,
  type WarmOptions,
  type WarmResult,
  WRITE_BEHIND_DEFAULTS,
  WriteBehind,
  type WriteBehindOptions,
  type WriteEntry,
  WriteThrough,
  type WriteThroughOptions,
  warm,
} from './cache/index.ts';
// Facade
export { createClient, SlotforgeClient, type WriteOptions } from './client.ts';
export { CLIENT_DEFAULTS, type ClientOptions, type ResolvedClientOptions } from './client-options.ts';
export type { Codec } from './codecs/index.ts';
export {
  CODECS,
  COMPACT_ENTRY_ENVELOPE_VERSION,
  ENTRY_ENVELOPE_VERSION,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  Envelope,
  type EnvelopeOptions,
  jsonCodec,
  msgpackCodec,
  parseTagged,
  stringifyTagged,
} from './codecs/index.ts';
export type { Closeable, CoreContext } from './context.ts';
// Core
export type {
  BatchCommand,
  BatchResult,
  CallOptions,
  ConnectionEvents,
  DeploymentMode,
  NodeConnection,
  NodeRef,
  RedisArg,
  RedisCommands,
  Script,
  SetOptions,
  Subscriber,
  SubscriberEvents,
} from './core/index.ts';
export {
  type ClientEmitter,
  type ClientEvents,
  type Clock,
  CONNECTION_DEFAULTS,
  type ConnectionOptions,
  classifyFailure,
  connect,
  type Deps,
  type DepsOptions,
  defaultIdempotent,
  defineScript,
  describeValue,
  durationOption,
  type ErrorCode,
  type ErrorFacts,
  enumOption,
  type FailureKind,
  functionOption,
  groupBySlot,
  type HostPort,
  hashedPart,
  integerOption,
  invalidOption,
  isSlotforgeError,
  keyArgument,
  keySlot,
  type Logger,
  NON_IDEMPOTENT,
  numberOption,
  parseRedisUrl,
  type ReadFrom,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
  resolveDeps,
  SENTINEL_COMMAND_TIMEOUT_MS,
  SLOT_COUNT,
  SlotforgeError,
  silentLogger,
  stringOption,
  systemClock,
  TypedEmitter,
  withRetry,
} from './core/index.ts';
// Keys and codecs
export { defineKey, escapeGlob, hasHashTag, hashTag, KEY_SEPARATOR, type KeyPart, Keyspace } from './keys/index.ts';
// Metrics
export {
  createMetrics,
  LOADER_BUCKETS_SECONDS,
  METRIC_LABELS,
  METRIC_NAMES,
  type Metrics,
  noopMetrics,
} from './metrics/index.ts';
export { LocalStore, NEAR_BUS_CHANNEL, NEAR_CACHE_DEFAULTS, NearCache, type NearCacheOptions } from './near/index.ts';

// --- Part 2 modules (ratelimit, sessions, pubsub, locks, structures): add `export ... from './<folder>/index.ts'`
// lines below this marker. ---

export * from './locks/index.ts';
export * from './pubsub/index.ts';
export * from './ratelimit/index.ts';
export * from './sessions/index.ts';
export * from './structures/index.ts';
