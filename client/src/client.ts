import { Envelope } from './codecs/envelope.ts';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './core/client-options.ts';
import type { RedisCommands } from './core/commands.ts';
import { connect } from './core/connection.ts';
import type { Closeable, CoreContext } from './core/context.ts';
import { resolveDeps } from './core/deps.ts';
import { isSlotforgeError, SlotforgeError } from './core/errors.ts';
import { type ClientEmitter, TypedEmitter } from './core/events.ts';
import { durationOption } from './core/validate.ts';
import { Keyspace } from './keys/keys.ts';
import { createMetrics } from './metrics/metrics.ts';

/** Options of a plain write. */
export interface WriteOptions {
  /** Time to live. @default the client's defaultTtlMs */
  readonly ttlMs?: number;
}

/**
 * The facade: owns the connection, resolved options, events and metrics, and wires the pattern modules, which depend
 * only on `client.context` (see CORE.md).
 */
export class SlotforgeClient {
  /** What pattern modules are built with. */
  readonly context: CoreContext;
  readonly options: ResolvedClientOptions;
  readonly #closeables: Closeable[] = [];
  readonly #ownsCommands: boolean;
  #closing: Promise<void> | undefined;

  constructor(options: ClientOptions = {}) {
    const resolved = resolveClientOptions(options);
    const deps = resolveDeps(options.deps);
    const envelope = new Envelope(options);
    const keys = new Keyspace(resolved.namespace);
    const events: ClientEmitter = new TypedEmitter();
    const metrics = createMetrics(deps.registry);
    this.#ownsCommands = options.commands === undefined;
    const commands = options.commands ?? connect(options, deps);
    commands.on('error', (error, node) => events.emit('connection:error', { error, ...(node ? { node } : {}) }));
    commands.on('reconnect', (node) => events.emit('connection:reconnect', node ? { node } : {}));
    commands.on('ready', () => events.emit('connection:ready', { mode: commands.mode }));
    commands.on('topology', (masters) => events.emit('topology:change', { masters: masters.map((m) => m.id) }));
    this.options = resolved;
    this.context = { commands, keys, envelope, deps, metrics, events };
  }

  /** The command layer (deadlines, retries, cluster-safe multi-key commands). */
  get commands(): RedisCommands {
    return this.context.commands;
  }

  /** Typed `domain:verb` events. */
  get events(): ClientEmitter {
    return this.context.events;
  }

  /**
   * Builds a pattern module from this client's context and closes it (in reverse order) on `close()` when it has a
   * `close` method.
   */
  use<T, O>(factory: (context: CoreContext, options: O) => T, options: O): T {
    const module = factory(this.context, options);
    if (module && typeof (module as Partial<Closeable>).close === 'function')
      this.#closeables.push(module as unknown as Closeable);
    return module;
  }

  /** Registers something to close on `close()` (before the connection). */
  onClose(closeable: Closeable): void {
    this.#closeables.push(closeable);
  }

  /** Reads a value; `undefined` when the key is missing (a stored null, '', 0 or false is returned as such). */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const full = this.context.keys.key(key);
    const bytes = await this.#guard(this.context.commands.get(full));
    return bytes === null ? undefined : (this.context.envelope.decode(bytes, full) as T);
  }

  /** Writes a value with a TTL. */
  async set(key: string, value: unknown, options: WriteOptions = {}): Promise<void> {
    const full = this.context.keys.key(key);
    const ttlMs = durationOption('ttlMs', options.ttlMs ?? this.options.defaultTtlMs, 1);
    await this.#guard(this.context.commands.set(full, this.context.envelope.encode(value, full), { ttlMs }));
  }

  /** Deletes keys of any slots (no CROSSSLOT); returns how many existed. */
  async delete(...keys: string[]): Promise<number> {
    return this.#guard(this.context.commands.del(keys.map((k) => this.context.keys.key(k))));
  }

  /** Reads many keys of any slots in one round trip per node; missing keys are `undefined`. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const full = keys.map((k) => this.context.keys.key(k));
    const values = await this.#guard(this.context.commands.mget(full));
    return values.map((bytes, i) => (bytes === null ? undefined : (this.context.envelope.decode(bytes, full[i]) as T)));
  }

  /** Counts errors by code on their way out. */
  async #guard<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      if (isSlotforgeError(error)) this.context.metrics.error(error.code);
      throw error;
    }
  }

  /** Flushes and closes every module (write-behind queues first), then QUITs the connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const errors: unknown[] = [];
      for (const closeable of [...this.#closeables].reverse()) {
        try {
          await closeable.close();
        } catch (error) {
          errors.push(error);
        }
      }
      if (this.#ownsCommands) await this.context.commands.close();
      this.context.events.emit('connection:close', {});
      if (errors.length > 0) {
        throw new SlotforgeError('E_CONNECTION', `close(): ${errors.length} module(s) failed to close`, {
          cause: errors[0],
        });
      }
    })();
    return this.#closing;
  }
}

/** Creates a client: `createClient({ url: 'redis+cluster://10.0.0.1:6379', namespace: 'shop' })`. */
export function createClient(options: ClientOptions = {}): SlotforgeClient {
  return new SlotforgeClient(options);
}
