import type { Clock } from './deps.ts';
import { SlotforgeError } from './errors.ts';

/**
 * The circuit breaker of a connection: after `failureThreshold` consecutive attempts that Redis did not answer
 * (timeouts, refused or reset connections; an error REPLY such as CLUSTERDOWN or LOADING is an answer), it opens:
 * the cache stops waiting on Redis (getOrSet serves the grace copy or the loader at once, get fails with
 * E_CIRCUIT_OPEN at once) while a background probe (PING) runs every `openMs`. The first answer from Redis, the
 * probe's or any other command's, closes it. Writes and the other modules keep their deadlines (a failover is still
 * ridden out), and their outcomes feed the breaker like any attempt.
 *
 * Like bentocache's L2 circuit breaker and resilience4j's/opossum's count-based breakers, but the probe runs in the
 * background, so no user request is spent as the half-open trial.
 */

/** Circuit breaker options (`createClient({ circuitBreaker })`). `false` turns it off. */
export interface CircuitBreakerOptions {
  /** Consecutive unanswered attempts (any command, any node) that open the breaker. @default 3 */
  readonly failureThreshold?: number;
  /** How long it stays open before a probe (PING) runs; a failed probe opens it for this long again. @default 1000 */
  readonly openMs?: number;
}

/** Defaults of CircuitBreakerOptions. */
export const CIRCUIT_BREAKER_DEFAULTS = { failureThreshold: 3, openMs: 1000 } as const;

/** Breaker states. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What the rest of the client sees of the breaker. */
export interface BreakerView {
  readonly state: BreakerState;
  /** The error a short-circuited call fails with (E_CIRCUIT_OPEN, the last failure as cause). */
  openError(command: string, key?: string): SlotforgeError;
}

/** Failures that mean Redis did not answer (an error reply is an answer). */
const NO_ANSWER =
  /Command timed out|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection is closed|Command aborted due to connection close|Stream isn't writeable|MaxRetriesPerRequest|max retries per request|None of startup nodes|Failed to refresh slots cache|All sentinels are unreachable|socket closed|write after end/i;

/** True when `error` says Redis did not answer at all. */
export function isNoAnswer(error: unknown): boolean {
  return NO_ANSWER.test(error instanceof Error ? error.message : String(error));
}

/** @internal The breaker; the connection feeds it every attempt's outcome. */
export class CircuitBreaker implements BreakerView {
  state: BreakerState = 'closed';
  readonly failureThreshold: number;
  readonly openMs: number;
  #failures = 0;
  #lastError: unknown;
  #openedAt = 0;
  #timer: unknown;
  #stopped = false;

  constructor(
    options: Required<CircuitBreakerOptions>,
    private readonly clock: Clock,
    private readonly probe: () => Promise<unknown>,
    private readonly onChange: (state: BreakerState, cause: unknown) => void,
    /** What the connection knows beyond the attempts' errors (Sentinel: why no sentinel gave the primary). */
    private readonly explain: () => { readonly reason: string; readonly cause: Error } | undefined = () => undefined,
  ) {
    this.failureThreshold = options.failureThreshold;
    this.openMs = options.openMs;
  }

  /** Redis answered (a reply, even an error reply). */
  success(): void {
    if (this.#failures !== 0) this.#failures = 0;
    if (this.state !== 'closed') this.#close();
  }

  /** An attempt failed; counts it when Redis did not answer. */
  failure(error: unknown): void {
    if (!isNoAnswer(error)) {
      this.success();
      return;
    }
    this.#lastError = error;
    if (this.state !== 'closed' || ++this.#failures < this.failureThreshold) return;
    this.#open();
  }

  openError(command: string, key?: string): SlotforgeError {
    const explained = this.explain();
    const cause = explained?.cause ?? this.#lastError;
    const reason = explained ? `: ${explained.reason}` : cause instanceof Error ? `: ${cause.message}` : '';
    return new SlotforgeError(
      'E_CIRCUIT_OPEN',
      `${command}${key ? ` '${key}'` : ''} not sent: the circuit breaker opened ${this.clock.now() - this.#openedAt} ms ago after ${this.failureThreshold} consecutive unanswered attempts${reason}`,
      { key, command, cause },
    );
  }

  #open(): void {
    this.state = 'open';
    this.#openedAt = this.clock.now();
    this.onChange('open', this.#lastError);
    this.#scheduleProbe();
  }

  #close(): void {
    this.state = 'closed';
    this.#failures = 0;
    this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.onChange('closed', undefined);
  }

  #scheduleProbe(): void {
    if (this.#stopped) return;
    this.clock.clearTimeout(this.#timer);
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.state !== 'open' || this.#stopped) return;
      this.state = 'half-open';
      this.onChange('half-open', this.#lastError);
      this.probe().then(
        () => {
          if (this.state === 'half-open' && !this.#stopped) this.#close();
        },
        (error: unknown) => {
          if (this.state !== 'half-open' || this.#stopped) return;
          this.#lastError = error;
          this.state = 'open';
          this.onChange('open', error);
          this.#scheduleProbe();
        },
      );
    }, this.openMs);
  }

  /** Stops probing (close()). */
  stop(): void {
    this.#stopped = true;
    this.clock.clearTimeout(this.#timer);
  }
}
