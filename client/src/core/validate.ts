import { describeValue, SlotforgeError } from './errors.ts';

/**
 * Option validation. Every helper throws E_INVALID_OPTION with the message `option X must be Y (got Z)`,
 * names the option in `error.option` and keeps the value in `error.received`.
 */
export function invalidOption(option: string, rule: string, received: unknown, context?: string): SlotforgeError {
  const prefix = context ? `${context}: ` : '';
  return new SlotforgeError(
    'E_INVALID_OPTION',
    `${prefix}option ${option} must be ${rule} (got ${describeValue(received)})`,
    {
      option,
      received,
    },
  );
}

/** Asserts an integer within [min, max]; returns it. */
export function integerOption(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const rule = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
    throw invalidOption(option, rule, value);
  }
  return value;
}

/** Asserts a finite number within [min, max]; returns it. */
export function numberOption(option: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const rule = max === Number.POSITIVE_INFINITY ? `a number >= ${min}` : `a number between ${min} and ${max}`;
    throw invalidOption(option, rule, value);
  }
  return value;
}

/** Asserts a duration in milliseconds (an integer >= min, default 0); returns it. */
export function durationOption(option: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || !Number.isInteger(value)) {
    throw invalidOption(option, `a whole number of milliseconds >= ${min}`, value);
  }
  if (value > max) {
    const why = max === MAX_TIMER_MS ? ' (the longest delay a Node timer takes; a longer one fires at once)' : '';
    throw invalidOption(option, `a whole number of milliseconds from ${min} to ${max}${why}`, value);
  }
  return value;
}

/** The longest delay of a Node timer, 2^31 - 1 ms (24.8 days): the bound of every duration a timer waits for. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Asserts a non-empty string; returns it. */
export function stringOption(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(option, 'a non-empty string', value);
  return value;
}

/** Asserts one of `allowed`; returns it. */
export function enumOption<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidOption(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** Asserts a function; returns it. */
export function functionOption<F extends (...args: never[]) => unknown>(option: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidOption(option, 'a function', value);
  return value as F;
}

/** Asserts a key: a non-empty string. */
export function keyArgument(value: unknown, option = 'key'): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(option, 'a non-empty string', value);
  return value;
}

/** Asserts a boolean; returns it. */
export function booleanOption(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(option, 'true or false', value);
  return value;
}
