import { invalidOption, isSlotforgeError, raceClock } from '../core/index.ts';
import type { Entry } from './entry.ts';
import { type LastKnown, RedisDownFallback } from './get-or-set-fallback.ts';
import { countError, runLoader, storeLoaded } from './get-or-set-loader.ts';
import {
  type GetOrSetDeps,
  type GetOrSetOptions,
  type Loader,
  type Resolved,
  ResolvedOptionsCache,
} from './get-or-set-options.ts';
import { loadUnderLock } from './loader-lock.ts';
import { SingleFlight } from './single-flight.ts';
import type { ReadResult } from './store.ts';

export { GET_OR_SET_DEFAULTS, type GetOrSetDeps, type GetOrSetOptions, type Loader } from './get-or-set-options.ts';

/**
 * Cache-aside, done right (the seed's `if (cached)` treated '', 0, false and null as misses; regression-tested).
 *
 * One call: near tier -> in-process single flight -> Redis read (tag versions in the same round trip) -> fresh hit,
 * or stale-while-revalidate, or miss -> loader (optionally under a distributed lock) -> write with jittered TTL.
 * Failures: Redis down/slow -> stale value from the local fallback within grace, else the loader's value (the call
 * keeps serving, uncached); loader fails -> stale within grace, else E_LOADER with the cause.
 * Its options are resolved in get-or-set-options.ts, the loader runs in get-or-set-loader.ts and the Redis-down
 * fallback is get-or-set-fallback.ts.
 */
export class GetOrSet {
  readonly #ctx: GetOrSetDeps;
  readonly #flights = new SingleFlight();
  /** Last-known entries for keys read with graceMs > 0, served when Redis is unreachable. */
  readonly #fallback: RedisDownFallback;
  readonly #options: ResolvedOptionsCache;
  readonly #background = new Set<Promise<unknown>>();

  constructor(ctx: GetOrSetDeps) {
    this.#ctx = ctx;
    this.#fallback = new RedisDownFallback(ctx);
    this.#options = new ResolvedOptionsCache(ctx.defaultTtlMs);
  }

  /** Returns the cached value of `key` or loads, caches and returns it. */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    let full: string;
    let o: Resolved;
    try {
      full = this.#ctx.keys.key(key);
      if (typeof loader !== 'function') throw invalidOption('loader', 'a function', loader);
      o = this.#options.get(options);
    } catch (error) {
      countError(this.#ctx, error);
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
    if (breaker && breaker.state !== 'closed')
      return this.#fallback.shortCircuit(full, o, () => this.#loadUncached(full, loader, o));
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
    const fallback = this.#fallback.lookup(full, o);
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
            ? this.#fallback.redisDown(full, fallback, undefined, () => this.#loadUncached(full, loader, o))
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
    fallback: LastKnown | undefined,
    error: unknown,
  ): Promise<T> {
    countError(this.#ctx, error);
    if (!isSlotforgeError(error, 'E_CODEC'))
      return this.#fallback.redisDown(full, fallback, error, () => this.#loadUncached(full, loader, o));
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
    fallback: LastKnown | undefined,
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
      if (!joined && !isSlotforgeError(error, 'E_LOADER')) countError(this.#ctx, error);
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
    if (o.graceMs > 0 || o.swrMs > 0) this.#fallback.remember(full, entry);
  }

  /** The loader's value, uncached (Redis down or the breaker open); concurrent callers share one run. */
  #loadUncached<T>(full: string, loader: Loader<T>, o: Resolved): Promise<T> {
    return this.#load(full, () => runLoader(this.#ctx, full, loader, o)).promise;
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
      countError(this.#ctx, error);
      this.#ctx.events.emit('cache:error', { key: full, error: error as Error });
    });
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  async #loadAndStore<T>(full: string, loader: Loader<T>, o: Resolved, versions: [string, number][]): Promise<T> {
    if (o.lock) return this.#loadUnderLock(full, loader, o, versions, o.lock);
    const value = await runLoader(this.#ctx, full, loader, o);
    await storeLoaded(this.#ctx, full, value, o, versions, this.#fallback.remember);
    return value;
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
        const value = await runLoader(this.#ctx, full, loader, o);
        await storeLoaded(this.#ctx, full, value, o, current ?? versions, this.#fallback.remember);
        return value;
      },
      loadUnlocked: () => this.#loadAndStore(full, loader, { ...o, lock: undefined }, versions),
      onReleaseError: (error) => countError(this.#ctx, error),
    });
  }

  /** Drops the local fallback copy of keys (called by invalidation). */
  forget(fulls: readonly string[]): void {
    this.#fallback.forget(fulls);
  }

  /** Drops every local fallback copy under a prefix. */
  forgetPrefix(prefix: string): void {
    this.#fallback.forgetPrefix(prefix);
  }

  /** Drops all local fallback copies (tag invalidation: we do not index them by tag). */
  forgetAll(): void {
    this.#fallback.forgetAll();
  }

  /** Waits for background refreshes. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#background]);
  }
}
