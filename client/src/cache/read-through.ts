import type { GetOrSet, GetOrSetOptions } from './get-or-set.ts';

/**
 * Read-through: the cache owns the loader, callers only ask for keys. Same guarantees as getOrSet (single flight,
 * stale serving, negative caching) with the loader configured once.
 */
export interface ReadThroughOptions<T> extends GetOrSetOptions {
  /** Loads the value of a caller key on a miss; `undefined` means not found. */
  readonly load: (key: string) => T | Promise<T>;
}

export class ReadThrough<T> {
  readonly #getOrSet: GetOrSet;
  readonly #options: ReadThroughOptions<T>;

  constructor(getOrSet: GetOrSet, options: ReadThroughOptions<T>) {
    this.#getOrSet = getOrSet;
    this.#options = options;
  }

  get(key: string, overrides: GetOrSetOptions = {}): Promise<T> {
    return this.#getOrSet.getOrSet(key, () => this.#options.load(key), { ...this.#options, ...overrides });
  }
}
