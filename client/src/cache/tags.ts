import { randomInt } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import { invalidOption } from '../core/index.ts';

/**
 * Tag invalidation by versions: each tag has a version key; an entry records the versions of its tags when it was
 * loaded; invalidating a tag replaces its version (one SET, O(1), one key, so no CROSSSLOT on a cluster however many
 * entries carry the tag). A reader that sees another version treats the entry as a miss. Stale entries are not
 * deleted: they expire with their TTL.
 *
 * Versions are random (48 bits, from the OS, not `deps.random`, which tests may make constant) and a MISSING version
 * key matches no entry. So version keys can expire: a key that expired and was created again gets a new random
 * version, and no entry recorded against an older one is ever valid again. (With counters, an expired key read as 0
 * and revived every entry written before the first invalidation.) Expiry policy:
 * - a version key is created (before a load, when missing) and replaced (on invalidation) with PX `tagTtlMs`;
 * - every write of an entry carrying the tag extends it (PEXPIRE ... GT) to at least that entry's lifetime,
 *   so while an entry can be served its tag key exists, and a tag nobody writes under disappears after `tagTtlMs`.
 * If a version key expires anyway (eviction), its entries turn into misses: a reload, never a stale read.
 * Entries written by versions of this client that used counters recorded 0 for a missing key: they read as misses
 * once and are rewritten. Version keys those versions created (INCR, no TTL) keep no TTL.
 */
export type TagsDeps = Pick<CoreContext, 'commands' | 'keys'>;

/** Key part under which tag versions live (inside the namespace). */
export const TAG_KEY_PART = '__tag:';

/** Defaults of the tag policy. */
export const TAG_DEFAULTS = {
  /** A day: a tag key lives this long after it is created or invalidated, unless an entry written under it lives longer. */
  tagTtlMs: 86_400_000,
} as const;

/** Options of Tags. */
export interface TagsOptions {
  /**
   * How long a tag's version key lives after it is created or invalidated; writes of entries carrying the tag extend
   * it to their own lifetime. Must exceed the longest load (a version key that expires during a load only costs
   * that entry a reload). @default 86_400_000 (a day)
   */
  readonly tagTtlMs?: number;
}

/** A version for a new or invalidated tag: never 0 (0 is "missing"), safe in JSON. */
function newVersion(): number {
  return randomInt(1, 2 ** 48);
}

export class Tags {
  readonly tagTtlMs: number;
  readonly #ctx: TagsDeps;

  constructor(ctx: TagsDeps, options: TagsOptions = {}) {
    this.#ctx = ctx;
    const ttl = options.tagTtlMs ?? TAG_DEFAULTS.tagTtlMs;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1000) {
      throw invalidOption('tagTtlMs', 'a whole number of milliseconds >= 1000', ttl);
    }
    this.tagTtlMs = ttl;
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

  /** Parses a version reply (missing = 0, which matches no entry). */
  static version(bytes: Buffer | string | null | undefined): number {
    return bytes === null || bytes === undefined ? 0 : Number(bytes.toString());
  }

  /** Current versions of `tags` (0 for a missing key), in one round trip per node. */
  async versions(tags: readonly string[], timeoutMs?: number): Promise<[string, number][]> {
    if (tags.length === 0) return [];
    const values = await this.#ctx.commands.mget(
      tags.map((t) => this.key(t)),
      timeoutMs === undefined ? {} : { timeoutMs },
    );
    return tags.map((tag, i) => [tag, Tags.version(values[i])]);
  }

  /**
   * Versions to record for a value about to be loaded: missing version keys are created first (SET NX PX, then GET,
   * pipelined per node), so every recorded version is a real one that a later invalidation replaces.
   */
  async ensure(versions: readonly (readonly [string, number])[], timeoutMs?: number): Promise<[string, number][]> {
    const missing = versions.filter(([, v]) => v === 0).map(([t]) => t);
    if (missing.length === 0) return versions as [string, number][];
    const commands = missing.flatMap((tag) => {
      const key = this.key(tag);
      return [
        { command: 'SET', args: [key, newVersion(), 'NX', 'PX', this.tagTtlMs] },
        { command: 'GET', args: [key] },
      ];
    });
    // Retrying is safe: NX never replaces a version, and the GET reads whichever one won.
    const results = await this.#ctx.commands.batch(commands, {
      idempotent: true,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const created = new Map<string, number>();
    for (const [i, r] of results.entries()) {
      if (!r.ok) throw r.error;
      if (i % 2 === 1) created.set(missing[(i - 1) / 2] as string, Tags.version(r.value as string | null));
    }
    return versions.map(([tag, v]) => [tag, v === 0 ? (created.get(tag) ?? 0) : v]);
  }

  /** Versions to record for a value written now (`versions`, then `ensure`). */
  async forWrite(tags: readonly string[], timeoutMs?: number): Promise<[string, number][]> {
    return this.ensure(await this.versions(tags, timeoutMs), timeoutMs);
  }

  /**
   * Extends the version keys of `tags` to live at least `lifetimeMs` more (PEXPIRE GT, Redis >= 7.0: never shortens
   * them; a missing key stays missing, so an entry written against an expired version stays a miss).
   */
  async extend(tags: readonly string[], lifetimeMs: number, timeoutMs?: number): Promise<void> {
    if (tags.length === 0) return;
    const ms = Math.max(1, Math.ceil(lifetimeMs));
    const results = await this.#ctx.commands.batch(
      tags.map((t) => ({ command: 'PEXPIRE', args: [this.key(t), ms, 'GT'] })),
      { idempotent: true, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    );
    for (const r of results) if (!r.ok) throw r.error;
  }

  /** True when every recorded version is a real one (not 0) and still current. */
  static current(
    recorded: readonly (readonly [string, number])[],
    now: readonly (readonly [string, number])[],
  ): boolean {
    if (recorded.length === 0) return true;
    const map = new Map(now);
    return recorded.every(([tag, version]) => version !== 0 && map.get(tag) === version);
  }

  /** Invalidates every entry carrying any of `tags`: one SET of a new random version per tag, pipelined per node. */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    // Setting twice is as good as once (any change of version invalidates), so it is safe to retry.
    const results = await this.#ctx.commands.batch(
      tags.map((t) => ({ command: 'SET', args: [this.key(t), newVersion(), 'PX', this.tagTtlMs] })),
      { idempotent: true },
    );
    for (const r of results) if (!r.ok) throw r.error;
  }
}
