import { invalidOption } from '../core/index.ts';

/**
 * TTL jitter: spreads the expiry of keys written together (a warm-up, a deploy) so they do not all expire, and all
 * reload, in the same second. `ttlMs * (1 - jitter * random)`, never below 1 ms. See docs/ttl-policies.md.
 */
export function jitterTtl(ttlMs: number, jitter: number, random: () => number): number {
  if (jitter === 0) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 - jitter * random())));
}

/** Validates a jitter fraction in [0, 1). */
export function jitterOption(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1))
    throw invalidOption('jitter', 'a fraction >= 0 and < 1', value);
  return value;
}
