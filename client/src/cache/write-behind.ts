import type { CoreContext } from '../context.ts';
import {
  durationOption,
  functionOption,
  integerOption,
  MAX_TIMER_MS,
  raceClock,
  SlotforgeError,
} from '../core/index.ts';
import type { CacheStore } from './store.ts';

/**
 * Write-behind: the cache is written at once, the source later, in batches. The queue is bounded (a full queue
 * rejects with E_QUEUE_FULL instead of growing until the process dies), coalesces writes to the same key (last
 * value wins), retries failed batches, and is flushed by `close()`. Risk: values acknowledged to callers but not yet
 * in the source are lost if the process dies; see docs/cache-patterns.md.
 */
export interface WriteBehindOptions<T> {
  /** Writes a batch to the source of truth. */
  readonly flush: (entries: readonly (readonly [key: string, value: T])[]) => void | Promise<void>;
  /** Most distinct keys waiting. @default 10_000 */
  readonly maxQueue?: number;
  /** Most entries per flush call. @default 100 */
  readonly batchSize?: number;
  /** How often the queue is flushed. @default 1000 */
  readonly flushIntervalMs?: number;
  /** @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /**
   * Deadline of one `flush` call. A call still running after it counts as failed: its entries stay queued and are
   * offered again (the source may then see them twice, so `flush` must be an upsert). @default 10_000
   */
  readonly flushTimeoutMs?: number;
  /**
   * Deadline of `close()`: how long it waits for the queue to reach the source. Past it, close() gives up: it emits
   * `writebehind:dropped` with the keys that never reached the source and rejects with E_TIMEOUT, so shutting down
   * never hangs on an unreachable source or Redis. @default 15_000
   */
  readonly closeTimeoutMs?: number;
}

export type WriteBehindDeps = Pick<CoreContext, 'keys' | 'deps' | 'metrics' | 'events'> & {
  readonly store: CacheStore;
  readonly defaultTtlMs: number;
};

export const WRITE_BEHIND_DEFAULTS = {
  maxQueue: 10_000,
  batchSize: 100,
  flushIntervalMs: 1000,
  flushTimeoutMs: 10_000,
  closeTimeoutMs: 15_000,
} as const;

