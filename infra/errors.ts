/**
 * A prop or config value a construct cannot synthesize. The message names the construct, the field, the rule and the
 * value: `RedisCluster 'sessions': shards must be at least 3 so a failover can win a majority (got 2)`.
 */
export class InvalidPropError extends Error {
  readonly code = 'E_INVALID_PROP';

  constructor(
    /** `RedisCluster 'sessions'`. */
    readonly owner: string,
    /** The prop or directive, e.g. `shards` or `config.maxmemory-policy`. */
    readonly field: string,
    /** The rule the value breaks, phrased so the sentence reads `<field> <rule>`. */
    readonly rule: string,
    readonly received: unknown,
  ) {
    super(`${owner}: ${field} ${rule} (got ${formatReceived(received)})`);
    this.name = 'InvalidPropError';
  }
}

function formatReceived(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

/** Throws an {@link InvalidPropError} unless `ok`. */
export function check(ok: boolean, owner: string, field: string, rule: string, received: unknown): void {
  if (!ok) throw new InvalidPropError(owner, field, rule, received);
}

/** Whether `value` is an integer from `min` to `max`. @internal */
export const isInt = (value: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
  Number.isInteger(value) && value >= min && value <= max;

/**
 * Throws an {@link InvalidPropError} unless `value` is an integer from `min` to `max`; the rule reads
 * `must be an integer from <min> to <max>`, followed by ` (<why>)` when given.
 * @internal
 */
export function checkInt(owner: string, field: string, value: number, min: number, max: number, why?: string): void {
  check(
    isInt(value, min, max),
    owner,
    field,
    `must be an integer from ${min} to ${max}${why ? ` (${why})` : ''}`,
    value,
  );
}

/** A DNS label (RFC 1123): object names of the constructs. @internal */
export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Throws an {@link InvalidPropError} unless `value` is one of `allowed`; the rule reads `must be 'a' or 'b'`
 * (strings quoted, booleans bare).
 * @internal
 */
export function checkOneOf<T>(owner: string, field: string, value: T, allowed: readonly T[]): void {
  const names = allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a)));
  const rule = `must be ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  check(allowed.includes(value), owner, field, rule, value);
}

/**
 * The name of a construct (the `name` prop or its id), checked as a DNS label of at most `maxLength` characters, and
 * the owner its errors name (`RedisCluster 'x'`). `suffix` says what pod names append to it.
 * @internal
 */
export function constructName(
  kind: string,
  id: string,
  name: string | undefined,
  maxLength: number,
  suffix: string,
): { readonly name: string; readonly owner: string } {
  const resolved = name ?? id;
  const owner = `${kind} '${resolved}'`;
  check(
    NAME_PATTERN.test(resolved) && resolved.length <= maxLength,
    owner,
    'name',
    `must be a DNS label of at most ${maxLength} characters (pod names append ${suffix} and must stay under 63)`,
    resolved,
  );
  return { name: resolved, owner };
}
