import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import {
  defineScript,
  durationOption,
  functionOption,
  invalidOption,
  isSlotforgeError,
  keyArgument,
  SlotforgeError,
} from '../core/index.ts';

/** What locks need from the core. */
export type LocksDeps = Pick<CoreContext, 'commands' | 'keys' | 'deps' | 'metrics' | 'events'>;

/** Options of the locks module (defaults of every acquire). */
export interface LocksOptions {
  /** How long a lock lives without extension. @default 10_000 */
  readonly ttlMs?: number;
  /** How long `acquire` waits for a held lock before E_LOCK_TIMEOUT. 0 = try once. @default 5_000 */
  readonly waitMs?: number;
  /** Pause between attempts while waiting (plus up to 50% jitter). @default 50 */
  readonly retryDelayMs?: number;
  /** Extend the lock while it is held, every ttlMs/3. @default true */
  readonly autoExtend?: boolean;
}

/** Defaults of LocksOptions. */
export const LOCKS_DEFAULTS = { ttlMs: 10_000, waitMs: 5_000, retryDelayMs: 50, autoExtend: true } as const;

/** A held lock. */
export interface LockHandle {
  readonly name: string;
  /**
   * The fencing token: strictly increasing per lock name across all holders (INCR in the same slot as the lock).
   * Pass it to the protected resource, which must reject a token lower than the last it saw: a holder paused past
   * its TTL (GC, network) can then no longer corrupt it.
   * @see https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html
   */
  readonly token: number;
  /** Aborted with an E_LOCK_LOST error when the lock is lost (an extension found another owner or expired). */
  readonly signal: AbortSignal;
  /** True while we believe we hold it. */
  readonly held: boolean;
  /** Throws E_LOCK_LOST if the lock was lost. */
  assertHeld(): void;
  /** Extends the TTL now; throws E_LOCK_LOST when the lock is no longer ours. */
  extend(ttlMs?: number): Promise<void>;
  /** Releases the lock if it is still ours (compare-and-delete); false when it was already lost. Idempotent. */
  release(): Promise<boolean>;
}

/** Options of one acquire. */
export type AcquireOptions = LocksOptions;

/**
 * Acquire: SET NX PX the owner, then INCR the fence (same slot: `{name}` hash tag) in one script.
 * KEYS[1] lock, KEYS[2] fence; ARGV[1] owner; ARGV[2] ttl ms. Returns the token, or -PTTL of the holder's lock.
 */
const ACQUIRE = defineScript(
  'slotforge-lock-acquire',
  `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return -math.max(1, redis.call('PTTL', KEYS[1]))`,
);

/** Compare-and-extend. KEYS[1] lock; ARGV[1] owner; ARGV[2] ttl ms. 1 = extended, 0 = not ours. */
const EXTEND = defineScript(
  'slotforge-lock-extend',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  { idempotent: true },
);

/** Compare-and-delete. KEYS[1] lock; ARGV[1] owner. 1 = released, 0 = not ours (expired or taken). */
const RELEASE = defineScript(
  'slotforge-lock-release',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  { idempotent: true },
);

/**
 * A single-instance Redis mutex with fencing tokens and auto-extension. Keys: `<ns>:lock:{<name>}` (the owner id,
 * with the TTL) and `<ns>:lock:{<name>}:fence` (the token counter, no TTL: it must never go back).
 *
 * Not Redlock: on a failover, a lock acknowledged by the old master may be lost (asynchronous replication); the
 * fencing token is what keeps the protected resource safe then.
 */
export class Locks {
  readonly defaults: Required<LocksOptions>;
  readonly #ctx: LocksDeps;

  constructor(ctx: LocksDeps, options: LocksOptions = {}) {
    this.#ctx = ctx;
    this.defaults = resolve(options, LOCKS_DEFAULTS);
  }

