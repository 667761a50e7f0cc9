import { type Clock, raceClock } from './deps.ts';
import { type ErrorCode, isSlotforgeError, SlotforgeError } from './errors.ts';

/**
 * The client-side retry loop that sits on top of ioredis. ioredis alone rides out only about 1.6 s of CLUSTERDOWN
 * (16 redirections x 100 ms, FACTS) while a failover takes 3.5 s or more, so every operation runs in this loop
 * until its deadline.
 */

/** How a failed attempt is treated. */
export type FailureKind =
  /** The command certainly did not run (CLUSTERDOWN, TRYAGAIN, LOADING, READONLY, refused connection): always retry. */
  | 'retry'
  /** The command may have run (timeout, reset connection): retry only idempotent commands. */
  | 'ambiguous'
  /** Retrying cannot help (WRONGTYPE, script error, NOPERM, bad arguments). */
  | 'fatal';

const NOT_EXECUTED = [
  /^CLUSTERDOWN/,
  /^TRYAGAIN/,
  /^MOVED/,
  /^ASK/,
  /^LOADING/,
  /^MASTERDOWN/,
  /^READONLY/,
  // min-replicas-to-write refused the write (replicas lagging, e.g. right after a failover): it did not run.
  /^NOREPLICAS/,
  /^BUSY /,
  /Too many Cluster redirections/i,
  /Cluster isn't ready/i,
  /None of startup nodes is available/i,
  /Failed to refresh slots cache/i,
  /ECONNREFUSED/,
  /Stream isn't writeable/i,
  /enableOfflineQueue options is false/i,
  /Connection in subscriber mode/i,
  // A durable write not sent because its connection was not ready (ioredis/durable.ts).
  /^durable connection not ready/,
];
const MAYBE_EXECUTED = [
  /Command timed out/i,
  /Connection is closed/i,
  // ioredis' AbortError for the commands of a pipeline cut by a closed connection after a partial reply (the
  // coalescer's pipelines): sent, maybe run. Seen once in the rolling-restart drill (issue 15).
  /Command aborted due to connection close/i,
  /ECONNRESET/,
  /EPIPE/,
  /ETIMEDOUT/,
  /MaxRetriesPerRequest/i,
  /Reached the max retries per request limit/i,
  /socket closed/i,
  /write after end/i,
  // A blocked command released because the node turned into a replica (a failover): for a durable write's WAIT, the
  // SET before it ran and may not reach a replica. Seen in the rolling-restart drill (issue 15). Not other UNBLOCKED
  // replies (CLIENT UNBLOCK ... ERROR by an operator, a stream deleted under XREADGROUP): those stay final.
  /^UNBLOCKED force unblock from blocking operation, instance state changed/,
];

/** Classifies an error from ioredis. */
export function classifyFailure(error: unknown): FailureKind {
  if (isSlotforgeError(error))
    return error.code === 'E_TIMEOUT' || error.code === 'E_CONNECTION' ? 'ambiguous' : 'fatal';
  const message = error instanceof Error ? error.message : String(error);
  if (NOT_EXECUTED.some((re) => re.test(message))) return 'retry';
  if (MAYBE_EXECUTED.some((re) => re.test(message))) return 'ambiguous';
  return 'fatal';
}

/** The error code for a final failure of an attempt. */
export function codeOf(error: unknown): ErrorCode {
  if (isSlotforgeError(error)) return error.code;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(CLUSTERDOWN|TRYAGAIN|MOVED|ASK)|Too many Cluster redirections|Cluster isn't ready/i.test(message)) {
    return 'E_CLUSTER_DOWN';
  }
  if (/Command timed out/i.test(message)) return 'E_TIMEOUT';
  const kind = classifyFailure(error);
  return kind === 'fatal' ? 'E_COMMAND' : 'E_CONNECTION';
}

