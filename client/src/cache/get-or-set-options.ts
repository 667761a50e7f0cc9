/**
 * getOrSet's options: the per-call options, their defaults, and their resolution (validated once, then reused for
 * a frozen object or a repeated literal: the hot path must not validate the same constant on every hit).
 */
import type { CoreContext } from '../context.ts';
import { durationOption, invalidOption, MAX_TIMER_MS } from '../core/index.ts';
import type { CacheStore } from './store.ts';
import { jitterOption } from './ttl.ts';

/** A loader: computes the value on a miss. Returning `undefined` means "not found" (see `negativeTtlMs`). */
export type Loader<T> = () => T | Promise<T>;

/** Options of one getOrSet call (defaults come from GetOrSetDefaults). */
export interface GetOrSetOptions {
  /** How long a loaded value is fresh. @default the client's defaultTtlMs */
  readonly ttlMs?: number;
  /** Fraction of ttlMs removed at random (0.1 = up to 10 % shorter) so keys written together expire apart. @default 0.1 */
  readonly jitter?: number;
  /** After freshness ends, serve the stale value at once for this long while one caller refreshes it. @default 0 */
  readonly staleWhileRevalidateMs?: number;
  /** After freshness ends, serve the stale value for this long when Redis or the loader fails. @default 0 */
  readonly graceMs?: number;
  /** Cache "not found" (the loader returned undefined) for this long; 0 = do not cache it. @default 0 */
  readonly negativeTtlMs?: number;
  /** Tags: `invalidateTag(tag)` turns every entry carrying it into a miss. @default [] */
  readonly tags?: readonly string[];
  /**
   * Distributed single flight: a Redis lock so that across N processes only one runs the loader for a cold key while
   * the others wait for its value. @default false
   */
  readonly lock?: boolean | { readonly ttlMs?: number; readonly waitMs?: number };
  /** Deadline of each Redis operation of this call. @default the connection's commandTimeoutMs */
  readonly timeoutMs?: number;
  /** With a stale value at hand, serve it if Redis has not answered after this long. @default 500 */
  readonly softTimeoutMs?: number;
  /** Deadline of the loader. @default 10_000 */
  readonly loaderTimeoutMs?: number;
  /** WAIT for this many replicas after writing a loaded value. @default 0 */
  readonly waitReplicas?: number;
}

/** Defaults of getOrSet. */
export const GET_OR_SET_DEFAULTS = {
  jitter: 0.1,
  staleWhileRevalidateMs: 0,
  graceMs: 0,
  negativeTtlMs: 0,
  softTimeoutMs: 500,
  loaderTimeoutMs: 10_000,
  lockTtlMs: 10_000,
  fallbackEntries: 10_000,
  fallbackBytes: 32 * 1024 * 1024,
} as const;

/** What getOrSet needs. */
export type GetOrSetDeps = Pick<CoreContext, 'commands' | 'keys' | 'deps' | 'metrics' | 'events'> & {
  readonly store: CacheStore;
  readonly defaultTtlMs: number;
};

/** @internal GetOrSetOptions validated, with the defaults applied. */
export interface Resolved {
  readonly ttlMs: number;
  readonly jitter: number;
  readonly swrMs: number;
  readonly graceMs: number;
  readonly negativeTtlMs: number;
  readonly tags: readonly string[];
  readonly lock: { readonly ttlMs: number; readonly waitMs: number } | undefined;
  readonly timeoutMs: number | undefined;
  /** `{ timeoutMs }` for the command layer, built once. */
  readonly call: { readonly timeoutMs?: number; readonly failFast: true };
  readonly softTimeoutMs: number;
  readonly loaderTimeoutMs: number;
  readonly waitReplicas: number | undefined;
}

/** Every field of GetOrSetOptions but tags, required: a new option that is not snapshotted fails to compile. */
type ScalarOptions = { readonly [K in Exclude<keyof GetOrSetOptions, 'tags'>]-?: GetOrSetOptions[K] | undefined };

/** The scalar fields of GetOrSetOptions (tags and lock objects are never snapshotted). */
function snapshotOptions(o: GetOrSetOptions): ScalarOptions {
  return {
    ttlMs: o.ttlMs,
    jitter: o.jitter,
    staleWhileRevalidateMs: o.staleWhileRevalidateMs,
    graceMs: o.graceMs,
    negativeTtlMs: o.negativeTtlMs,
    lock: o.lock,
    timeoutMs: o.timeoutMs,
    softTimeoutMs: o.softTimeoutMs,
    loaderTimeoutMs: o.loaderTimeoutMs,
    waitReplicas: o.waitReplicas,
  };
}

