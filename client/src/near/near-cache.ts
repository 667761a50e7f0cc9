import { randomUUID } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import type { NodeConnection, Subscriber } from '../core/index.ts';
import { durationOption, enumOption, integerOption, sleep } from '../core/index.ts';
import { LocalStore } from './local-store.ts';

/**
 * The near cache: an optional in-process tier in front of Redis, bounded by entries and bytes.
 *
 * Invalidation across instances, two ways:
 * - `tracking` (default): Redis server-assisted client-side caching in broadcasting mode. ioredis 6 has no RESP3, so
 *   per master we open a subscriber on `__redis__:invalidate` and, on a second connection to the same node, run
 *   `CLIENT TRACKING ON REDIRECT <subscriber id> BCAST PREFIX <namespace>`; every write to a key of the namespace on
 *   that node is then pushed to us. @see https://redis.io/docs/latest/develop/reference/client-side-caching/
 * - `bus`: every client publishes the keys it writes or deletes on a pub/sub channel; works where CLIENT TRACKING is
 *   unavailable (proxies, managed services) but misses writes made by other tools.
 *
 * Safety rules: the tier serves nothing until invalidation is live; any lost connection, reconnect or topology change
 * flushes it (invalidations may have been missed) and rebuilds the subscriptions; a local entry never outlives the
 * Redis TTL seen when it was stored (PTTL read in the same round trip) nor `maxTtlMs`.
 */
export interface NearCacheOptions {
  /** @default 10_000 */
  readonly maxEntries?: number;
  /** @default 64 MiB */
  readonly maxBytes?: number;
  /** Longest time an entry lives locally, whatever its Redis TTL. @default 60_000 */
  readonly maxTtlMs?: number;
  /** @default 'tracking' */
  readonly invalidation?: 'tracking' | 'bus';
}

/** Near-cache defaults. */
export const NEAR_CACHE_DEFAULTS = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxTtlMs: 60_000,
  invalidation: 'tracking',
} as const;

/** What the near cache needs from the core. */
export type NearCacheDeps = Pick<CoreContext, 'commands' | 'keys' | 'deps' | 'metrics' | 'events'>;

/** Channel of the bus invalidation mode (inside the namespace). */
export const NEAR_BUS_CHANNEL = '__slotforge:near:invalidate';
const TRACKING_CHANNEL = '__redis__:invalidate';
/** Delay before re-establishing invalidation after a reconnect or topology change (events come in bursts). */
const REBUILD_DEBOUNCE_MS = 100;

interface Tracker {
  readonly subscriber: Subscriber;
  readonly control: NodeConnection | undefined;
}

/** @see NearCacheOptions */
export class NearCache {
  readonly store: LocalStore;
  readonly maxTtlMs: number;
  readonly invalidation: 'tracking' | 'bus';
  readonly #ctx: NearCacheDeps;
  readonly #instance = randomUUID();
  #trackers: Tracker[] = [];
  #live = false;
  #closed = false;
  #generation = 0;
  /** Sequence of invalidations, to drop a read that raced with one (see `begin`). */
  #seq = 0;
  readonly #invalidatedAt = new Map<string, number>();
  #readsInFlight = 0;
  #starting: Promise<void> | undefined;

  constructor(ctx: NearCacheDeps, options: NearCacheOptions = {}) {
    this.#ctx = ctx;
    this.store = new LocalStore(
      integerOption('nearCache.maxEntries', options.maxEntries ?? NEAR_CACHE_DEFAULTS.maxEntries, 1),
      integerOption('nearCache.maxBytes', options.maxBytes ?? NEAR_CACHE_DEFAULTS.maxBytes, 1),
    );
    this.maxTtlMs = durationOption('nearCache.maxTtlMs', options.maxTtlMs ?? NEAR_CACHE_DEFAULTS.maxTtlMs, 1);
    this.invalidation = enumOption('nearCache.invalidation', options.invalidation ?? NEAR_CACHE_DEFAULTS.invalidation, [
      'tracking',
      'bus',
    ]);
    const rebuild = (reason: string) => () => this.#rebuild(reason);
    ctx.commands.on('reconnect', rebuild('reconnect'));
    ctx.commands.on('topology', rebuild('topology change'));
  }

  /** True when invalidation is live and the tier may serve. */
  get live(): boolean {
    return this.#live;
  }