export class WriteBehind<T> {
  readonly #ctx: WriteBehindDeps;
  readonly #options: WriteBehindOptions<T>;
  readonly #queue = new Map<string, T>();
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #ttlMs: number;
  readonly #flushTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  #timer: unknown;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(ctx: WriteBehindDeps, options: WriteBehindOptions<T>) {
    functionOption('flush', options.flush);
    this.#ctx = ctx;
    this.#options = options;
    this.#maxQueue = integerOption('maxQueue', options.maxQueue ?? WRITE_BEHIND_DEFAULTS.maxQueue, 1);
    this.#batchSize = integerOption('batchSize', options.batchSize ?? WRITE_BEHIND_DEFAULTS.batchSize, 1);
    this.#intervalMs = durationOption(
      'flushIntervalMs',
      options.flushIntervalMs ?? WRITE_BEHIND_DEFAULTS.flushIntervalMs,
      1,
      MAX_TIMER_MS,
    );
    this.#ttlMs = durationOption('ttlMs', options.ttlMs ?? ctx.defaultTtlMs, 1);
    this.#flushTimeoutMs = durationOption(
      'flushTimeoutMs',
      options.flushTimeoutMs ?? WRITE_BEHIND_DEFAULTS.flushTimeoutMs,
      1,
      MAX_TIMER_MS,
    );
    this.#closeTimeoutMs = durationOption(
      'closeTimeoutMs',
      options.closeTimeoutMs ?? WRITE_BEHIND_DEFAULTS.closeTimeoutMs,
      1,
      MAX_TIMER_MS,
    );
  }

  /** Entries waiting for the source. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Writes the cache now and queues the source write. */
  async set(key: string, value: T): Promise<void> {
    if (this.#closed) throw new SlotforgeError('E_CLOSED', 'write-behind is closed', { key });
    if (!this.#queue.has(key) && this.#queue.size >= this.#maxQueue) {
      this.#ctx.metrics.error('E_QUEUE_FULL');
      throw new SlotforgeError(
        'E_QUEUE_FULL',
        `write-behind queue is full (${this.#maxQueue} keys); the source is not keeping up`,
        {
          key,
          option: 'maxQueue',
          received: this.#queue.size,
        },
      );
    }
    await this.#ctx.store.write(this.#ctx.keys.key(key), { value, ttlMs: this.#ttlMs });
    // Re-inserting moves the key to the back: the latest value is what the source gets.
    this.#queue.delete(key);
    this.#queue.set(key, value);
    this.#ctx.metrics.writeBehindQueue(this.#queue.size);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = this.#ctx.deps.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.flush().catch(() => {});
    }, this.#intervalMs);
  }

  /** Flushes everything queued now (one flush at a time). Failed batches stay queued. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.size > 0) this.#schedule();
    });
    return this.#flushing;
  }

  async #flushAll(): Promise<void> {
    let written = 0;
    let failed = 0;
    let lastError: unknown;
    const snapshot = [...this.#queue];
    for (let i = 0; i < snapshot.length; i += this.#batchSize) {
      const batch = snapshot.slice(i, i + this.#batchSize);
      if (this.#abandoned) break;
      try {
        await this.#deadline(
          Promise.resolve().then(() => this.#options.flush(batch)),
          this.#flushTimeoutMs,
          () =>
            new SlotforgeError(
              'E_TIMEOUT',
              `write-behind: flush of ${batch.length} entr(ies) took over ${this.#flushTimeoutMs} ms`,
              {
                option: 'flushTimeoutMs',
                timeoutMs: this.#flushTimeoutMs,
                received: batch.length,
              },
            ),
        );
        for (const [key, value] of batch) if (this.#queue.get(key) === value) this.#queue.delete(key);
        written += batch.length;
      } catch (error) {
        failed += batch.length;
        lastError = error;
        for (const [key] of batch) this.#ctx.events.emit('writebehind:error', { key, error: error as Error });
      }
    }
    this.#ctx.metrics.writeBehindQueue(this.#queue.size);
    this.#ctx.events.emit('writebehind:flush', { written, failed });
    if (failed > 0) {
      throw new SlotforgeError('E_CONNECTION', `write-behind: ${failed} entr(ies) could not be written to the source`, {
        cause: lastError,
        received: failed,
      });
    }
  }

  /** Rejects with `timeout()` if `promise` has not settled after `ms` (the work itself cannot be cancelled). */
  #deadline<R>(promise: Promise<R>, ms: number, timeout: () => SlotforgeError): Promise<R> {
    return raceClock(promise, ms, this.#ctx.deps.clock, () => {
      throw timeout();
    });
  }

  /** Set when close() gave up: a flush still running stops before its next batch. */
  #abandoned = false;

  /**
   * Stops the timer and flushes what is queued, within `closeTimeoutMs`. Rejects when some entries did not reach
   * the source: E_CONNECTION when the source refused them, E_TIMEOUT when the deadline passed (then
   * `writebehind:dropped` lists the keys, and `received` counts them).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#ctx.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const drain = (async () => {
      await this.#flushing?.catch(() => {});
      if (this.#queue.size > 0) await this.flush();
    })();
    const gaveUp = new SlotforgeError('E_TIMEOUT', 'close deadline', { timeoutMs: this.#closeTimeoutMs });
    try {
      await this.#deadline(drain, this.#closeTimeoutMs, () => gaveUp);
    } catch (error) {
      if (error !== gaveUp) throw error;
      this.#abandoned = true;
      void drain.catch(() => {});
      // Whatever is still queued is reported once, then forgotten (a flush still running may yet deliver some).
      const keys = [...this.#queue.keys()];
      this.#queue.clear();
      this.#ctx.metrics.writeBehindQueue(0);
      this.#ctx.metrics.error('E_TIMEOUT');
      this.#ctx.events.emit('writebehind:dropped', { keys, reason: 'close-timeout' });
      throw new SlotforgeError(
        'E_TIMEOUT',
        `write-behind: close() gave up after ${this.#closeTimeoutMs} ms (option closeTimeoutMs); ${keys.length} entr(ies) never reached the source`,
        { option: 'closeTimeoutMs', timeoutMs: this.#closeTimeoutMs, received: keys.length },
      );
    }
  }
}
