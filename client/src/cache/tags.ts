import type { CoreContext } from '../core/context.ts';
import { invalidOption } from '../core/validate.ts';

/**
 * Tag invalidation by versions: each tag has a counter key; an entry records the versions of its tags when it was
 * loaded; invalidating a tag is one INCR (atomic, O(1), one key, so no CROSSSLOT on a cluster however many entries
 * carry the tag). A reader that sees a newer version treats the entry as a miss. Stale entries are not deleted: they
 * expire with their TTL.
 */
export type TagsDeps = Pick<CoreContext, 'commands' | 'keys'>;

/** Key part under which tag versions live (inside the namespace). */
export const TAG_KEY_PART = '__tag:';

export class Tags {
  readonly #ctx: TagsDeps;

  constructor(ctx: TagsDeps) {
    this.#ctx = ctx;
  }

  /** The Redis key of a tag's version. */
  key(tag: string): string {
    if (typeof tag !== 'string' || tag.length === 0) throw invalidOption('tag', 'a non-empty string', tag);
    return this.#ctx.keys.key(TAG_KEY_PART + tag);
  }

  /** Full-key prefix of every tag key (the near cache uses it to map a tag invalidation to entries). */
  get prefix(): string {
    return this.#ctx.keys.prefix + TAG_KEY_PART;
  }

  /** Parses a version reply (missing = 0). */
  static version(bytes: Buffer | string | null | undefined): number {
    return bytes === null || bytes === undefined ? 0 : Number(bytes.toString());
  }

  /** Current versions of `tags`, in one round trip per node. */
  async versions(tags: readonly string[], timeoutMs?: number): Promise<[string, number][]> {
    if (tags.length === 0) return [];
    const values = await this.#ctx.commands.mget(
      tags.map((t) => this.key(t)),
      timeoutMs === undefined ? {} : { timeoutMs },
    );
    return tags.map((tag, i) => [tag, Tags.version(values[i])]);
  }

  /** True when every recorded version is still current. */
  static current(
    recorded: readonly (readonly [string, number])[],
    now: readonly (readonly [string, number])[],
  ): boolean {
    if (recorded.length === 0) return true;
    const map = new Map(now);
    return recorded.every(([tag, version]) => (map.get(tag) ?? 0) === version);
  }

  /** Invalidates every entry carrying any of `tags`: one INCR per tag, pipelined per node. */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    // INCR twice is as good as once here (any change of version invalidates), so it is safe to retry.
    const results = await this.#ctx.commands.batch(
      tags.map((t) => ({ command: 'INCR', args: [this.key(t)] })),
      { idempotent: true },
    );
    for (const r of results) if (!r.ok) throw r.error;
  }
}
