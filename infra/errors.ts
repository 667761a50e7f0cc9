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