  /** Establishes invalidation (idempotent); the tier serves only after this resolves. */
  start(): Promise<void> {
    this.#starting ??= this.#establish(this.#generation).finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  /** A local hit, or undefined. */
  get(key: string): { value: unknown } | undefined {
    if (!this.#live) return undefined;
    return this.store.get(key, this.#ctx.deps.clock.now());
  }

  /** Call before reading `key` from Redis; pass the token to `set` so a read that raced an invalidation is dropped. */
  begin(): number {
    this.#readsInFlight++;
    return this.#seq;
  }

  /**
   * Stores a value read at `token` until `expiresAt` (epoch ms, local clock; computed from the time the read was SENT
   * plus the PTTL Redis returned, so it can only be earlier than the Redis expiry), capped by maxTtlMs. Skipped when
   * an invalidation of the key, or a flush, arrived since `begin()`.
   */
  set(key: string, value: unknown, expiresAt: number, bytes: number, token: number): void {
    this.#end();
    const now = this.#ctx.deps.clock.now();
    if (!this.#live || expiresAt <= now) return;
    const invalidated = Math.max(this.#invalidatedAt.get(key) ?? -1, this.#invalidatedAt.get('') ?? -1);
    if (invalidated > token) return;
    this.store.set(key, value, Math.min(expiresAt, now + this.maxTtlMs), bytes);
  }

  /** Ends a read started with `begin()` that stores nothing. */
  abandon(): void {
    this.#end();
  }

  #end(): void {
    this.#readsInFlight = Math.max(0, this.#readsInFlight - 1);
    if (this.#readsInFlight === 0) this.#invalidatedAt.clear();
  }

  /** Drops `keys` locally (this instance wrote or deleted them) and, in bus mode, tells the other instances. */
  async invalidate(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#drop(key, 'local');
    if (this.invalidation === 'bus' && keys.length > 0 && !this.#closed) {
      const channel = this.#ctx.keys.prefix + NEAR_BUS_CHANNEL;
      try {
        await this.#ctx.commands.call('PUBLISH', [channel, JSON.stringify({ from: this.#instance, keys })], {
          idempotent: true,
        });
      } catch (error) {
        // Other instances may now serve a stale value until maxTtlMs: say so loudly.
        this.#ctx.events.emit('cache:error', { error: error as Error });
        this.#ctx.deps.logger.warn('near cache: invalidation publish failed', { error: (error as Error).message });
      }
    }
  }

  /** Drops everything (reconnect, topology change, FLUSHALL). */
  flush(reason: string): void {
    const n = this.store.clear();
    this.#invalidatedAt.set('', ++this.#seq);
    this.#ctx.metrics.nearInvalidation('flush', Math.max(1, n));
    this.#ctx.events.emit('near:flush', { reason });
  }

  #drop(key: string, source: 'tracking' | 'bus' | 'local'): void {
    this.#invalidatedAt.set(key, ++this.#seq);
    this.store.delete(key);
    this.#ctx.metrics.nearInvalidation(source);
    this.#ctx.events.emit('near:invalidate', { key, source });
  }

  #onInvalidate(payload: unknown, source: 'tracking' | 'bus'): void {
    if (payload === null || payload === undefined) {
      // RESP2 tracking sends a null payload on FLUSHALL/FLUSHDB.
      this.flush('flushdb');
      return;
    }
    if (Array.isArray(payload)) {
      for (const key of payload) this.#drop(String(key), source);
      return;
    }
    this.#drop(String(payload), source);
  }

  #rebuild(reason: string): void {
    if (this.#closed) return;
    this.#live = false;
    this.flush(reason);
    const generation = ++this.#generation;
    const old = this.#trackers;
    this.#trackers = [];
    void Promise.allSettled(old.flatMap((t) => [t.subscriber.close(), t.control?.close()]));
    // A failover fires many reconnect/topology events in a row: wait a little so only the last one reconnects.
    this.#ctx.deps.clock.setTimeout(() => {
      if (generation === this.#generation) void this.#establish(generation);
    }, REBUILD_DEBOUNCE_MS);
  }

  /** Opens trackers until it succeeds, a newer rebuild starts, or the client closes. */
  async #establish(generation: number): Promise<void> {
    let attempt = 0;
    while (!this.#closed && generation === this.#generation) {
      try {
        const trackers = await this.#openTrackers(generation);
        if (generation !== this.#generation || this.#closed) {
          await Promise.allSettled(trackers.flatMap((t) => [t.subscriber.close(), t.control?.close()]));
          return;
        }
        this.#trackers = trackers;
        this.#live = true;
        return;
      } catch (error) {
        this.#ctx.deps.logger.warn('near cache: invalidation not established, retrying', {
          error: (error as Error).message,
        });
        attempt++;
        await sleep(Math.min(1000, 50 * 2 ** attempt), this.#ctx.deps.clock);
      }
    }
  }

  async #openTrackers(generation: number): Promise<Tracker[]> {
    const { commands, keys } = this.#ctx;
    const trackers: Tracker[] = [];
    const broken = () => {
      if (generation === this.#generation) this.#rebuild('invalidation connection lost');
    };
    try {
      if (this.invalidation === 'bus') {
        const subscriber = commands.duplicate();
        trackers.push({ subscriber, control: undefined });
        subscriber.on('message', (_channel, message) => {
          try {
            const parsed = JSON.parse(String(message)) as { from: string; keys: string[] };
            if (parsed.from !== this.#instance) this.#onInvalidate(parsed.keys, 'bus');
          } catch {
            // A malformed bus message cannot be trusted: drop everything rather than risk serving stale data.
            this.flush('malformed bus message');
          }
        });
        await subscriber.subscribe(keys.prefix + NEAR_BUS_CHANNEL);
        subscriber.on('close', broken);
        return trackers;
      }
      for (const node of commands.masters()) {
        const subscriber = commands.duplicate({ node });
        trackers.push({ subscriber, control: undefined });
        const id = await subscriber.clientId();
        subscriber.on('message', (channel, message) => {
          if (channel === TRACKING_CHANNEL) this.#onInvalidate(message, 'tracking');
        });
        await subscriber.subscribe(TRACKING_CHANNEL);
        const control = await commands.connectNode(node);
        trackers[trackers.length - 1] = { subscriber, control };
        const args = ['TRACKING', 'ON', 'REDIRECT', id, 'BCAST'];
        if (keys.prefix !== '') args.push('PREFIX', keys.prefix);
        await control.call('CLIENT', args);
        subscriber.on('close', broken);
        control.on('close', broken);
      }
      return trackers;
    } catch (error) {
      await Promise.allSettled(trackers.flatMap((t) => [t.subscriber.close(), t.control?.close()]));
      throw error;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#live = false;
    this.store.clear();
    const trackers = this.#trackers;
    this.#trackers = [];
    await Promise.allSettled(trackers.flatMap((t) => [t.subscriber.close(), t.control?.close()]));
  }
}
