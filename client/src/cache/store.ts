import type { CoreContext } from '../context.ts';
import type { BatchCommand } from '../core/index.ts';
import { durationOption, invalidOption } from '../core/index.ts';
import type { NearCache } from '../near/index.ts';
import { decodeEntry, type Entry, encodeEntry, entryBytes } from './entry.ts';
import { Tags, type TagsOptions } from './tags.ts';

/**
 * Reads and writes cache entries (value + freshness + tag versions) in Redis, through the optional near cache.
 * Every pattern module (getOrSet, read/write-through, write-behind, warming, invalidation) goes through here, so they
 * share one format and one invalidation story.
 */
export type StoreDeps = Pick<CoreContext, 'commands' | 'keys' | 'envelope' | 'deps' | 'metrics' | 'events'>;

/** The result of a read. */
export interface ReadResult<T> {
  /** The entry, or undefined when missing or invalidated by a tag. */
  readonly entry: Entry<T> | undefined;
  /** Current versions of the tags asked for (for the write that follows a miss). */
  readonly versions: [string, number][];
  /** Where it came from. */
  readonly source: 'near' | 'redis' | 'none';
}

/** What to write. */
export interface WriteEntry {
  readonly value: unknown;
  readonly negative?: boolean;
  /** Fresh for this long. */
  readonly ttlMs: number;
  /** Servable stale for this long after freshness ends (SWR / grace); Redis keeps the key ttlMs + staleMs. */
  readonly staleMs?: number;
  /** Tag versions read before the value was loaded. */
  readonly tags?: readonly (readonly [string, number])[];
  readonly timeoutMs?: number;
  /** WAIT for this many replicas (survive a failover). */
  readonly waitReplicas?: number;
}

const NO_TAGS: readonly string[] = [];
/** Shared empty versions (never mutated): a cache hit allocates no array for them. */
const NO_VERSIONS: [string, number][] = [];

export class CacheStore {
  readonly tags: Tags;
  readonly near: NearCache | undefined;
  readonly #ctx: StoreDeps;
  /** Near-cache keys per tag key, so a tag invalidation pushed by tracking drops the right local entries. */
  readonly #localByTag = new Map<string, Set<string>>();

  constructor(ctx: StoreDeps, near?: NearCache, tags: TagsOptions = {}) {
    this.#ctx = ctx;
    this.tags = new Tags(ctx, tags);
    this.near = near;
    if (near) {
      ctx.events.on('near:invalidate', ({ key }) => {
        if (key?.startsWith(this.tags.prefix)) this.#dropTag(key);
      });
      ctx.events.on('near:flush', () => this.#localByTag.clear());
    }
  }

  #dropTag(tagKey: string): void {
    const keys = this.#localByTag.get(tagKey);
    if (!keys) return;
    this.#localByTag.delete(tagKey);
    for (const key of keys) this.near?.store.delete(key);
  }

  /** Reads `full`; with `tags`, their versions come in the same round trip and a stale tag turns the entry into a miss. */
  read<T>(full: string, tags: readonly string[] = NO_TAGS, timeoutMs?: number): Promise<ReadResult<T>> {
    const near = this.near;
    if (near?.live) {
      const local = near.get(full);
      if (local) return Promise.resolve({ entry: local.value as Entry<T>, versions: NO_VERSIONS, source: 'near' });
    }
    // Fast path (no tags, no near cache): one GET and a decode, no async frame of our own: this is every cache hit.
    if (tags.length === 0 && !near?.live) {
      const options = timeoutMs === undefined ? undefined : { timeoutMs };
      return this.#ctx.commands.get(full, options).then((bytes) => this.decodePlain<T>(full, bytes, timeoutMs));
    }
    return this.#readBatch<T>(full, tags, timeoutMs);
  }

  /** True when `read(full, tags)` is one plain GET (no tags asked for, no live near cache). */
  isPlainRead(tags: readonly string[]): boolean {
    return tags.length === 0 && !this.near?.live;
  }

