import { EventEmitter } from 'node:events';

/**
 * Every event the client emits, named `domain:verb`, with its payload. Payloads never carry values, only keys and
 * facts, so a listener cannot leak cached data into logs by accident.
 */
export interface ClientEvents {
  'connection:ready': { mode: 'standalone' | 'cluster' | 'sentinel' };
  'connection:error': { error: Error; node?: string };
  'connection:reconnect': { node?: string };
  'connection:close': Record<string, never>;
  'topology:change': { masters: string[] };
  'cache:hit': { key: string; tier: 'near' | 'redis' };
  'cache:miss': { key: string };
  'cache:stale': { key: string; reason: 'refreshing' | 'redis-error' | 'loader-error' };
  'cache:set': { key: string };
  'cache:delete': { key: string };
  'cache:error': { key?: string; error: Error };
  'loader:start': { key: string };
  'loader:end': { key: string; durationMs: number; ok: boolean };
  'invalidate:tag': { tag: string };
  'invalidate:pattern': { pattern: string; deleted: number };
  'near:invalidate': { key: string | null; source: 'tracking' | 'bus' | 'local' };
  'near:flush': { reason: string };
  'writebehind:flush': { written: number; failed: number };
  'writebehind:error': { key: string; error: Error };
  /** close() gave up (its deadline passed): these keys never reached the source. */
  'writebehind:dropped': { keys: string[]; reason: 'close-timeout' };
  'warm:progress': { done: number; total: number; failed: number };
  'warm:done': { done: number; failed: number; durationMs: number };
  /** The circuit breaker opened (Redis did not answer `failureThreshold` attempts in a row); `cause` is the last. */
  'breaker:open': { state: 'open'; cause?: Error };
  /** The breaker's background probe (PING) is running. */
  'breaker:probe': { state: 'half-open'; cause?: Error };
  /** Redis answered: the breaker closed. */
  'breaker:close': { state: 'closed' };
  /** A sharded subscription Redis no longer confirmed was sent again to the master of its slot. */
  'pubsub:resubscribe': { channels: string[]; node: string };
  [event: `${string}:${string}`]: unknown;
}

/** A typed event emitter: `on('cache:hit', ({ key }) => ...)`. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Many modules subscribe; the default cap of 10 would print a spurious leak warning.
    this.#emitter.setMaxListeners(0);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.on(event, listener);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.once(event, listener);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): this {
    this.#emitter.off(event, listener);
    return this;
  }

  /** Emits; a listener that throws is isolated so it never breaks the operation that emitted. */
  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    if (this.#emitter.listenerCount(event) === 0) return;
    for (const listener of this.#emitter.listeners(event)) {
      try {
        (listener as (p: Events[K]) => void)(payload);
      } catch {
        // A faulty listener must not turn a cache hit into an error.
      }
    }
  }

  listenerCount(event: keyof Events & string): number {
    return this.#emitter.listenerCount(event);
  }
}

/** The client's emitter type. */
export type ClientEmitter = TypedEmitter<ClientEvents>;
