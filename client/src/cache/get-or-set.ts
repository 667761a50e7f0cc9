import type { CoreContext } from '../context.ts';
import { durationOption, invalidOption, isSlotforgeError, raceClock, SlotforgeError } from '../core/index.ts';
import { LocalStore } from '../near/index.ts';
import type { Entry } from './entry.ts';
import { loadUnderLock } from './loader-lock.ts';
import { SingleFlight } from './single-flight.ts';
import type { CacheStore, ReadResult } from './store.ts';
import { jitterOption, jitterTtl } from './ttl.ts';

/** A loader: computes the value on a miss. Returning `undefined` means "not found" (see `negativeTtlMs`). */
export type Loader<T> = () => T | Promise<T>;

/** Options of one getOrSet call (defaults come from GetOrSetDefaults). */
export interface GetOrSetOptions {
  /** How long a loaded value is fresh. @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /** Fraction of ttlMs removed at random (0.1 = up to 10 % shorter) so keys written together expire apart. @default 0.1 */
  readonly jitter?: number;
  /** After freshness ends, serve the stale value at once for this long while one caller refreshes it. @default 0 */
  readonly staleWhileRevalidateMs?: number;
  /** After freshness ends, serve the stale value for this long when Redis or the loader fails. @default 0 */
  readonly graceMs?: number;
  /** Cache "not found" (the loader returned undefined) for this long; 0 = do not cache it. @default 0 */
  readonly negativeTtlMs?: number;
  /** Tags: `invalidateTag(tag)` turns every entry carrying it into a miss. @default [] */
  readonly tags?: readonly string[];
  /**
   * Distributed single flight: a Redis lock so that across N processes only one runs the loader for a cold key while
   * the others wait for its value. @default false
   */
  readonly lock?: boolean | { readonly ttlMs?: number; readonly waitMs?: number };
  /** Deadline of each Redis operation of this call. @default the connection's commandTimeoutMs */
  readonly timeoutMs?: number;
  /** With a stale value at hand, serve it if Redis has not answered after this long. @default 500 */
  readonly softTimeoutMs?: number;
  /** Deadline of the loader. @default 10_000 */
  readonly loaderTimeoutMs?: number;
  /** WAIT for this many replicas after writing a loaded value. @default 0 */
  readonly waitReplicas?: number;
}

/** Defaults of getOrSet. */
export const GET_OR_SET_DEFAULTS = {
  jitter: 0.1,
  staleWhileRevalidateMs: 0,
  graceMs: 0,
  negativeTtlMs: 0,
  softTimeoutMs: 500,
  loaderTimeoutMs: 10_000,
  lockTtlMs: 10_000,
  fallbackEntries: 10_000,
  fallbackBytes: 32 * 1024 * 1024,
} as const;

interface Resolved {
  readonly ttlMs: number;
  readonly jitter: number;
  readonly swrMs: number;
  readonly graceMs: number;
  readonly negativeTtlMs: number;
  readonly tags: readonly string[];
  readonly lock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly timeoutMs: number | undefined;
  /** `{ timeoutMs }` for the command layer, built once. */
  readonly call: { readonly timeoutMs?: number; readonly failFast: true };
  readonly softTimeoutMs: number;
  readonly loaderTimeoutMs: number;
  readonly waitReplicas: number | undefined;
}

/** Every field of GetOrSetOptions but tags, required: a new option that is not snapshotted fails to compile. */
type ScalarOptions = { readonly [K in Exclude<keyof GetOrSetOptions, 'tags'>]-?: GetOrSetOptions[K] | undefined };

/** The scalar fields of GetOrSetOptions (tags and lock objects are never snapshotted). */
function snapshotOptions(o: GetOrSetOptions): ScalarOptions {
  return {
    ttlMs: o.ttlMs,
    jitter: o.jitter,
    staleWhileRevalidateMs: o.staleWhileRevalidateMs,
    graceMs: o.graceMs,
    negativeTtlMs: o.negativeTtlMs,
    lock: o.lock,
    timeoutMs: o.timeoutMs,
    softTimeoutMs: o.softTimeoutMs,
    loaderTimeoutMs: o.loaderTimeoutMs,
    waitReplicas: o.waitReplicas,
  };
}

