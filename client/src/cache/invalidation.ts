import type { CoreContext } from '../context.ts';
import { integerOption, invalidOption } from '../core/index.ts';
import type { GetOrSet } from './get-or-set.ts';
import type { CacheStore } from './store.ts';

/**
 * Invalidation by key, by tag and by pattern.
 * - keys: DEL grouped per slot, pipelined per node (the seed's `DEL k1 k2 ...` raised CROSSSLOT on a cluster).
 * - tags: one SET of a new random version per tag (see tags.ts), O(1) whatever the number of entries.
 * - pattern: SCAN on EVERY master (the seed's `KEYS` blocked Redis and, through a cluster client, saw one node
 *   only), deleting each page as it comes, grouped per node. Cost: O(keys in the namespace); prefer tags.
 */
export type InvalidationDeps = Pick<CoreContext, 'commands' | 'keys' | 'events' | 'metrics'> & {
  readonly store: CacheStore;
  readonly getOrSet?: GetOrSet;
};

/** Options of invalidatePattern. */
export interface InvalidatePatternOptions {
  /** SCAN COUNT hint per call. @default 500 */
  readonly scanCount?: number;
}

export class Invalidation {
  readonly #ctx: InvalidationDeps;

  constructor(ctx: InvalidationDeps) {
    this.#ctx = ctx;
  }

  /** Deletes keys (caller keys, namespaced here); returns how many existed. */
  async keys(keys: readonly string[]): Promise<number> {
    const fulls = keys.map((k) => this.#ctx.keys.key(k));
    this.#ctx.getOrSet?.forget(fulls);
    return this.#ctx.store.delete(fulls);
  }

  /** Invalidates every entry carrying any of `tags`. */
  async tags(tags: readonly string[]): Promise<void> {
    if (!Array.isArray(tags)) throw invalidOption('tags', 'an array of non-empty strings', tags);
    await this.#ctx.store.tags.invalidate(tags);
    // Local copies are not indexed by tag: drop them all (they are only a fallback).
    this.#ctx.getOrSet?.forgetAll();
    if (this.#ctx.store.near) {
      await this.#ctx.store.near.invalidate(tags.map((t) => this.#ctx.store.tags.key(t)));
      this.#ctx.store.near.flush('tag invalidation');
    }
    for (const tag of tags) this.#ctx.events.emit('invalidate:tag', { tag });
  }

  /**
   * Deletes every key of the namespace matching the glob `pattern` (e.g. `user:*`) on every master; returns how many
   * were deleted. Keys written during the scan may survive (SCAN guarantees only keys present for the whole scan).
   */
  async pattern(pattern: string, options: InvalidatePatternOptions = {}): Promise<number> {
    const count = integerOption('scanCount', options.scanCount ?? 500, 1);
    const match = this.#ctx.keys.pattern(pattern);
    let deleted = 0;
    for await (const page of this.#ctx.commands.scan(match, { count })) {
      deleted += await this.#ctx.store.delete(page);
    }
    this.#ctx.getOrSet?.forgetAll();
    this.#ctx.store.near?.flush('pattern invalidation');
    this.#ctx.events.emit('invalidate:pattern', { pattern, deleted });
    return deleted;
  }
}
