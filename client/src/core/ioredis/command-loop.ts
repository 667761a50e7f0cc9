/**
 * The command loop: every call's attempts under the connection's policy (deadline, retries, circuit breaker, slot-map
 * refresh on failure, Sentinel's reason in the error).
 * @internal Used by the ioredis folder only.
 */
import { Cluster } from 'ioredis';
import type { CircuitBreaker } from '../breaker.ts';
import type { CallOptions } from '../commands.ts';
import { type Deps, raceClock } from '../deps.ts';
import { isSlotforgeError, SlotforgeError } from '../errors.ts';
import type { ResolvedConnectionOptions } from '../options.ts';
import { classifyFailure, toSlotforgeError, withRetry } from '../retry.ts';
import type { WriteCoalescer } from '../write-coalescer.ts';
import type { Client } from './create.ts';
import { type SentinelErrors, sentinelReason } from './sentinel-errors.ts';

/** The fast path needs a deadline of at least this many attempt timeouts (ioredis may redirect within one). */
const FAST_PATH_MIN_ATTEMPTS = 4;

/** What the loop reads from its connection. */
export interface CommandLoopHost {
  readonly client: Client;
  readonly options: ResolvedConnectionOptions;
  readonly deps: Deps;
  /** Null when turned off. Fed with every attempt's outcome. */
  readonly breaker: CircuitBreaker | null;
  /** Null when coalesceWrites is off. */
  readonly coalescer: WriteCoalescer | null;
  /** From the start of close(): new calls are refused (E_CLOSED); calls already running go on. */
  closing(): boolean;
  /** Once close() has drained the calls it waits for and QUITs: a call still running fails (E_CLOSED) at its next attempt. */
  closed(): boolean;
  /** Sentinel mode: what the sentinels said while the client could not find its primary. */
  readonly sentinel: SentinelErrors | undefined;
}

/** How the loop may treat one call's attempts. */
export interface AttemptPolicy {
  /**
   * The attempt is one command on the main client with its own attempt deadline (a WatchedCommand, or ioredis'
   * commandTimeout): on a ready client it may take the fast path. @default false
   */
  readonly bounded?: boolean;
  /** One attempt's deadline (a WAIT's own timeout on top of it). @default twice the connection's attemptTimeoutMs */
  readonly attemptTimeoutMs?: number;
}

/** @internal Runs attempts in the retry loop with one connection's policy. */
export class CommandLoop {
  readonly #host: CommandLoopHost;
  /** Calls started and not yet settled, for close() to wait on (drained). */
  #running = 0;
  #onDrained: (() => void) | undefined;

  constructor(host: CommandLoopHost) {
    this.#host = host;
  }

