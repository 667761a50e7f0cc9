/**
 * getOrSet's Redis-down fallback: the last entries this process saw of keys read with graceMs or
 * staleWhileRevalidateMs, served while Redis fails, is slow or its circuit breaker is open.
 * @internal Used by get-or-set.ts.
 */
import { LocalStore } from '../near/index.ts';
import type { Entry } from './entry.ts';
import { GET_OR_SET_DEFAULTS, type GetOrSetDeps, type Resolved } from './get-or-set-options.ts';

/** A last-known entry (LocalStore's record of it). */
export type LastKnown = { value: unknown };

/** @internal The last-known entries and the two ways getOrSet falls back on them. */
export class RedisDownFallback {
  readonly #ctx: Pick<GetOrSetDeps, 'deps' | 'metrics' | 'events'>;
  readonly #entries = new LocalStore(GET_OR_SET_DEFAULTS.fallbackEntries, GET_OR_SET_DEFAULTS.fallbackBytes);

  constructor(ctx: Pick<GetOrSetDeps, 'deps' | 'metrics' | 'events'>) {
    this.#ctx = ctx;
  }

  /** The last-known entry of `full` when the call may serve one (graceMs or staleWhileRevalidateMs > 0). */
  lookup(full: string, o: Resolved): LastKnown | undefined {
    return o.graceMs > 0 || o.swrMs > 0 ? this.#entries.get(full, this.#ctx.deps.clock.now()) : undefined;
  }

  /** Keeps `entry` until its stale window ends. */
  readonly remember = (full: string, entry: Entry): void => {
    this.#entries.set(full, entry, entry.staleUntil, 256 + full.length * 2);
  };

  /** Redis failed or is slow: serve stale within grace, else keep serving from the loader, uncached. */
  async redisDown<T>(
    full: string,
    lastKnown: LastKnown | undefined,
    error: unknown,
    loadUncached: () => Promise<T>,
  ): Promise<T> {
    if (lastKnown) return this.#serveStale<T>(full, lastKnown);
    this.#ctx.deps.logger.warn('getOrSet: Redis unavailable, serving from the loader uncached', {
      key: full,
      error: error instanceof Error ? error.message : String(error),
    });
    // Still one loader run for concurrent callers: Redis being down must not turn into a stampede on the source.
    return loadUncached();
  }

  /**
   * The circuit breaker is open: Redis is not asked at all. The last value this process saw within grace/SWR, else
   * the loader's value, uncached (single flight still applies: an outage must not stampede the source).
   */
  shortCircuit<T>(full: string, o: Resolved, loadUncached: () => Promise<T>): Promise<T> {
    const lastKnown = this.lookup(full, o);
    if (lastKnown) {
      this.#ctx.metrics.breakerShortCircuit('stale');
      return Promise.resolve(this.#serveStale<T>(full, lastKnown));
    }
    this.#ctx.metrics.breakerShortCircuit('loader');
    return loadUncached();
  }

  #serveStale<T>(full: string, lastKnown: LastKnown): T {
    this.#ctx.metrics.stale('redis-error');
    this.#ctx.events.emit('cache:stale', { key: full, reason: 'redis-error' });
    return (lastKnown.value as Entry<T>).value;
  }

  /** Drops the copies of `fulls`. */
  forget(fulls: readonly string[]): void {
    for (const full of fulls) this.#entries.delete(full);
  }

  /** Drops every copy under a prefix. */
  forgetPrefix(prefix: string): void {
    this.#entries.deletePrefix(prefix);
  }

  /** Drops every copy. */
  forgetAll(): void {
    this.#entries.clear();
  }
}