  /**
   * The result of a plain GET's reply: the entry, checked against its own tags' versions when it carries any (one
   * more round trip only then). Throws E_CODEC on bytes that are not an entry.
   */
  decodePlain<T>(
    full: string,
    bytes: Buffer | null,
    timeoutMs: number | undefined,
  ): ReadResult<T> | Promise<ReadResult<T>> {
    if (bytes === null) return { entry: undefined, versions: NO_VERSIONS, source: 'none' };
    const entry = decodeEntry<T>(this.#ctx.envelope, bytes, full);
    if (entry.tags.length === 0) return { entry, versions: NO_VERSIONS, source: 'redis' };
    return this.tags
      .versions(
        entry.tags.map(([t]) => t),
        timeoutMs,
      )
      .then((current) =>
        Tags.current(entry.tags, current)
          ? { entry, versions: NO_VERSIONS, source: 'redis' as const }
          : { entry: undefined, versions: NO_VERSIONS, source: 'none' as const },
      );
  }

  async #readBatch<T>(full: string, tags: readonly string[], timeoutMs?: number): Promise<ReadResult<T>> {
    const { commands, envelope } = this.#ctx;
    const near = this.near;
    const options = timeoutMs === undefined ? {} : { timeoutMs };
    const token = near?.begin();
    try {
      const batch: BatchCommand[] = [{ command: 'GET', args: [full] }];
      if (near) batch.push({ command: 'PTTL', args: [full] });
      for (const tag of tags) batch.push({ command: 'GET', args: [this.tags.key(tag)] });
      const sentAt = this.#ctx.deps.clock.now();
      const results = await commands.batch(batch, { buffers: true, ...options });
      for (const r of results) if (!r.ok) throw r.error;
      const values = results.map((r) => (r.ok ? r.value : null));
      const bytes = values[0] as Buffer | null;
      const offset = near ? 2 : 1;
      const versions = tags.map(
        (tag, i) => [tag, Tags.version(values[offset + i] as Buffer | null)] as [string, number],
      );
      // A miss is followed by a load and a write that records these versions: missing tag keys are created first.
      if (bytes === null)
        return { entry: undefined, versions: await this.tags.ensure(versions, timeoutMs), source: 'none' };
      const entry = decodeEntry<T>(envelope, bytes, full);
      let current = versions;
      const unknown = entry.tags.filter(([t]) => !tags.includes(t)).map(([t]) => t);
      if (unknown.length > 0) current = [...versions, ...(await this.tags.versions(unknown, timeoutMs))];
      if (!Tags.current(entry.tags, current)) {
        return { entry: undefined, versions: await this.tags.ensure(versions, timeoutMs), source: 'none' };
      }
      if (near && token !== undefined) {
        const pttl = Number((values[1] as Buffer | null)?.toString() ?? -2);
        // Measured from when the read was sent, so the local copy can only expire before the Redis key. PTTL -1 (no
        // expiry) is capped by maxTtlMs; -2 means the key vanished meanwhile (nothing is stored).
        const expiresAt = sentAt + (pttl === -1 ? near.maxTtlMs : pttl);
        this.#storeLocal(full, entry, expiresAt, entryBytes(bytes, full), token);
      }
      return { entry, versions, source: 'redis' };
    } finally {
      if (near && token !== undefined) near.abandon();
    }
  }

  #storeLocal(full: string, entry: Entry, expiresAt: number, bytes: number, token: number): void {
    const near = this.near;
    if (!near) return;
    // begin() is balanced by abandon() in read()'s finally; set() would end it twice, so re-begin here.
    near.begin();
    near.set(full, entry, expiresAt, bytes, token);
    for (const [tag] of entry.tags) {
      const tagKey = this.tags.key(tag);
      let set = this.#localByTag.get(tagKey);
      if (!set) {
        set = new Set();
        this.#localByTag.set(tagKey, set);
      }
      set.add(full);
    }
  }

  /** Builds the entry to write at `now`. */
  entry(write: WriteEntry, now: number): Entry {
    const ttlMs = durationOption('ttlMs', write.ttlMs, 1);
    const staleMs = durationOption('staleMs', write.staleMs ?? 0, 0);
    return {
      value: write.negative ? undefined : write.value,
      negative: write.negative ?? false,
      freshUntil: now + ttlMs,
      staleUntil: now + ttlMs + staleMs,
      tags: write.tags ?? [],
    };
  }

  /** Writes an entry; Redis expires it when it can no longer be served (PX = ttl + stale). */
  async write(full: string, write: WriteEntry): Promise<Entry> {
    if (write.value === undefined && !write.negative) {
      // A stored undefined would read back as a miss for the whole TTL; the documented way to cache "not found" is a
      // loader returning undefined with negativeTtlMs.
      throw invalidOption(
        'value',
        `a value other than undefined for '${full}' (undefined means "not found": use delete(), or a loader returning undefined with negativeTtlMs)`,
        undefined,
      );
    }
    const now = this.#ctx.deps.clock.now();
    const entry = this.entry(write, now);
    const bytes = encodeEntry(this.#ctx.envelope, entry, full);
    const lifetimeMs = entry.staleUntil - now;
    const setting = this.#ctx.commands.set(full, bytes, {
      ttlMs: lifetimeMs,
      ...(write.timeoutMs === undefined ? {} : { timeoutMs: write.timeoutMs }),
      ...(write.waitReplicas === undefined ? {} : { waitReplicas: write.waitReplicas }),
    });
    if (entry.tags.length > 0) {
      // The tag keys must outlive the entry (else it turns into a miss early): extended in the same round trip time.
      await Promise.all([
        setting,
        this.tags.extend(
          entry.tags.map(([t]) => t),
          lifetimeMs,
          write.timeoutMs,
        ),
      ]);
    } else {
      await setting;
    }
    await this.near?.invalidate([full]);
    this.#ctx.events.emit('cache:set', { key: full });
    return entry;
  }

  /** Deletes keys of any slots; returns how many existed. */
  async delete(fulls: readonly string[], timeoutMs?: number): Promise<number> {
    const deleted = await this.#ctx.commands.del(fulls, timeoutMs === undefined ? {} : { timeoutMs });
    await this.near?.invalidate(fulls);
    for (const key of fulls) this.#ctx.events.emit('cache:delete', { key });
    return deleted;
  }
}