/** True when `o` has exactly the scalar values of the snapshot `s` (and no tags or lock object). */
function sameScalarOptions(o: GetOrSetOptions, s: ScalarOptions): boolean {
  return (
    o.ttlMs === s.ttlMs &&
    o.tags === undefined &&
    o.lock === s.lock &&
    o.jitter === s.jitter &&
    o.staleWhileRevalidateMs === s.staleWhileRevalidateMs &&
    o.graceMs === s.graceMs &&
    o.negativeTtlMs === s.negativeTtlMs &&
    o.timeoutMs === s.timeoutMs &&
    o.softTimeoutMs === s.softTimeoutMs &&
    o.loaderTimeoutMs === s.loaderTimeoutMs &&
    o.waitReplicas === s.waitReplicas
  );
}

/** What getOrSet needs. */
export type GetOrSetDeps = Pick<CoreContext, 'commands' | 'keys' | 'deps' | 'metrics' | 'events'> & {
  readonly store: CacheStore;
  readonly defaultTtlMs: number;
};

/**
 * Cache-aside, done right (the seed's `if (cached)` treated '', 0, false and null as misses; regression-tested).
 *
 * One call: near tier -> in-process single flight -> Redis read (tag versions in the same round trip) -> fresh hit,
 * or stale-while-revalidate, or miss -> loader (optionally under a distributed lock) -> write with jittered TTL.
 * Failures: Redis down/slow -> stale value from the local fallback within grace, else the loader's value (the call
 * keeps serving, uncached); loader fails -> stale within grace, else E_LOADER with the cause.
 */
export class GetOrSet {
  readonly #ctx: GetOrSetDeps;
  readonly #flights = new SingleFlight();
  /** Last-known entries for keys read with graceMs > 0, served when Redis is unreachable. */
  readonly #fallback = new LocalStore(GET_OR_SET_DEFAULTS.fallbackEntries, GET_OR_SET_DEFAULTS.fallbackBytes);
  readonly #background = new Set<Promise<unknown>>();

  constructor(ctx: GetOrSetDeps) {
    this.#ctx = ctx;
  }