  /** Passes a reply through, telling the breaker Redis answered (an attempt's success handler). */
  readonly #answered = <T>(reply: T): T => {
    this.#host.breaker?.success();
    return reply;
  };

  /** The fast path's success handler: the attempt answered and the call is done. */
  readonly #answeredDone = <T>(reply: T): T => {
    // Counted down first: a throwing 'breaker' listener must not leave the call counted (close() would wait for it).
    this.#settled();
    this.#host.breaker?.success();
    return reply;
  };

  #settled(): void {
    this.#running--;
    if (this.#running === 0 && this.#onDrained) this.#onDrained();
  }

  #tracked<T>(call: Promise<T>): Promise<T> {
    return call.then(
      (reply) => {
        this.#settled();
        return reply;
      },
      (error: unknown) => {
        this.#settled();
        throw error;
      },
    );
  }

  /** Counts `call` (run elsewhere: a batch) among the calls close() waits for. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#running++;
    return this.#tracked(call);
  }

  /** Resolves once every call started so far has settled, or after `timeoutMs`, whichever comes first. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.#running === 0) return;
    const drained = new Promise<void>((resolve) => {
      this.#onDrained = resolve;
    });
    await raceClock(drained, timeoutMs, this.#host.deps.clock, () => undefined);
    this.#onDrained = undefined;
  }

  /**
   * Runs `attempt` in the retry loop with this connection's policy. Only a `bounded` attempt may take the fast path
   * (no timer of its own) on a ready client; any other (a pipeline on another client, a node's connection) is raced
   * against the deadline: ioredis' Cluster pipeline waits for its client to be ready with no timeout at all
   * (redis/ioredis#1201), and a durable write hung 20 s past its deadline that way in a chaos drill.
   */
  run<T>(
    command: string,
    key: string | undefined,
    idempotent: boolean,
    options: CallOptions | undefined,
    attempt: () => Promise<T>,
    policy: AttemptPolicy = {},
  ): Promise<T> {
    const host = this.#host;
    if (host.closing()) {
      return Promise.reject(new SlotforgeError('E_CLOSED', `${command} called after close()`, { command, key }));
    }
    const breaker = host.breaker;
    const timeoutMs = options?.timeoutMs ?? host.options.commandTimeoutMs;
    const failFast = options?.failFast === true && breaker !== null;
    if (failFast && breaker?.state !== 'closed') return Promise.reject(breaker?.openError(command, key));
    this.#running++;
    // Fast path (the hot path of every cache hit): on a ready connection ioredis' commandTimeout already bounds the
    // first attempt (it is armed in sendCommand, queued or not), so it runs without our timer and async loop; a
    // failure continues in the loop with the time left. Only when the deadline leaves room for several attempts.
    if (
      policy.bounded === true &&
      host.client.status === 'ready' &&
      timeoutMs >= FAST_PATH_MIN_ATTEMPTS * host.options.attemptTimeoutMs
    ) {
      const startedAt = host.deps.clock.now();
      host.coalescer?.hold();
      let sent: Promise<T>;
      try {
        sent = attempt();
      } catch (error) {
        sent = Promise.reject(error);
      }
      return sent.then(this.#answeredDone, (error: unknown) => {
        try {
          breaker?.failure(error);
          if (failFast && breaker?.state !== 'closed') throw breaker?.openError(command, key);
          const kind = classifyFailure(error);
          if (kind === 'fatal' || (kind === 'ambiguous' && !idempotent))
            throw toSlotforgeError(error, { command, key, timeoutMs }, 1);
          this.onRetry(error);
        } catch (final) {
          // Done (also when a 'breaker' listener threw): counted down before the rejection.
          this.#settled();
          throw final;
        }
        return this.#tracked(
          this.#loop(command, key, idempotent, timeoutMs, attempt, failFast, policy, {
            startedAt,
            priorAttempts: 1,
            priorError: error,
          }),
        );
      });
    }
    return this.#tracked(this.#loop(command, key, idempotent, timeoutMs, attempt, failFast, policy, {}));
  }

  #loop<T>(
    command: string,
    key: string | undefined,
    idempotent: boolean,
    timeoutMs: number,
    attempt: () => Promise<T>,
    failFast: boolean,
    policy: AttemptPolicy,
    prior: { startedAt?: number; priorAttempts?: number; priorError?: unknown },
  ): Promise<T> {
    const { breaker, options, deps } = this.#host;
    // Every attempt feeds the breaker; a failFast call stops (E_CIRCUIT_OPEN, not retried) once it is open.
    const observed = breaker
      ? () => {
          if (failFast && breaker.state !== 'closed') return Promise.reject(breaker.openError(command, key));
          return attempt().then(this.#answered, (error: unknown) => {
            breaker.failure(error);
            throw failFast && breaker.state !== 'closed' ? breaker.openError(command, key) : error;
          });
        }
      : attempt;
    const retried = withRetry(observed, {
      ...prior,
      command,
      key,
      idempotent,
      timeoutMs,
      // Twice ioredis' commandTimeout: covers a command that waited in an offline queue (where commandTimeout does
      // not run) without letting one stuck attempt eat the whole deadline.
      attemptTimeoutMs: policy.attemptTimeoutMs ?? options.attemptTimeoutMs * 2,
      baseDelayMs: options.retryBaseDelayMs,
      maxDelayMs: options.retryMaxDelayMs,
      clock: deps.clock,
      random: deps.random,
      onRetry: (error) => this.onRetry(error),
      stop: () => this.#stop(command, key),
    });
    return options.target.mode === 'sentinel' ? retried.catch((error: unknown) => this.#explain(error)) : retried;
  }

  /**
   * Why no further attempt is worth sending: the client was closed (a call still retrying fails at once instead of
   * against a closed client), or every sentinel refused our credentials (NOAUTH, WRONGPASS: a configuration error that
   * waiting does not fix, so the call fails with the reason after its first attempt, not at its deadline).
   */
  #stop(command: string, key: string | undefined): SlotforgeError | undefined {
    const host = this.#host;
    if (host.closed()) return new SlotforgeError('E_CLOSED', `${command} cut off by close()`, { command, key });
    const refused = host.sentinel?.refused ? host.sentinel.last : undefined;
    if (!refused) return undefined;
    const what = `${command}${key ? ` '${key}'` : ''}`;
    return new SlotforgeError('E_CONNECTION', `${what} not sent: ${sentinelReason(refused)}`, {
      command,
      key,
      cause: refused,
    });
  }

  /**
   * Through Sentinel, a command that times out while no sentinel answers (wrong sentinel password: NOAUTH from each)
   * says nothing by itself; the reason is in ioredis' "All sentinels are unreachable ... Last error: ..." error
   * event. Put it in the error the caller gets (E_CONNECTION, that event's error as cause).
   */
  #explain(error: unknown): never {
    const sentinelError = this.#host.sentinel?.last;
    if (!sentinelError || !isSlotforgeError(error) || (error.code !== 'E_TIMEOUT' && error.code !== 'E_CONNECTION'))
      throw error;
    // Already says why (#stop).
    if (error.cause === sentinelError) throw error;
    throw new SlotforgeError(
      'E_CONNECTION',
      `${error.command ?? 'command'}${error.key ? ` '${error.key}'` : ''} failed: ${sentinelReason(sentinelError)}`,
      {
        key: error.key,
        command: error.command,
        timeoutMs: error.timeoutMs,
        attempts: error.attempts,
        cause: sentinelError,
      },
    );
  }

  /** A failed attempt: on a cluster, refresh the slot map unless the failure is fatal. */
  onRetry(error: unknown): void {
    // FACTS: a timed-out or refused attempt may mean a dead or blackholed master: refresh the slot map now rather
    // than waiting for the interval. ioredis coalesces concurrent refreshes.
    const client = this.#host.client;
    if (client instanceof Cluster && classifyFailure(error) !== 'fatal') client.refreshSlotsCache();
  }
}
