import type { Envelope } from '../codecs/envelope.ts';
import type { Keyspace } from '../keys/keys.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RedisCommands } from './commands.ts';
import type { Deps } from './deps.ts';
import type { ClientEmitter } from './events.ts';

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
