import type { Envelope } from './codecs/index.ts';
import type { ClientEmitter, Deps, RedisCommands } from './core/index.ts';
import type { Keyspace } from './keys/index.ts';
import type { Metrics } from './metrics/index.ts';

/**
 * Everything a pattern module may use. A module declares the narrow subset it needs, e.g.
 * `type GetOrSetDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope' | 'deps' | 'metrics' | 'events'>`,
 * and is constructed with it, so it can be tested without the facade.
 */
export interface CoreContext {
  /** Commands with deadlines and retries; never ioredis. */
  readonly commands: RedisCommands;
  /** The namespace: `keys.key('user:1')` is the full Redis key. */
  readonly keys: Keyspace;
  /** Encodes/decodes values (codec + versioned envelope + size limit). */
  readonly envelope: Envelope;
  /** clock, random, logger, registry. */
  readonly deps: Deps;
  /** Metrics on the injected registry (no-op without one). */
  readonly metrics: Metrics;
  /** Typed `domain:verb` events. */
  readonly events: ClientEmitter;
}

/** Something the facade closes on `close()`, in reverse order of registration (write-behind flushes first). */
export interface Closeable {
  close(): Promise<void>;
}
