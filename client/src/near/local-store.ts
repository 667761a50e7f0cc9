import { invalidOption } from '../core/index.ts';

/** One local entry. */
interface LocalEntry {
  readonly value: unknown;
  /** Local expiry (epoch ms, local clock): never later than the Redis expiry seen when it was stored. */
  readonly expiresAt: number;
  readonly bytes: number;
}

/**
 * An in-process LRU bounded by entries AND bytes (a Map keeps insertion order: re-inserting on hit makes it an LRU).
 * Values are stored decoded and shared by reference: callers must treat them as immutable.
 */
export class LocalStore {
  readonly #entries = new Map<string, LocalEntry>();
  #bytes = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw invalidOption('nearCache.maxEntries', 'an integer >= 1', maxEntries);
    if (!Number.isInteger(maxBytes) || maxBytes < 1)
      throw invalidOption('nearCache.maxBytes', 'an integer >= 1', maxBytes);
  }

  /** The value if present and not expired at `now`. */
  get(key: string, now: number): { value: unknown } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return { value: entry.value };
  }

  /** When `key` expires locally (epoch ms), or undefined when absent. */
  expiresAt(key: string): number | undefined {
    return this.#entries.get(key)?.expiresAt;
  }

  set(key: string, value: unknown, expiresAt: number, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.#entries.set(key, { value, expiresAt, bytes });
    this.#bytes += bytes;
    while (this.#entries.size > this.maxEntries || this.#bytes > this.maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    return true;
  }

  /** Deletes every key starting with `prefix`; returns how many. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix) && this.delete(key)) n++;
    return n;
  }

  clear(): number {
    const n = this.#entries.size;
    this.#entries.clear();
    this.#bytes = 0;
    return n;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
