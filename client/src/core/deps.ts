import type { Registry } from 'prom-client';

/** A clock; inject one in tests to drive TTLs, grace windows and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The default clock: `Date.now` and the Node timers (unref'd so they never hold the process open). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Settles like `promise`, unless `ms` pass on `clock` first: then with what `onTimeout` returns, or rejects with what
 * it throws. The work itself is not cancelled; the timer is cleared as soon as `promise` settles.
 */
export function raceClock<T, F = never>(
  promise: Promise<T>,
  ms: number,
  clock: Clock,
  onTimeout: () => F,
): Promise<T | F> {
  return new Promise<T | F>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A logger compatible with pino and console (only the levels the client uses). */
export interface Logger {
  debug(message: string, facts?: Record<string, unknown>): void;
  warn(message: string, facts?: Record<string, unknown>): void;
  error(message: string, facts?: Record<string, unknown>): void;
}

/** Discards everything: the default, so a library never writes to stdout uninvited. */
export const silentLogger: Logger = { debug() {}, warn() {}, error() {} };

/**
 * What pattern modules may depend on besides the command interface. Everything is injectable.
 */
export interface Deps {
  /** @default systemClock */
  readonly clock: Clock;
  /** Returns a float in [0, 1): drives TTL jitter and backoff. @default Math.random */
  readonly random: () => number;
  /** @default silentLogger */
  readonly logger: Logger;
  /** A prom-client Registry; no metrics are recorded without one. @default undefined */
  readonly registry: Registry | undefined;
}

/** Options accepted for deps: each one optional. */
export type DepsOptions = Partial<Deps>;

/** Resolves deps with defaults. */
export function resolveDeps(options: DepsOptions = {}): Deps {
  return {
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentLogger,
    registry: options.registry,
  };
}
