/**
 * In-process single flight: concurrent calls for one key share one promise, so M concurrent cold calls run the
 * loader once. The entry is removed when the promise settles, so a failure is not cached here.
 */
export class SingleFlight {
  readonly #inflight = new Map<string, Promise<unknown>>();

  /** Runs `fn` unless a call for `key` is in flight; `joined` tells the caller whether it coalesced. */
  run<T>(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.#inflight.get(key);
    if (existing) return { promise: existing as Promise<T>, joined: true };
    const promise = fn().finally(() => {
      if (this.#inflight.get(key) === promise) this.#inflight.delete(key);
    });
    this.#inflight.set(key, promise);
    return { promise, joined: false };
  }

  /** Calls in flight now. */
  get size(): number {
    return this.#inflight.size;
  }
}