  #resolve(options: GetOrSetOptions): Resolved {
    if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
    const lock = options.lock;
    const tags = options.tags ?? [];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw invalidOption('tags', 'an array of non-empty strings', tags);
    }
    const timeoutMs = options.timeoutMs === undefined ? undefined : durationOption('timeoutMs', options.timeoutMs, 1);
    return {
      ttlMs: durationOption('ttlMs', options.ttlMs ?? this.#ctx.defaultTtlMs, 1),
      jitter: jitterOption(options.jitter ?? GET_OR_SET_DEFAULTS.jitter),
      swrMs: durationOption(
        'staleWhileRevalidateMs',
        options.staleWhileRevalidateMs ?? GET_OR_SET_DEFAULTS.staleWhileRevalidateMs,
      ),
      graceMs: durationOption('graceMs', options.graceMs ?? GET_OR_SET_DEFAULTS.graceMs),
      negativeTtlMs: durationOption('negativeTtlMs', options.negativeTtlMs ?? GET_OR_SET_DEFAULTS.negativeTtlMs),
      tags,
      lock:
        lock === undefined || lock === false
          ? undefined
          : {
              ttlMs: durationOption(
                'lock.ttlMs',
                (lock === true ? undefined : lock.ttlMs) ?? GET_OR_SET_DEFAULTS.lockTtlMs,
                1,
              ),
              waitMs: durationOption(
                'lock.waitMs',
                (lock === true ? undefined : lock.waitMs) ??
                  options.loaderTimeoutMs ??
                  GET_OR_SET_DEFAULTS.loaderTimeoutMs,
                1,
              ),
            },
      timeoutMs,
      // failFast: while the circuit breaker is open the read gives up at once and the loader answers.
      call: timeoutMs === undefined ? { failFast: true } : { timeoutMs, failFast: true },
      softTimeoutMs: durationOption('softTimeoutMs', options.softTimeoutMs ?? GET_OR_SET_DEFAULTS.softTimeoutMs, 1),
      loaderTimeoutMs: durationOption(
        'loaderTimeoutMs',
        options.loaderTimeoutMs ?? GET_OR_SET_DEFAULTS.loaderTimeoutMs,
        1,
      ),
      waitReplicas: options.waitReplicas,
    };
  }

  /** Resolved options per frozen options object (callers often pass the same constant on every call). */
  readonly #resolved = new WeakMap<GetOrSetOptions, Resolved>();
  #defaults: Resolved | undefined;

  #resolveCached(options: GetOrSetOptions | undefined): Resolved {
    if (options === undefined) {
      this.#defaults ??= this.#resolve({});
      return this.#defaults;
    }
    // Most callers pass an equal literal on every call (`{ ttlMs: 60_000 }`): reuse the last resolution when every
    // field is the same primitive as last time. Compared field by field (a snapshot, not the object, which the caller
    // may mutate); options with tags or a lock object are resolved each time (their arrays/objects may be mutated).
    // Checked before the WeakMap: a lookup there gives every fresh literal an identity hash, a cost on every hit.
    const last = this.#last;
    if (
      last !== undefined &&
      typeof options === 'object' &&
      options !== null &&
      sameScalarOptions(options, last.options)
    )
      return last.resolved;
    // Cached only for frozen objects (`Object.freeze`): a caller may mutate its options object between calls.
    const frozen = Object.isFrozen(options);
    let resolved = frozen ? this.#resolved.get(options) : undefined;
    if (resolved) return resolved;
    resolved = this.#resolve(options);
    if (frozen) this.#resolved.set(options, resolved);
    else if (options.tags === undefined && typeof options.lock !== 'object') {
      this.#last = { options: snapshotOptions(options), resolved };
    }
    return resolved;
  }

  #last: { readonly options: ScalarOptions; readonly resolved: Resolved } | undefined;

  /** Returns the cached value of `key` or loads, caches and returns it. */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    let full: string;
    let o: Resolved;
    try {
      full = this.#ctx.keys.key(key);
      if (typeof loader !== 'function') throw invalidOption('loader', 'a function', loader);
      o = this.#resolveCached(options);
    } catch (error) {
      this.#countError(error);
      return Promise.reject(error);
    }
    // Near-tier fast path: a fresh local entry needs no single flight and no round trip.
    const near = this.#ctx.store.near;
    if (near?.live) {
      const entry = near.get(full)?.value as Entry<T> | undefined;
      if (entry && entry.freshUntil > this.#ctx.deps.clock.now()) {
        this.#hit(full, 'near', entry, o);
        return Promise.resolve(entry.value);
      }
    }
    const breaker = this.#ctx.commands.breaker;
    if (breaker && breaker.state !== 'closed') return this.#shortCircuit(full, loader, o);
    // Errors are counted once per flight where they arise, not once per waiting caller.
    // The read is not coalesced (a hit costs one GET and nothing else); the LOAD is, in #load: concurrent callers
    // that miss join the load in flight. Their GETs were sent before the winner's SET on the same connection, so
    // their misses arrive while the load is still in flight and they join it.
    return this.#get(full, loader, o);
  }

  /**
   * Hot path without an async frame: a fresh hit resolves straight from the read's promise. Everything else (stale,
   * miss, errors, soft timeout) continues in #afterRead / #onReadError.
   */
  #get<T>(full: string, loader: Loader<T>, o: Resolved): Promise<T> {
    const fallback = o.graceMs > 0 || o.swrMs > 0 ? this.#fallback.get(full, this.#ctx.deps.clock.now()) : undefined;
    const store = this.#ctx.store;
    if (!fallback && store.isPlainRead(o.tags)) {
      // The cache hit: one GET, decoded in the same callback that checks freshness (no ReadResult promise between).
      return this.#ctx.commands.get(full, o.call).then(
        (bytes) => {
          let read: ReadResult<T> | Promise<ReadResult<T>>;
          try {
            read = store.decodePlain<T>(full, bytes, o.timeoutMs);
          } catch (error) {
            return this.#onReadError(full, loader, o, undefined, error);
          }
          if ('then' in read) {
            return read.then(
              (r) => this.#afterRead(full, loader, o, r, undefined),
              (error: unknown) => this.#onReadError(full, loader, o, undefined, error),
            );
          }
          const entry = read.entry;
          if (entry && entry.freshUntil > this.#ctx.deps.clock.now()) {
            this.#hit(full, 'redis', entry, o);
            return entry.value;
          }
          return this.#afterRead(full, loader, o, read, undefined);
        },
        (error: unknown) => this.#onReadError(full, loader, o, undefined, error),
      );
    }
    const reading = store.read<T>(full, o.tags, o.timeoutMs);
    if (fallback) {
      return this.#soft(reading, o.softTimeoutMs).then(
        (read) =>
          read === 'soft-timeout'
            ? this.#redisDown(full, loader, o, fallback, undefined)
            : this.#afterRead(full, loader, o, read, fallback),
        (error: unknown) => this.#onReadError(full, loader, o, fallback, error),
      );
    }
    return reading.then(
      (read) => {
        const entry = read.entry;
        if (entry && entry.freshUntil > this.#ctx.deps.clock.now()) {
          this.#hit(full, read.source === 'near' ? 'near' : 'redis', entry, o);
          return entry.value;
        }
        return this.#afterRead(full, loader, o, read, undefined);
      },
      (error: unknown) => this.#onReadError(full, loader, o, undefined, error),
    );
  }

  async #onReadError<T>(
    full: string,
    loader: Loader<T>,
    o: Resolved,
    fallback: { value: unknown } | undefined,
    error: unknown,
  ): Promise<T> {
    this.#countError(error);
    if (!isSlotforgeError(error, 'E_CODEC')) return this.#redisDown(full, loader, o, fallback, error);
    // Unreadable bytes under our key (another writer, a removed codec): treat as a miss and overwrite them.
    this.#ctx.deps.logger.warn('getOrSet: unreadable value, reloading', { key: full, error: error.message });
    const versions = o.tags.length > 0 ? await this.#ctx.store.tags.forWrite(o.tags, o.timeoutMs) : [];
    return this.#afterRead(full, loader, o, { entry: undefined, versions, source: 'none' }, fallback);
  }

  async #afterRead<T>(
    full: string,
    loader: Loader<T>,
    o: Resolved,
    read: ReadResult<T>,
    fallback: { value: unknown } | undefined,
  ): Promise<T> {
    const now = this.#ctx.deps.clock.now();
    const entry = read.entry;
    if (entry) {
      if (entry.freshUntil > now) {
        this.#hit(full, read.source === 'near' ? 'near' : 'redis', entry, o);
        return entry.value;
      }
      if (now < entry.freshUntil + o.swrMs && entry.staleUntil > now) {
        this.#ctx.metrics.stale('refreshing');
        this.#ctx.events.emit('cache:stale', { key: full, reason: 'refreshing' });
        this.#refreshInBackground(full, loader, o, read.versions);
        return entry.value;
      }
    }
    const versions = read.versions;
    const { promise, joined } = this.#load(full, () => {
      this.#ctx.metrics.miss();
      this.#ctx.events.emit('cache:miss', { key: full });
      return this.#loadAndStore(full, loader, o, versions);
    });
    try {
      return await promise;
    } catch (error) {
      const stale = entry && entry.staleUntil > now ? entry : (fallback?.value as Entry<T> | undefined);
      if (stale && !isSlotforgeError(error, 'E_INVALID_OPTION')) {
        this.#ctx.metrics.stale('loader-error');
        this.#ctx.events.emit('cache:stale', { key: full, reason: 'loader-error' });
        return stale.value;
      }
      // E_LOADER is counted in #runLoader; anything else (e.g. the lock's SET failing) once, by the flight's owner.
      if (!joined && !isSlotforgeError(error, 'E_LOADER')) this.#countError(error);
      throw error;
    }
  }

  /** Joins the load in flight for `full`, or starts one: M concurrent cold calls run the loader once. */
  #load<T>(full: string, start: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const inFlight = this.#flights.get<T>(full);
    if (inFlight) {
      this.#ctx.metrics.coalesced('process');
      return { promise: inFlight, joined: true };
    }
    return { promise: this.#flights.start(full, start), joined: false };
  }

  #hit<T>(full: string, tier: 'near' | 'redis', entry: Entry<T>, o: Resolved): void {
    this.#ctx.metrics.hit(tier);
    if (this.#ctx.events.listenerCount('cache:hit') > 0) this.#ctx.events.emit('cache:hit', { key: full, tier });
    if (o.graceMs > 0 || o.swrMs > 0) this.#remember(full, entry);
  }

  #remember(full: string, entry: Entry): void {
    this.#fallback.set(full, entry, entry.staleUntil, 256 + full.length * 2);
  }

  /** Redis failed or is slow: serve stale within grace, else keep serving from the loader, uncached. */
  async #redisDown<T>(
    full: string,
    loader: Loader<T>,
    o: Resolved,
    fallback: { value: unknown } | undefined,
    error: unknown,
  ): Promise<T> {
    if (fallback) {
      this.#ctx.metrics.stale('redis-error');
      this.#ctx.events.emit('cache:stale', { key: full, reason: 'redis-error' });
      return (fallback.value as Entry<T>).value;
    }
    this.#ctx.deps.logger.warn('getOrSet: Redis unavailable, serving from the loader uncached', {
      key: full,
      error: error instanceof Error ? error.message : String(error),
    });
    // Still one loader run for concurrent callers: Redis being down must not turn into a stampede on the source.
    return this.#load(full, () => this.#runLoader(full, loader, o)).promise;
  }

  /**
   * The circuit breaker is open: Redis is not asked at all. The last value this process saw within grace/SWR, else
   * the loader's value, uncached (single flight still applies: an outage must not stampede the source).
   */
  #shortCircuit<T>(full: string, loader: Loader<T>, o: Resolved): Promise<T> {
    const fallback = o.graceMs > 0 || o.swrMs > 0 ? this.#fallback.get(full, this.#ctx.deps.clock.now()) : undefined;
    if (fallback) {
      this.#ctx.metrics.breakerShortCircuit('stale');
      this.#ctx.metrics.stale('redis-error');
      this.#ctx.events.emit('cache:stale', { key: full, reason: 'redis-error' });
      return Promise.resolve((fallback.value as Entry<T>).value);
    }
    this.#ctx.metrics.breakerShortCircuit('loader');
    return this.#load(full, () => this.#runLoader(full, loader, o)).promise;
  }

  #soft<R>(reading: Promise<R>, ms: number): Promise<R | 'soft-timeout'> {
    return raceClock(reading, ms, this.#ctx.deps.clock, () => 'soft-timeout' as const);
  }

  #refreshInBackground<T>(full: string, loader: Loader<T>, o: Resolved, versions: [string, number][]): void {
    const { promise, joined } = this.#flights.run(`${full}\u0000refresh`, () =>
      this.#loadAndStore(full, loader, o, versions),
    );
    if (joined) return;
    const tracked = promise.catch((error: unknown) => {
      this.#countError(error);
      this.#ctx.events.emit('cache:error', { key: full, error: error as Error });
    });
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  async #loadAndStore<T>(full: string, loader: Loader<T>, o: Resolved, versions: [string, number][]): Promise<T> {
    if (o.lock) return this.#loadUnderLock(full, loader, o, versions, o.lock);
    const value = await this.#runLoader(full, loader, o);
    await this.#store(full, value, o, versions);
    return value;
  }

  /** Runs the loader with its deadline, metrics and events; failures become E_LOADER with the cause. */
  async #runLoader<T>(full: string, loader: Loader<T>, o: Resolved): Promise<T> {
    const { clock } = this.#ctx.deps;
    const started = performance.now();
    this.#ctx.events.emit('loader:start', { key: full });
    let timer: unknown;
    try {
      const value = await Promise.race([
        Promise.resolve().then(loader),
        new Promise<never>((_, reject) => {
          timer = clock.setTimeout(
            () =>
              reject(
                new SlotforgeError('E_TIMEOUT', `loader of '${full}' did not finish within ${o.loaderTimeoutMs} ms`, {
                  key: full,
                  timeoutMs: o.loaderTimeoutMs,
                }),
              ),
            o.loaderTimeoutMs,
          );
        }),
      ]);
      const durationMs = performance.now() - started;
      this.#ctx.metrics.loader(durationMs / 1000, 'ok');
      this.#ctx.events.emit('loader:end', { key: full, durationMs, ok: true });
      return value;
    } catch (cause) {
      const durationMs = performance.now() - started;
      this.#ctx.metrics.loader(durationMs / 1000, 'error');
      this.#ctx.events.emit('loader:end', { key: full, durationMs, ok: false });
      this.#ctx.metrics.error('E_LOADER');
      throw new SlotforgeError(
        'E_LOADER',
        `loader of '${full}' failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        {
          key: full,
          cause,
        },
      );
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** Writes a loaded value (negative when undefined and negativeTtlMs > 0); a failed write is reported, not thrown. */
  async #store<T>(full: string, value: T, o: Resolved, versions: [string, number][]): Promise<void> {
    const negative = value === undefined;
    if (negative && o.negativeTtlMs === 0) return;
    const ttlMs = jitterTtl(negative ? o.negativeTtlMs : o.ttlMs, o.jitter, this.#ctx.deps.random);
    try {
      const entry = await this.#ctx.store.write(full, {
        value,
        negative,
        ttlMs,
        staleMs: Math.max(o.swrMs, o.graceMs),
        tags: versions,
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        ...(o.waitReplicas === undefined ? {} : { waitReplicas: o.waitReplicas }),
      });
      if (o.graceMs > 0 || o.swrMs > 0) this.#remember(full, entry);
    } catch (error) {
      if (isSlotforgeError(error, 'E_CODEC')) {
        // The loader returned something no codec can store (a function, a Symbol): refuse it rather than hand back a
        // value that the next call cannot see (issue 16). Nothing was written.
        this.#ctx.metrics.error('E_LOADER');
        throw new SlotforgeError(
          'E_LOADER',
          `loader of '${full}' returned a value that cannot be cached: ${error.message}`,
          {
            key: full,
            received: value,
            cause: error,
          },
        );
      }
      // The caller still gets the value: a cache that cannot write must not fail the read.
      this.#countError(error);
      this.#ctx.events.emit('cache:error', { key: full, error: error as Error });
    }
  }

  #loadUnderLock<T>(
    full: string,
    loader: Loader<T>,
    o: Resolved,
    versions: [string, number][],
    lock: { ttlMs: number; waitMs: number },
  ): Promise<T> {
    return loadUnderLock<T>(this.#ctx, full, lock, {
      read: () => this.#ctx.store.read<T>(full, o.tags, o.timeoutMs),
      load: async (current) => {
        const value = await this.#runLoader(full, loader, o);
        await this.#store(full, value, o, current ?? versions);
        return value;
      },
      loadUnlocked: () => this.#loadAndStore(full, loader, { ...o, lock: undefined }, versions),
      onReleaseError: (error) => this.#countError(error),
    });
  }

  #countError(error: unknown): void {
    if (isSlotforgeError(error)) this.#ctx.metrics.error(error.code);
  }

  /** Drops the local fallback copy of keys (called by invalidation). */
  forget(fulls: readonly string[]): void {
    for (const full of fulls) this.#fallback.delete(full);
  }

  /** Drops every local fallback copy under a prefix. */
  forgetPrefix(prefix: string): void {
    this.#fallback.deletePrefix(prefix);
  }

  /** Drops all local fallback copies (tag invalidation: we do not index them by tag). */
  forgetAll(): void {
    this.#fallback.clear();
  }

  /** Waits for background refreshes. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#background]);
  }
}
