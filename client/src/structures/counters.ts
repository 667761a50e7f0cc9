import type { CoreContext } from '../context.ts';
import { defineScript, durationOption, enumOption, integerOption, keyArgument } from '../core/index.ts';

/** What counters need from the core. */
export type CountersDeps = Pick<CoreContext, 'commands' | 'keys'>;

/** Options of one increment. */
export interface IncrOptions {
  /** Amount to add (negative to subtract). @default 1 */
  readonly by?: number;
  /** Time to live of the counter key. @default none (the key keeps its TTL, or lives forever) */
  readonly ttlMs?: number;
  /**
   * When the TTL is (re)set: 'always' slides it on every increment; 'create' sets it only when the key has none
   * (a fixed window that starts with the first increment).
   * @default 'create'
   */
  readonly ttlMode?: 'always' | 'create';
}

/**
 * INCRBY and PEXPIRE in one script: one round trip and atomic, so a crash between the two can never leave a counter
 * without its TTL (the seed's `increment` had no TTL at all).
 * KEYS[1] counter; ARGV[1] delta; ARGV[2] ttl ms (0 = none); ARGV[3] '1' = always, '0' = only when no TTL.
 */
const INCR = defineScript(
  'slotforge-counter-incr',
  `local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 and (ARGV[3] == '1' or redis.call('PTTL', KEYS[1]) < 0) then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return v`,
);

/**
 * Integer counters with a TTL set in the same round trip. Keys are `<namespace>:<key>` strings holding an integer.
 * Not retried after an ambiguous failure (a timeout may hide an applied increment): the error is surfaced instead.
 */
export class Counters {
  readonly #ctx: CountersDeps;

  constructor(ctx: CountersDeps) {
    this.#ctx = ctx;
  }

  /** Adds `by` (default 1) and returns the new value; sets the TTL per `ttlMode` in the same script. */
  async incr(key: string, options: IncrOptions = {}): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const by = integerOption('by', options.by ?? 1, Number.MIN_SAFE_INTEGER);
    const ttlMs = options.ttlMs === undefined ? 0 : durationOption('ttlMs', options.ttlMs, 1);
    const mode = enumOption('ttlMode', options.ttlMode ?? 'create', ['always', 'create']);
    const reply = await this.#ctx.commands.eval(INCR, [full], [by, ttlMs, mode === 'always' ? '1' : '0']);
    return Number(reply);
  }

  /** Subtracts `by` (default 1); same TTL rules as `incr`. */
  decr(key: string, options: IncrOptions = {}): Promise<number> {
    const by = integerOption('by', options.by ?? 1, Number.MIN_SAFE_INTEGER);
    return this.incr(key, { ...options, by: -by });
  }

  /** The current value; 0 when the counter does not exist (an absent counter counts nothing). */
  async get(key: string): Promise<number> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const value = await this.#ctx.commands.get(full);
    return value === null ? 0 : Number(value.toString());
  }

  /** Remaining TTL in ms; undefined when the counter is missing or has no TTL. */
  async ttl(key: string): Promise<number | undefined> {
    const full = this.#ctx.keys.key(keyArgument(key));
    const pttl = Number(await this.#ctx.commands.call('PTTL', [full]));
    return pttl >= 0 ? pttl : undefined;
  }

  /** Deletes counters of any slots; returns how many existed. */
  reset(...keys: string[]): Promise<number> {
    return this.#ctx.commands.del(keys.map((k) => this.#ctx.keys.key(keyArgument(k))));
  }
}

/** Factory for `client.use(createCounters, {})`. */
export function createCounters(context: CountersDeps, _options: Record<string, never> = {}): Counters {
  return new Counters(context);
}
