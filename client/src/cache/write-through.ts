import type { CoreContext } from '../context.ts';
import { durationOption, functionOption, invalidOption, SlotforgeError } from '../core/index.ts';
import type { GetOrSet } from './get-or-set.ts';
import type { CacheStore } from './store.ts';

/**
 * Write-through: every write goes to the source of truth first, then to the cache, before the caller gets an answer.
 * If the source write fails nothing is cached. If the cache write fails after the source succeeded, the key is
 * deleted (best effort) so readers reload from the source rather than read an old value, and the error is raised.
 */
export interface WriteThroughOptions<T> {
  /** Writes to the source of truth. */
  readonly write: (key: string, value: T) => void | Promise<void>;
  /** Deletes from the source of truth. */
  readonly remove?: (key: string) => void | Promise<void>;
  /** @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /** WAIT for this many replicas after the cache write. @default 0 */
  readonly waitReplicas?: number;
}

export type WriteThroughDeps = Pick<CoreContext, 'keys'> & {
  readonly store: CacheStore;
  readonly getOrSet: GetOrSet;
  readonly defaultTtlMs: number;
};

export class WriteThrough<T> {
  readonly #ctx: WriteThroughDeps;
  readonly #options: WriteThroughOptions<T>;
  readonly #ttlMs: number;

  constructor(ctx: WriteThroughDeps, options: WriteThroughOptions<T>) {
    functionOption('write', options.write);
    this.#ctx = ctx;
    this.#options = options;
    this.#ttlMs = durationOption('ttlMs', options.ttlMs ?? ctx.defaultTtlMs, 1);
  }

  async set(key: string, value: T): Promise<void> {
    const full = this.#ctx.keys.key(key);
    // Refused before the source is written (the cache would refuse it after): undefined is "not found".
    if (value === undefined) throw invalidOption('value', 'a value other than undefined (use delete())', value);
    await this.#options.write(key, value);
    try {
      this.#ctx.getOrSet.forget([full]);
      await this.#ctx.store.write(full, {
        value,
        ttlMs: this.#ttlMs,
        ...(this.#options.waitReplicas === undefined ? {} : { waitReplicas: this.#options.waitReplicas }),
      });
    } catch (cause) {
      await this.#ctx.store.delete([full]).catch(() => {});
      throw new SlotforgeError('E_CONNECTION', `write-through of '${full}': source written, cache write failed`, {
        key: full,
        cause,
      });
    }
  }

  async delete(key: string): Promise<void> {
    const full = this.#ctx.keys.key(key);
    await this.#options.remove?.(key);
    this.#ctx.getOrSet.forget([full]);
    await this.#ctx.store.delete([full]);
  }
}
