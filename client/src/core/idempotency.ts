/**
 * Which commands are safe to run twice: an ambiguous failure (timeout, reset connection) is retried only for those.
 */

/** Commands that must not run twice after an ambiguous failure (their effect accumulates). */
export const NON_IDEMPOTENT: ReadonlySet<string> = new Set([
  'INCR',
  'INCRBY',
  'INCRBYFLOAT',
  'DECR',
  'DECRBY',
  'HINCRBY',
  'HINCRBYFLOAT',
  'ZINCRBY',
  'APPEND',
  'LPUSH',
  'RPUSH',
  'LPUSHX',
  'RPUSHX',
  'LPOP',
  'RPOP',
  'SPOP',
  'ZPOPMIN',
  'ZPOPMAX',
  'LMOVE',
  'RPOPLPUSH',
  'XADD',
  'PUBLISH',
  'SPUBLISH',
  'EVAL',
  'EVALSHA',
  'GETDEL',
  'GETEX',
  'SETRANGE',
  'PFADD',
  'RESTORE',
]);

/** Whether `command` may be retried after an ambiguous failure, unless the caller says otherwise. */
export function defaultIdempotent(command: string): boolean {
  return !NON_IDEMPOTENT.has(command.toUpperCase());
}
