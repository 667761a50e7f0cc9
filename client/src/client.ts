import type { GetOrSetOptions, Loader } from './cache/index.ts';
import {
  CacheStore,
  decodeEntry,
  GetOrSet,
  type InvalidatePatternOptions,
  Invalidation,
  ReadThrough,
  type ReadThroughOptions,
  Tags,
  type WarmOptions,
  type WarmResult,
  WriteBehind,
  type WriteBehindOptions,
  WriteThrough,
  type WriteThroughOptions,
  warm,
} from './cache/index.ts';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.ts';
import { Envelope } from './codecs/index.ts';
import type { Closeable, CoreContext } from './context.ts';
import type { RedisCommands } from './core/index.ts';
import {
  type ClientEmitter,
  connect,
  durationOption,
  isSlotforgeError,
  resolveDeps,
  SlotforgeError,
  TypedEmitter,
} from './core/index.ts';
import { Keyspace } from './keys/index.ts';
import { createMetrics } from './metrics/index.ts';
import { NearCache } from './near/index.ts';

/** Options of a plain write. */
export interface WriteOptions {
  /** Time to live. @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /** Tags of the value (see invalidateTag). */
  readonly tags?: readonly string[];
  /** WAIT for this many replicas to acknowledge the write (survives a failover). @default 0 */
  readonly waitReplicas?: number;
}

/**
 * The facade: owns the connection, resolved options, events and metrics, and wires the pattern modules. Every module
 * depends only on `client.context` (see CORE.md), so each is usable and testable alone.
 */
export class SlotforgeClient {
  /** What pattern modules are built with. */
  readonly context: CoreContext;
  readonly options: ResolvedClientOptions;
  /** The entry store (Redis + optional near tier). */
  readonly store: CacheStore;
  /** The near cache, when enabled. */
  readonly near: NearCache | undefined;
  readonly #getOrSet: GetOrSet;
  readonly #invalidation: Invalidation;
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
    commands.on('breaker', (state, cause) => {
      metrics.breaker(state);
      events.emit(state === 'closed' ? 'breaker:close' : state === 'open' ? 'breaker:open' : 'breaker:probe', {
        state,
        ...(cause instanceof Error ? { cause } : {}),
      });
    });
    this.options = resolved;
    this.context = { commands, keys, envelope, deps, metrics, events };
    if (options.nearCache) {
      this.near = new NearCache(this.context, options.nearCache === true ? {} : options.nearCache);
      void this.near.start();
    }
    this.store = new CacheStore(
      this.context,
      this.near,
      options.tagTtlMs === undefined ? {} : { tagTtlMs: options.tagTtlMs },
    );
    this.#getOrSet = new GetOrSet({ ...this.context, store: this.store, defaultTtlMs: resolved.defaultTtlMs });
    this.#invalidation = new Invalidation({ ...this.context, store: this.store, getOrSet: this.#getOrSet });
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
   * Builds a module from this client's context and closes it (in reverse order, before the connection) on `close()`
   * when it has a `close` method.
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

  /** Waits until the connection (and the near cache's invalidation, when enabled) is live. */
  async ready(): Promise<void> {
    await this.context.commands.ready();
    await this.near?.start();
  }

  /** Reads a fresh value; `undefined` when missing or expired (a stored null, '', 0 or false is returned as such). */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const full = this.context.keys.key(key);
    if (this.#closing)
      throw new SlotforgeError('E_CLOSED', `GET '${full}' after close()`, { command: 'GET', key: full });
    const breaker = this.context.commands.breaker;
    if (breaker && breaker.state !== 'closed') {
      // Redis has not answered lately: fail now instead of waiting a whole deadline (see core/breaker.ts).
      this.context.metrics.breakerShortCircuit('error');
      return this.#guard(Promise.reject(breaker.openError('GET', full)));
    }
    const { entry, source } = await this.#guard(this.store.read<T>(full));
    if (!entry || entry.negative || entry.freshUntil <= this.context.deps.clock.now()) {
      this.context.metrics.miss();
      return undefined;
    }
    this.context.metrics.hit(source === 'near' ? 'near' : 'redis');
    return entry.value;
  }

