import { randomBytes } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import {
  durationOption,
  enumOption,
  integerOption,
  invalidOption,
  isSlotforgeError,
  keyArgument,
  stringOption,
} from '../core/index.ts';
import { GCRA, SLIDING_LOG, SLIDING_WINDOW_COUNTER } from './scripts.ts';

/** What a rate limiter needs from the core. */
export type RateLimiterDeps = Pick<CoreContext, 'commands' | 'keys' | 'metrics'>;

/** Rate-limit algorithms. */
export type RateLimitAlgorithm = 'sliding-window' | 'sliding-log' | 'gcra';

/** Options of a rate limiter. */
export interface RateLimiterOptions {
  /**
   * Name of the limiter: part of its keys and the `limiter` label of `slotforge_ratelimit_decisions_total` (never
   * the id, which would be an unbounded label).
   */
  readonly name: string;
  /** Requests admitted per window (the burst, for GCRA). */
  readonly limit: number;
  /** The window (sliding window) or period (GCRA) in ms. */
  readonly windowMs: number;
  /**
   * 'sliding-window': the two-window counter estimate (previous window weighted by its overlap + current window):
   * one short string per id, O(1) memory and work; accurate when traffic is not wildly uneven (see scripts.ts).
   * 'sliding-log': exact, a sorted set of admitted requests per id (memory and work O(limit) per id).
   * 'gcra': smooth, one timestamp per id (memory O(1)); a burst of `limit` then one request per windowMs/limit.
   * @default 'sliding-window'
   */
  readonly algorithm?: RateLimitAlgorithm;
}

/** A decision. */
export interface RateLimitResult {
  /** Whether the request is admitted (and counted). A rejected request is not counted. */
  readonly allowed: boolean;
  /** Requests still admissible now (after this one when admitted). */
  readonly remaining: number;
  /** Ms until the limiter is back to its full `limit` for this id. */
  readonly resetMs: number;
  /** 0 when admitted; otherwise ms until a request of this cost would be admitted. */
  readonly retryAfterMs: number;
}

/** Options of one consume. */
export interface ConsumeOptions {
  /** Units this request costs. @default 1 */
  readonly cost?: number;
  readonly timeoutMs?: number;
}

/** Unique per process: with the per-call sequence, sliding-window members never collide across clients. */
const PROCESS_NONCE = randomBytes(6).toString('base64url');
let sequence = 0;

/** Key part of every limiter key: `<namespace>:rl:<name>:<id>`. */
export const RATE_LIMIT_KEY_PART = 'rl';

/**
 * A distributed rate limiter: one atomic Lua script, one round trip, one key per id, server time.
 *
 * @example
 * const limiter = client.use(createRateLimiter, { name: 'login', limit: 5, windowMs: 60_000 })
 * const { allowed, retryAfterMs } = await limiter.consume(ip)
 */
export class RateLimiter {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly algorithm: RateLimitAlgorithm;
  readonly #ctx: RateLimiterDeps;
  readonly #prefix: string;

  constructor(ctx: RateLimiterDeps, options: RateLimiterOptions) {
    if (!options || typeof options !== 'object') throw invalidOption('options', 'an object', options);
    this.name = stringOption('name', options.name);
    if (/[{}]/.test(this.name)) throw invalidOption('name', 'a string without { or }', this.name);
    this.limit = integerOption('limit', options.limit, 1, 1_000_000);
    this.windowMs = durationOption('windowMs', options.windowMs, 1);
    this.algorithm = enumOption('algorithm', options.algorithm ?? 'sliding-window', [
      'sliding-window',
      'sliding-log',
      'gcra',
    ]);
    this.#ctx = ctx;
    this.#prefix = ctx.keys.key(`${RATE_LIMIT_KEY_PART}:${this.name}:`);
  }

  /** A member prefix unique across processes and calls: a random process id plus a counter (cheaper than random bytes). */
  #nonce(): string {
    sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
    return `${PROCESS_NONCE}${sequence.toString(36)}`;
  }

  /** The Redis key of an id. */
  keyOf(id: string): string {
    return this.#prefix + keyArgument(id, 'id');
  }

  /** Takes `cost` units for `id` if admissible; counts nothing when rejected. */
  async consume(id: string, options?: ConsumeOptions): Promise<RateLimitResult> {
    const key = this.keyOf(id);
    // The hot path: validate the cost only when one is given.
    const cost = options?.cost === undefined ? 1 : integerOption('cost', options.cost, 1, this.limit);
    const call = options?.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs };
    let reply: number[];
    try {
      reply = (
        this.algorithm === 'sliding-log'
          ? await this.#ctx.commands.eval(SLIDING_LOG, [key], [this.limit, this.windowMs, cost, this.#nonce()], call)
          : await this.#ctx.commands.eval(
              this.algorithm === 'gcra' ? GCRA : SLIDING_WINDOW_COUNTER,
              [key],
              [this.limit, this.windowMs, cost],
              call,
            )
      ) as number[];
    } catch (error) {
      if (isSlotforgeError(error)) this.#ctx.metrics.error(error.code);
      throw error;
    }
    const allowed = reply[0] === 1;
    this.#ctx.metrics.rateLimit(this.name, allowed);
    return { allowed, remaining: reply[1] as number, resetMs: reply[2] as number, retryAfterMs: reply[3] as number };
  }

  /** Forgets everything counted for `id`. */
  async reset(id: string): Promise<void> {
    await this.#ctx.commands.del([this.keyOf(id)]);
  }
}

/** Factory for `client.use(createRateLimiter, { name, limit, windowMs })`. */
export function createRateLimiter(context: RateLimiterDeps, options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(context, options);
}
