/**
 * Attempt deadlines without a timer per command.
 *
 * ioredis bounds a command with `commandTimeout` by arming a `setTimeout` for it, clearing it on the reply and
 * deleting the timer property (which also turns every command object into a slow dictionary-mode object). On the
 * benchmark's 2-core machine that cost about 2 % of a cache hit at concurrency 1. The hot path's commands register
 * here instead: each tick of one shared timer rejects the commands registered `timeoutMs` ago or earlier that are
 * still unanswered, with the same "Command timed out" error ioredis would raise (so the retry loop treats it the
 * same way). A command is rejected between `timeoutMs` and `timeoutMs + timeoutMs / ticks` after it was sent.
 *
 * Registration is an array push; a reply clears its slot (no Set, no per-command allocation), so a watched command
 * is never kept alive after its reply. The timer runs only while commands are watched, and never holds the process
 * open.
 *
 * @internal Used by connection.ts only; it sees settle-able commands, never ioredis.
 */

/** What is watched: an ioredis Command (its public `isSettled` and `reject`). */
export interface Watched {
  readonly isSettled: boolean;
  reject(error: Error): void;
}

/** The error of a command that outlived its attempt deadline (ioredis' wording, so it is classified alike). */
export function attemptTimeoutError(timeoutMs: number): Error {
  return new Error(`Command timed out (no reply within ${timeoutMs} ms)`);
}

/** Buckets per timeout: the deadline is late by at most timeoutMs / TICKS. */
const TICKS = 4;
/** Bits of a ticket that hold the bucket index (TICKS + 1 buckets). */
const BUCKET_BITS = 8;

export class AttemptWatchdog {
  readonly timeoutMs: number;
  readonly tickMs: number;
  /** A ring of TICKS + 1 buckets; `#current` receives registrations, the one after it is the oldest. */
  readonly #buckets: (Watched | undefined)[][];
  #current = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  readonly #tick = (): void => this.sweep();

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.tickMs = Math.max(1, Math.ceil(timeoutMs / TICKS));
    this.#buckets = Array.from({ length: TICKS + 1 }, () => []);
  }

  /** Watches `item` from now on; returns the ticket that `done` takes. */
  watch(item: Watched): number {
    if (this.#timer === undefined && !this.#stopped) {
      this.#timer = setInterval(this.#tick, this.tickMs);
      this.#timer.unref?.();
    }
    const bucket = this.#buckets[this.#current] as (Watched | undefined)[];
    bucket.push(item);
    return (bucket.length - 1) * 2 ** BUCKET_BITS + this.#current;
  }

  /** `item` got its reply: it is forgotten (no-op when its bucket was swept meanwhile). */
  done(item: Watched, ticket: number): void {
    if (ticket < 0) return;
    const bucket = this.#buckets[ticket % 2 ** BUCKET_BITS] as (Watched | undefined)[];
    const index = Math.floor(ticket / 2 ** BUCKET_BITS);
    if (bucket[index] === item) bucket[index] = undefined;
  }

  /**
   * One tick (the timer calls it; tests call it directly): the oldest bucket, registered at least `timeoutMs` ago,
   * has its unanswered commands rejected and becomes the bucket that receives registrations.
   */
  sweep(): void {
    const next = (this.#current + 1) % this.#buckets.length;
    const oldest = this.#buckets[next] as (Watched | undefined)[];
    for (let i = 0; i < oldest.length; i++) {
      const item = oldest[i];
      if (item !== undefined && !item.isSettled) item.reject(attemptTimeoutError(this.timeoutMs));
    }
    oldest.length = 0;
    this.#current = next;
    if (this.#buckets.every((b) => b.length === 0)) this.#stopTimer();
  }

  /** Commands watched now and not yet answered or swept (for tests). */
  get watching(): number {
    let n = 0;
    for (const bucket of this.#buckets) for (const item of bucket) if (item !== undefined) n++;
    return n;
  }

  /** True while the shared timer runs (for tests). */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Stops the timer for good (the connection closed); commands still watched settle with their connection. */
  stop(): void {
    this.#stopped = true;
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
