/** The core: the command interface and its ioredis implementation, options, deps, errors, events, retries, slots, validation. It imports no feature folder. */

export type { Watched } from './attempt-watchdog.ts';
export { AttemptWatchdog } from './attempt-watchdog.ts';
export {
  type BatchCommand,
  type BatchResult,
  type CallOptions,
  type ConnectionEvents,
  type DeploymentMode,
  defineScript,
  type NodeConnection,
  type NodeRef,
  type RedisArg,
  type RedisCommands,
  type Script,
  type SetOptions,
  type Subscriber,
  type SubscriberEvents,
} from './commands.ts';
export {
  type Clock,
  type Deps,
  type DepsOptions,
  type Logger,
  raceClock,
  resolveDeps,
  silentLogger,
  systemClock,
} from './deps.ts';
export { describeValue, type ErrorCode, type ErrorFacts, isSlotforgeError, SlotforgeError } from './errors.ts';
export { type ClientEmitter, type ClientEvents, TypedEmitter } from './events.ts';
export { defaultIdempotent, NON_IDEMPOTENT } from './idempotency.ts';
export { connect } from './ioredis/index.ts';
export {
  CONNECTION_DEFAULTS,
  type ConnectionOptions,
  type HostPort,
  type ReadFrom,
  type ResolvedConnectionOptions,
  SENTINEL_COMMAND_TIMEOUT_MS,
} from './options.ts';
export { parseRedisUrl } from './redis-url.ts';
export { resolveConnectionOptions } from './resolve-options.ts';
export { classifyFailure, type FailureKind, sleep, withRetry } from './retry.ts';
export { groupBySlot, hashedPart, keySlot, SLOT_COUNT } from './slot.ts';
export {
  booleanOption,
  durationOption,
  enumOption,
  functionOption,
  integerOption,
  invalidOption,
  keyArgument,
  MAX_TIMER_MS,
  numberOption,
  stringOption,
} from './validate.ts';
export type { Corkable, StreamHolder } from './write-coalescer.ts';
export { WriteCoalescer } from './write-coalescer.ts';
