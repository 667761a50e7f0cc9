/**
 * In-process single flight: concurrent calls for one key share one promise, so M concurrent cold calls run the
 * loader once. The entry is removed when the promise settles, so a failure is not cached here.
 */
export class SingleFlight {
  readonly #inflight = new Map<string, Promise<unknown>>();

  /** The call in flight for `key`, if any. */
  get<T>(key: string): Promise<T> | undefined {
    return this.#inflight.get(key) as Promise<T> | undefined;
  }

  /** Starts `fn` as the call in flight for `key` (check `get` first). */
  start<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const promise = fn();
    this.#inflight.set(key, promise);
    promise.then(
      () => this.#settle(key, promise),
      () => this.#settle(key, promise),
    );
    return promise;
  }

  /** Runs `fn` unless a call for `key` is in flight; `joined` tells the caller whether it coalesced. */
  run<T>(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.#inflight.get(key);
    if (existing) return { promise: existing as Promise<T>, joined: true };
    const promise = fn();
    this.#inflight.set(key, promise);
    // then() rather than finally(): no extra promise that re-throws; callers observe `promise` itself. Inline
    // anonymous callbacks: a named closure per call costs a defineProperty('name') under esbuild's keepNames (tsx).
    promise.then(
      () => this.#settle(key, promise),
      () => this.#settle(key, promise),
    );
    return { promise, joined: false };
  }

  #settle(key: string, promise: Promise<unknown>): void {
    if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
  }

  /** Calls in flight now. */
  get size(): number {
    return this.#inflight.size;
  }
}