/** True when `o` has exactly the scalar values of the snapshot `s` (and no tags or lock object). */
function sameScalarOptions(o: GetOrSetOptions, s: ScalarOptions): boolean {
  return (
    o.ttlMs === s.ttlMs &&
    o.tags === undefined &&
    o.lock === s.lock &&
    o.jitter === s.jitter &&
    o.staleWhileRevalidateMs === s.staleWhileRevalidateMs &&
    o.graceMs === s.graceMs &&
    o.negativeTtlMs === s.negativeTtlMs &&
    o.timeoutMs === s.timeoutMs &&
    o.softTimeoutMs === s.softTimeoutMs &&
    o.loaderTimeoutMs === s.loaderTimeoutMs &&
    o.waitReplicas === s.waitReplicas
  );
}

/** Validates `options` and applies the defaults (`defaultTtlMs`: the client's). */
function resolve(options: GetOrSetOptions, defaultTtlMs: number): Resolved {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const lock = options.lock;
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw invalidOption('tags', 'an array of non-empty strings', tags);
  }
  const timeoutMs =
    options.timeoutMs === undefined ? undefined : durationOption('timeoutMs', options.timeoutMs, 1, MAX_TIMER_MS);
  return {
    ttlMs: durationOption('ttlMs', options.ttlMs ?? defaultTtlMs, 1),
    jitter: jitterOption(options.jitter ?? GET_OR_SET_DEFAULTS.jitter),
    swrMs: durationOption(
      'staleWhileRevalidateMs',
      options.staleWhileRevalidateMs ?? GET_OR_SET_DEFAULTS.staleWhileRevalidateMs,
    ),
    graceMs: durationOption('graceMs', options.graceMs ?? GET_OR_SET_DEFAULTS.graceMs),
    negativeTtlMs: durationOption('negativeTtlMs', options.negativeTtlMs ?? GET_OR_SET_DEFAULTS.negativeTtlMs),
    tags,
    lock:
      lock === undefined || lock === false
        ? undefined
        : {
            ttlMs: durationOption(
              'lock.ttlMs',
              (lock === true ? undefined : lock.ttlMs) ?? GET_OR_SET_DEFAULTS.lockTtlMs,
              1,
            ),
            waitMs: durationOption(
              'lock.waitMs',
              (lock === true ? undefined : lock.waitMs) ??
                options.loaderTimeoutMs ??
                GET_OR_SET_DEFAULTS.loaderTimeoutMs,
              1,
              MAX_TIMER_MS,
            ),
          },
    timeoutMs,
    // failFast: while the circuit breaker is open the read gives up at once and the loader answers.
    call: timeoutMs === undefined ? { failFast: true } : { timeoutMs, failFast: true },
    softTimeoutMs: durationOption(
      'softTimeoutMs',
      options.softTimeoutMs ?? GET_OR_SET_DEFAULTS.softTimeoutMs,
      1,
      MAX_TIMER_MS,
    ),
    loaderTimeoutMs: durationOption(
      'loaderTimeoutMs',
      options.loaderTimeoutMs ?? GET_OR_SET_DEFAULTS.loaderTimeoutMs,
      1,
      MAX_TIMER_MS,
    ),
    waitReplicas: options.waitReplicas,
  };
}

/** @internal Resolves options, reusing the last resolution where the options cannot have changed. */
export class ResolvedOptionsCache {
  readonly #defaultTtlMs: number;
  /** Resolved options per frozen options object (callers often pass the same constant on every call). */
  readonly #resolved = new WeakMap<GetOrSetOptions, Resolved>();
  #defaults: Resolved | undefined;
  #last: { readonly options: ScalarOptions; readonly resolved: Resolved } | undefined;

  constructor(defaultTtlMs: number) {
    this.#defaultTtlMs = defaultTtlMs;
  }

  /** `options` resolved (E_INVALID_OPTION when invalid). */
  get(options: GetOrSetOptions | undefined): Resolved {
    if (options === undefined) {
      this.#defaults ??= resolve({}, this.#defaultTtlMs);
      return this.#defaults;
    }
    // Most callers pass an equal literal on every call (`{ ttlMs: 60_000 }`): reuse the last resolution when every
    // field is the same primitive as last time. Compared field by field (a snapshot, not the object, which the caller
    // may mutate); options with tags or a lock object are resolved each time (their arrays/objects may be mutated).
    // Checked before the WeakMap: a lookup there gives every fresh literal an identity hash, a cost on every hit.
    const last = this.#last;
    if (
      last !== undefined &&
      typeof options === 'object' &&
      options !== null &&
      sameScalarOptions(options, last.options)
    )
      return last.resolved;
    // Cached only for frozen objects (`Object.freeze`): a caller may mutate its options object between calls.
    const frozen = Object.isFrozen(options);
    let resolved = frozen ? this.#resolved.get(options) : undefined;
    if (resolved) return resolved;
    resolved = resolve(options, this.#defaultTtlMs);
    if (frozen) this.#resolved.set(options, resolved);
    else if (options.tags === undefined && typeof options.lock !== 'object') {
      this.#last = { options: snapshotOptions(options), resolved };
    }
    return resolved;
  }
}