  /** Writes a value with a TTL (and tags). */
  async set(key: string, value: unknown, options: WriteOptions = {}): Promise<void> {
    const full = this.context.keys.key(key);
    const ttlMs = durationOption('ttlMs', options.ttlMs ?? this.options.defaultTtlMs, 1);
    const tags = options.tags ?? [];
    await this.#guard(
      (async () => {
        const versions = tags.length > 0 ? await this.store.tags.forWrite(tags) : [];
        this.#getOrSet.forget([full]);
        await this.store.write(full, {
          value,
          ttlMs,
          tags: versions,
          ...(options.waitReplicas === undefined ? {} : { waitReplicas: options.waitReplicas }),
        });
      })(),
    );
  }

  /** Deletes keys of any slots (no CROSSSLOT); returns how many existed. */
  delete(...keys: string[]): Promise<number> {
    return this.#guard(this.#invalidation.keys(keys));
  }

  /** Reads many keys of any slots in one round trip per node; missing or expired keys are `undefined`. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const { commands, envelope, deps } = this.context;
    const full = keys.map((k) => this.context.keys.key(k));
    const values = await this.#guard(commands.mget(full));
    const now = deps.clock.now();
    const entries = values.map((bytes, i) =>
      bytes === null ? undefined : decodeEntry<T>(envelope, bytes, full[i] as string),
    );
    const tagNames = [...new Set(entries.flatMap((e) => e?.tags.map(([t]) => t) ?? []))];
    const versions = tagNames.length > 0 ? await this.#guard(this.store.tags.versions(tagNames)) : [];
    return entries.map((e) =>
      !e || e.negative || e.freshUntil <= now || !Tags.current(e.tags, versions) ? undefined : e.value,
    );
  }

  /** Cache-aside with single flight, optional distributed lock, SWR, grace, negative caching and jitter. */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    // GetOrSet counts its own errors (once per flight, not once per coalesced caller).
    return this.#getOrSet.getOrSet(key, loader, options);
  }

  /** Invalidates every entry carrying any of these tags (one SET of a new random version per tag). */
  invalidateTags(...tags: string[]): Promise<void> {
    return this.#guard(this.#invalidation.tags(tags));
  }

  /** Deletes every key of the namespace matching a glob, on every master, with SCAN (never KEYS). */
  invalidatePattern(pattern: string, options?: InvalidatePatternOptions): Promise<number> {
    return this.#guard(this.#invalidation.pattern(pattern, options));
  }

  /** A read-through cache over `load`. */
  readThrough<T>(options: ReadThroughOptions<T>): ReadThrough<T> {
    return new ReadThrough<T>(this.#getOrSet, options);
  }

  /** A write-through cache in front of `write`. */
  writeThrough<T>(options: WriteThroughOptions<T>): WriteThrough<T> {
    return new WriteThrough<T>(
      { ...this.context, store: this.store, getOrSet: this.#getOrSet, defaultTtlMs: this.options.defaultTtlMs },
      options,
    );
  }

  /** A write-behind cache in front of `flush`; flushed on `close()`. */
  writeBehind<T>(options: WriteBehindOptions<T>): WriteBehind<T> {
    const module = new WriteBehind<T>(
      { ...this.context, store: this.store, defaultTtlMs: this.options.defaultTtlMs },
      options,
    );
    this.#closeables.push(module);
    return module;
  }

  /** Warms keys with bounded concurrency; progress as `warm:progress` events. */
  warm<T>(options: WarmOptions<T>): Promise<WarmResult> {
    return warm({ ...this.context, store: this.store, defaultTtlMs: this.options.defaultTtlMs }, options);
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

  /**
   * Flushes and closes every module (write-behind queues first), then closes the connection: new calls fail E_CLOSED
   * at once, calls already running finish within their deadlines (close() waits for them, at most commandTimeoutMs),
   * then QUIT; a call still retrying after that fails E_CLOSED. Every promise settles, and the process can exit. An
   * operation of several steps (getOrSet's load then SET, tags, invalidatePattern's SCAN pages) fails E_CLOSED at a
   * step it starts after close() began. Idempotent.
   */
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
      await this.#getOrSet.close();
      await this.near?.close();
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