  /** Keys of a lock name. */
  keysOf(name: string): { readonly lock: string; readonly fence: string } {
    keyArgument(name, 'name');
    if (/[{}]/.test(name)) throw invalidOption('name', 'a string without { or }', name);
    const lock = this.#ctx.keys.key(`lock:{${name}}`);
    return { lock, fence: `${lock}:fence` };
  }

  /** Acquires, waiting up to `waitMs`; E_LOCK_TIMEOUT when still held by another. */
  async acquire(name: string, options: AcquireOptions = {}): Promise<LockHandle> {
    const o = resolve(options, this.defaults);
    const keys = this.keysOf(name);
    const { clock, random } = this.#ctx.deps;
    const owner = randomBytes(16).toString('base64url');
    const deadline = clock.now() + o.waitMs;
    for (;;) {
      const sentAt = clock.now();
      // Not retried after an ambiguous failure (the INCR would run twice): such an error surfaces, and the lock, if
      // taken, expires after ttlMs.
      const reply = Number(await this.#ctx.commands.eval(ACQUIRE, [keys.lock, keys.fence], [owner, o.ttlMs]));
      if (reply > 0) return new Handle(this.#ctx, name, keys.lock, owner, reply, o, sentAt);
      const heldForMs = -reply;
      const now = clock.now();
      if (now >= deadline) {
        const error = new SlotforgeError(
          'E_LOCK_TIMEOUT',
          `lock '${name}' is held by another owner (expires in ${heldForMs} ms); not acquired within ${o.waitMs} ms`,
          { key: keys.lock, timeoutMs: o.waitMs },
        );
        this.#ctx.metrics.error('E_LOCK_TIMEOUT');
        throw error;
      }
      const pause = Math.min(o.retryDelayMs * (1 + random() / 2), heldForMs + 1, deadline - now);
      await new Promise<void>((r) => clock.setTimeout(r, Math.max(1, pause)));
    }
  }

  /** Acquires once, no waiting: the handle, or undefined when held by another. */
  async tryAcquire(name: string, options: Omit<AcquireOptions, 'waitMs'> = {}): Promise<LockHandle | undefined> {
    try {
      return await this.acquire(name, { ...options, waitMs: 0 });
    } catch (error) {
      if (isSlotforgeError(error, 'E_LOCK_TIMEOUT')) return undefined;
      throw error;
    }
  }

  /**
   * Runs `fn` under the lock, extending it meanwhile, and releases it after. `fn` gets the handle: check
   * `handle.signal` (or call `assertHeld()`) before each side effect. If the lock is lost while `fn` runs, `withLock`
   * rejects with E_LOCK_LOST after `fn` settles, even if `fn` succeeded: its work may have overlapped another holder.
   */
  async withLock<T>(name: string, fn: (lock: LockHandle) => Promise<T> | T, options: AcquireOptions = {}): Promise<T> {
    functionOption('fn', fn);
    const handle = await this.acquire(name, options);
    try {
      const result = await fn(handle);
      handle.assertHeld();
      return result;
    } finally {
      await handle.release().catch(() => false);
    }
  }
}

/** @internal */
class Handle implements LockHandle {
  readonly #ctx: LocksDeps;
  readonly #key: string;
  readonly #owner: string;
  readonly #options: Required<LocksOptions>;
  readonly #abort = new AbortController();
  /** Local time until which the lock is surely ours: measured from when the successful request was SENT. */
  #validUntil: number;
  #timer: unknown;
  #released = false;
  #lostError: SlotforgeError | undefined;

  constructor(
    ctx: LocksDeps,
    readonly name: string,
    key: string,
    owner: string,
    readonly token: number,
    options: Required<LocksOptions>,
    sentAt: number,
  ) {
    this.#ctx = ctx;
    this.#key = key;
    this.#owner = owner;
    this.#options = options;
    this.#validUntil = sentAt + options.ttlMs;
    ctx.events.emit('lock:acquire', { name, token });
    if (options.autoExtend) this.#schedule();
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get held(): boolean {
    return !this.#released && this.#lostError === undefined && this.#ctx.deps.clock.now() < this.#validUntil;
  }

  assertHeld(): void {
    if (this.#lostError) throw this.#lostError;
    if (this.#ctx.deps.clock.now() >= this.#validUntil && !this.#released) {
      this.#lose('its TTL passed without a successful extension');
      throw this.#lostError;
    }
  }

  #schedule(): void {
    const every = Math.max(1, Math.floor(this.#options.ttlMs / 3));
    this.#timer = this.#ctx.deps.clock.setTimeout(() => void this.#autoExtend(), every);
  }

  async #autoExtend(): Promise<void> {
    this.#timer = undefined;
    if (this.#released || this.#lostError) return;
    try {
      await this.extend();
      if (!this.#released && !this.#lostError) this.#schedule();
    } catch (error) {
      if (this.#lostError || this.#released) return;
      // A transient failure (timeout, failover): keep trying while the lock may still be ours.
      const left = this.#validUntil - this.#ctx.deps.clock.now();
      if (left <= 0) {
        this.#lose('extensions kept failing until its TTL passed', error);
        return;
      }
      this.#timer = this.#ctx.deps.clock.setTimeout(
        () => void this.#autoExtend(),
        Math.max(1, Math.min(100, left / 2)),
      );
    }
  }

  async extend(ttlMs = this.#options.ttlMs): Promise<void> {
    this.assertHeld();
    durationOption('ttlMs', ttlMs, 1);
    const sentAt = this.#ctx.deps.clock.now();
    const extended = Number(
      await this.#ctx.commands.eval(EXTEND, [this.#key], [this.#owner, ttlMs], {
        timeoutMs: Math.max(1, Math.min(this.#ctx.commands.commandTimeoutMs, this.#validUntil - sentAt)),
      }),
    );
    if (extended !== 1) {
      this.#lose('it expired or another owner took it');
      throw this.#lostError;
    }
    this.#validUntil = sentAt + ttlMs;
    this.#ctx.events.emit('lock:extend', { name: this.name, token: this.token });
  }

  #lose(reason: string, cause?: unknown): void {
    if (this.#lostError) return;
    this.#lostError = new SlotforgeError(
      'E_LOCK_LOST',
      `lock '${this.name}' (token ${this.token}) was lost: ${reason}`,
      {
        key: this.#key,
        ...(cause === undefined ? {} : { cause }),
      },
    );
    this.#stop();
    this.#ctx.metrics.error('E_LOCK_LOST');
    this.#ctx.events.emit('lock:lost', { name: this.name, token: this.token, error: this.#lostError });
    this.#abort.abort(this.#lostError);
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#ctx.deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.#released = true;
    this.#stop();
    if (this.#lostError) return false;
    const released = Number(await this.#ctx.commands.eval(RELEASE, [this.#key], [this.#owner])) === 1;
    this.#ctx.events.emit('lock:release', { name: this.name, token: this.token, released });
    return released;
  }
}

function resolve(options: LocksOptions, defaults: Required<LocksOptions>): Required<LocksOptions> {
  const autoExtend = options.autoExtend ?? defaults.autoExtend;
  if (typeof autoExtend !== 'boolean') throw invalidOption('autoExtend', 'a boolean', autoExtend);
  return {
    ttlMs: durationOption('ttlMs', options.ttlMs ?? defaults.ttlMs, 10),
    waitMs: durationOption('waitMs', options.waitMs ?? defaults.waitMs, 0),
    retryDelayMs: durationOption('retryDelayMs', options.retryDelayMs ?? defaults.retryDelayMs, 1),
    autoExtend,
  };
}

/** Factory for `client.use(createLocks, { ttlMs })`. */
export function createLocks(context: LocksDeps, options: LocksOptions = {}): Locks {
  return new Locks(context, options);
}
