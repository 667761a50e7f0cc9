/**
 * Every error code the client raises. A caller switches on `error.code`, never on the message.
 */
export type ErrorCode =
  /** An operation did not finish before its deadline. */
  | 'E_TIMEOUT'
  /** The cluster answered CLUSTERDOWN/TRYAGAIN (or kept redirecting) until the deadline: a failover was in progress. */
  | 'E_CLUSTER_DOWN'
  /** The connection could not be opened or was lost, and retries ran out. */
  | 'E_CONNECTION'
  /** An option or argument broke a rule; `option` names it and `received` holds it. */
  | 'E_INVALID_OPTION'
  /** A stored value could not be encoded or decoded. */
  | 'E_CODEC'
  /** A value is larger than the configured maximum. */
  | 'E_OVERSIZE'
  /** A lock expired or was taken by another holder while we thought we held it. */
  | 'E_LOCK_LOST'
  /** A lock could not be acquired before its deadline. */
  | 'E_LOCK_TIMEOUT'
  /** The loader of getOrSet (or read-through) threw and no stale value could be served. */
  | 'E_LOADER'
  /** Redis answered with an error reply that no retry can fix (WRONGTYPE, a script error, NOPERM, ...). */
  | 'E_COMMAND'
  /** The client was closed. */
  | 'E_CLOSED'
  /** A bounded queue (write-behind) is full. */
  | 'E_QUEUE_FULL'
  /** A pub/sub message failed to decode or validate. */
  | 'E_MESSAGE'
  /** The call was not sent: the circuit breaker is open (Redis did not answer several attempts in a row). */
  | 'E_CIRCUIT_OPEN';

/** The facts an error can carry; only the ones that apply are set. */
export interface ErrorFacts {
  /** The (prefixed) key the operation was about. */
  readonly key?: string;
  /** The deadline that passed. */
  readonly timeoutMs?: number;
  /** The option or argument that broke a rule. */
  readonly option?: string;
  /** The value received for `option` (or the size received for E_OVERSIZE). */
  readonly received?: unknown;
  /** The Redis command that failed. */
  readonly command?: string;
  /** How many attempts were made before giving up. */
  readonly attempts?: number;
  /** The original error. */
  readonly cause?: unknown;
}

/**
 * The one error class of the client: a literal `code`, the facts a caller needs and the original `cause`.
 *
 * @example
 * try { await cache.get('user:1') } catch (e) { if (isSlotforgeError(e, 'E_TIMEOUT')) retryLater(e.timeoutMs) }
 */
export class SlotforgeError extends Error {
  override readonly name = 'SlotforgeError';
  readonly code: ErrorCode;
  readonly key: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly option: string | undefined;
  readonly received: unknown;
  readonly command: string | undefined;
  readonly attempts: number | undefined;

  constructor(code: ErrorCode, message: string, facts: ErrorFacts = {}) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.code = code;
    this.key = facts.key;
    this.timeoutMs = facts.timeoutMs;
    this.option = facts.option;
    this.received = facts.received;
    this.command = facts.command;
    this.attempts = facts.attempts;
  }
}

/** True when `error` is a SlotforgeError (of `code`, when given). */
export function isSlotforgeError<C extends ErrorCode>(
  error: unknown,
  code?: C,
): error is SlotforgeError & { readonly code: C } {
  return error instanceof SlotforgeError && (code === undefined || error.code === code);
}

/** Renders a received value for a message: strings quoted, objects as JSON, long values cut. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (typeof value === 'bigint') text = `${value}n`;
  else if (typeof value === 'function') text = 'a function';
  // JSON.stringify renders NaN and Infinity as null and a Symbol as nothing: name the value itself.
  else if (typeof value === 'number' || typeof value === 'symbol') text = String(value);
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