/** Options of one retried operation. */
export interface RetryOptions {
  /** Name for error messages, e.g. the Redis command. */
  readonly command: string;
  /** The key the operation is about, for errors. */
  readonly key?: string | undefined;
  /** Total deadline of the operation, all attempts included. */
  readonly timeoutMs: number;
  /** Whether an ambiguous failure may be retried (the command is safe to run twice). */
  readonly idempotent: boolean;
  /** Deadline of one attempt (then it is retried if allowed). @default the remaining time */
  readonly attemptTimeoutMs?: number | undefined;
  /** First backoff delay; doubles up to `maxDelayMs`, with full jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly clock: Clock;
  readonly random: () => number;
  /** When the operation started, if attempts ran before this loop (the connection's fast path). */
  readonly startedAt?: number | undefined;
  /** Attempts already made and the last failure, if any (the connection's fast path). */
  readonly priorAttempts?: number | undefined;
  readonly priorError?: unknown;
  /** Asked before each attempt: an error ends the operation with it, no attempt sent (e.g. the client was closed). */
  readonly stop?: (() => SlotforgeError | undefined) | undefined;
  /** Called after a failed attempt that will be retried (e.g. to refresh the cluster slot map). */
  readonly onRetry?: ((error: unknown, attempt: number) => void) | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails fatally or the deadline passes. Each attempt is raced against the
 * remaining time, so the operation never outlives its deadline even when an attempt hangs.
 */
export async function withRetry<T>(attempt: (remainingMs: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { clock } = options;
  const start = options.startedAt ?? clock.now();
  const deadline = start + options.timeoutMs;
  let attempts = options.priorAttempts ?? 0;
  let lastError: unknown = options.priorError;
  for (;;) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) break;
    const stopped = options.stop?.();
    if (stopped) throw stopped;
    attempts++;
    try {
      const attemptMs = Math.min(remaining, options.attemptTimeoutMs ?? remaining);
      return await raceDeadline(attempt(remaining), attemptMs, clock, options, attemptMs < remaining);
    } catch (error) {
      // The deadline firing mid-attempt says less than the failure before it (e.g. CLUSTERDOWN): keep that one.
      if (isSlotforgeError(error, 'E_TIMEOUT') && error.message.startsWith('deadline')) {
        lastError ??= error;
        break;
      }
      lastError = error;
      const kind = classifyFailure(error);
      if (kind === 'fatal' || (kind === 'ambiguous' && !options.idempotent)) {
        throw toSlotforgeError(error, options, attempts);
      }
      options.onRetry?.(error, attempts);
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempts - 1));
      const delay = Math.min(Math.max(1, Math.floor(options.random() * ceiling)), deadline - clock.now());
      if (delay <= 0) break;
      await sleep(delay, clock);
    }
  }
  const code = lastError === undefined ? 'E_TIMEOUT' : codeOf(lastError);
  const finalCode: ErrorCode = code === 'E_COMMAND' ? 'E_TIMEOUT' : code;
  const reason = lastError instanceof Error ? `: ${messageOf(lastError)}` : '';
  throw new SlotforgeError(
    finalCode,
    `${options.command}${options.key ? ` '${options.key}'` : ''} did not succeed within ${options.timeoutMs} ms after ${attempts} attempt(s)${reason}`,
    { key: options.key, timeoutMs: options.timeoutMs, command: options.command, attempts, cause: lastError },
  );
}

/**
 * An attempt's error as the caller reads it. ioredis' "Reached the max retries per request limit (which is 1). Refer
 * to "maxRetriesPerRequest" option for details." names an option of ioredis that ours do not have: the connection
 * was lost and a reconnect attempt failed while the command waited.
 */
export function messageOf(error: Error): string {
  return /^Reached the max retries per request limit/.test(error.message)
    ? 'no connection to Redis (ioredis gave the command up after a reconnect attempt failed)'
    : error.message;
}

/** Wraps an error of an attempt as a SlotforgeError with the operation's facts. */
export function toSlotforgeError(
  error: unknown,
  options: Pick<RetryOptions, 'command' | 'key' | 'timeoutMs'>,
  attempts?: number,
): SlotforgeError {
  if (isSlotforgeError(error)) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? messageOf(error) : String(error);
  return new SlotforgeError(code, `${options.command}${options.key ? ` '${options.key}'` : ''} failed: ${message}`, {
    key: options.key,
    command: options.command,
    timeoutMs: code === 'E_TIMEOUT' ? options.timeoutMs : undefined,
    attempts,
    cause: error,
  });
}

function raceDeadline<T>(
  promise: Promise<T>,
  ms: number,
  clock: Clock,
  options: RetryOptions,
  attemptOnly: boolean,
): Promise<T> {
  return raceClock(promise, ms, clock, () => {
    throw attemptOnly
      ? // Same wording as ioredis' commandTimeout, so it is classified as an ambiguous failure and retried if allowed.
        new Error(`Command timed out (attempt of ${options.command} took over ${ms} ms)`)
      : new SlotforgeError('E_TIMEOUT', `deadline of ${options.timeoutMs} ms passed during ${options.command}`, {
          key: options.key,
          timeoutMs: options.timeoutMs,
          command: options.command,
        });
  });
}

/** Resolves after `ms` on `clock`. */
export function sleep(ms: number, clock: Clock): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
