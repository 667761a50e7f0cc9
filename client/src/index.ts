/**
 * @slotforge/client: typed cache patterns that stay correct on Redis Cluster and under failure.
 * Public exports, by name.
 */

// Cache patterns
export type { Entry } from './cache/entry.ts';
export {
  GET_OR_SET_DEFAULTS,
  GetOrSet,
  type GetOrSetDeps,
  type GetOrSetOptions,
  type Loader,
} from './cache/get-or-set.ts';
export { type InvalidatePatternOptions, Invalidation, type InvalidationDeps } from './cache/invalidation.ts';
export { LOCK_KEY_PART, type LoaderLockDeps, type LockedLoad, loadUnderLock } from './cache/loader-lock.ts';
export { ReadThrough, type ReadThroughOptions } from './cache/read-through.ts';
export { SingleFlight } from './cache/single-flight.ts';
export { CacheStore, type ReadResult, type StoreDeps, type WriteEntry } from './cache/store.ts';
export { TAG_DEFAULTS, TAG_KEY_PART, Tags, type TagsOptions } from './cache/tags.ts';
export { jitterTtl } from './cache/ttl.ts';
export { type WarmOptions, type WarmResult, warm } from './cache/warm.ts';
export { WRITE_BEHIND_DEFAULTS, WriteBehind, type WriteBehindOptions } from './cache/write-behind.ts';
export { WriteThrough, type WriteThroughOptions } from './cache/write-through.ts';
// Facade
export { createClient, SlotforgeClient, type WriteOptions } from './client.ts';
export type { Codec } from './codecs/codec.ts';
export {
  CODECS,
  COMPACT_ENTRY_ENVELOPE_VERSION,
  ENTRY_ENVELOPE_VERSION,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  Envelope,
  type EnvelopeOptions,
} from './codecs/envelope.ts';
export { jsonCodec, parseTagged, stringifyTagged } from './codecs/json.ts';
export { msgpackCodec } from './codecs/msgpack.ts';
export { CLIENT_DEFAULTS, type ClientOptions, type ResolvedClientOptions } from './core/client-options.ts';
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
} from './core/commands.ts';
export { defineScript } from './core/commands.ts';
export type { Closeable, CoreContext } from './core/context.ts';
export {
  type Clock,
  type Deps,
  type DepsOptions,
  type Logger,
  resolveDeps,
  silentLogger,
  systemClock,
} from './core/deps.ts';
export { describeValue, type ErrorCode, type ErrorFacts, isSlotforgeError, SlotforgeError } from './core/errors.ts';
export { type ClientEmitter, type ClientEvents, TypedEmitter } from './core/events.ts';
export { defaultIdempotent, NON_IDEMPOTENT } from './core/idempotency.ts';
export { connect } from './core/ioredis/index.ts';
export {
  CONNECTION_DEFAULTS,
  type ConnectionOptions,
  type HostPort,
  parseRedisUrl,
  type ReadFrom,
  type ResolvedConnectionOptions,
  resolveConnectionOptions,
} from './core/options.ts';
export { classifyFailure, type FailureKind, withRetry } from './core/retry.ts';
export { groupBySlot, hashedPart, keySlot, SLOT_COUNT } from './core/slot.ts';
export {
  durationOption,
  enumOption,
  functionOption,
  integerOption,
  invalidOption,
  keyArgument,
  numberOption,
  stringOption,
} from './core/validate.ts';
// Keys and codecs
export { defineKey, escapeGlob, hasHashTag, hashTag, KEY_SEPARATOR, type KeyPart, Keyspace } from './keys/keys.ts';
// Metrics
export { createMetrics, type Metrics, noopMetrics } from './metrics/metrics.ts';
export { LOADER_BUCKETS_SECONDS, METRIC_LABELS, METRIC_NAMES } from './metrics/names.ts';
export { LocalStore } from './near/local-store.ts';
export { NEAR_BUS_CHANNEL, NEAR_CACHE_DEFAULTS, NearCache, type NearCacheOptions } from './near/near-cache.ts';

// --- Part 2 modules (ratelimit, sessions, pubsub, locks, structures): add `export ... from './<folder>/index.ts'`
// lines below this marker. ---

export * from './locks/index.ts';
export * from './pubsub/index.ts';
export * from './ratelimit/index.ts';
export * from './sessions/index.ts';
export * from './structures/index.ts';
