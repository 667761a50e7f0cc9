/**
 * The throughput rows of `npm run bench`: each case is one of our calls against a named peer doing the same job.
 */
import type { Batch, RateLimiter, SlotforgeClient } from '@slotforge/client';
import type { BentoCache, bentostore } from 'bentocache';
import type { Cacheable } from 'cacheable';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import type { LocalCluster } from '../runtime/redis/index.ts';

/** Distinct keys read round robin by every getOrSet row. */
export const HOT_KEYS = 1_000;
export const VALUE = { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'dev'], score: 97.5 };

/** One row: ours and the peer's call, run alternately at `concurrency`. */
export interface Case {
  readonly name: string;
  readonly peer: string;
  readonly concurrency: number;
  readonly ours: () => Promise<unknown>;
  readonly theirs: () => Promise<unknown>;
  readonly target?: number;
  readonly note?: string;
  /** Set when the peer could not run; the row is reported with peerOps 0 and this note. */
  readonly skipped?: string;
}

/** What the cases call: our clients and the peers, set up and filled by main.ts. */
export interface CaseInputs {
  readonly client: SlotforgeClient;
  readonly near: SlotforgeClient;
  /** The same client with one socket write per command. */
  readonly uncoalesced: SlotforgeClient;
  readonly raw: ReturnType<LocalCluster['connect']>;
  /** HOT_KEYS keys, stored by every side. */
  readonly hot: readonly string[];
  readonly bento: BentoCache<{ redis: ReturnType<typeof bentostore> }>;
  readonly cacheable: Cacheable | undefined;
  readonly cacheableSkipped: string | undefined;
  readonly cacheableNote: string;
  readonly rlf: RateLimiterRedis;
  readonly limiters: { readonly gcra: RateLimiter; readonly sliding: RateLimiter; readonly slidingLog: RateLimiter };
  readonly batch: Batch;
  /** 100 keys over many slots each, ours and the raw peer's. */
  readonly ourKeys: readonly string[];
  readonly rawKeys: readonly string[];
}

/** The throughput cases, in the order they run. */
export function benchCases(i: CaseInputs): Case[] {
  const { client, near, uncoalesced, raw, hot, bento, cacheable, cacheableSkipped, cacheableNote, rlf, batch } = i;
  const { gcra, sliding, slidingLog } = i.limiters;
  const { ourKeys, rawKeys } = i;
  // HOT distinct keys, read round robin: concurrent calls for ONE key would be coalesced by single flight (ours) and
  // measure that instead of a Redis read.
  let hotSeq = 0;
  const nextHot = () => hot[hotSeq++ % HOT_KEYS] as string;
  let setSeq = 0;
  const ids = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
  let idSeq = 0;
  const nextId = () => ids[idSeq++ % ids.length] as string;

  const rawGet = async () => JSON.parse((await raw.get(`raw:${nextHot()}`)) as string);
  const ourHit = () => client.getOrSet(nextHot(), async () => VALUE, { ttlMs: 3_600_000 });
  const ourHitUncoalesced = () => uncoalesced.getOrSet(nextHot(), async () => VALUE, { ttlMs: 3_600_000 });
  /** What each side of the hit rows does per call. */
  const hitWork =
    'ours: GET (Buffer) with a deadline (AttemptWatchdog, no timer per command) and our retry, entry header check ' +
    '(magic, version, codec, kind, freshUntil), JSON.parse of the value, freshness check, hit counter; ' +
    'peer: GET + JSON.parse of the value, no deadline';
  const coalesced =
    'ours coalesces the writes of one tick per node (coalesceWrites, default on; node-redis does the same)';
  const uncoalescedHit = (concurrency: number): Case => ({
    name: 'getOrSet hit, coalesceWrites off',
    peer: 'ioredis GET+JSON.parse',
    concurrency,
    ours: ourHitUncoalesced,
    theirs: rawGet,
    note: 'one socket write per command on both sides: our per-call work alone',
  });
  const batchGet = (concurrency: number): Case => ({
    name: '100-key batch get (per node)',
    peer: 'ioredis 100 x GET+JSON.parse',
    concurrency,
    ours: () => batch.getMany(ourKeys),
    theirs: () => Promise.all(rawKeys.map(async (k) => JSON.parse((await raw.get(k)) as string))),
    target: 1.5,
    note: 'ops = batches of 100 keys',
  });
  return [
    {
      name: 'getOrSet hit, Redis tier',
      peer: 'ioredis GET+JSON.parse',
      concurrency: 1,
      ours: ourHit,
      theirs: rawGet,
      target: 0.95,
      note: hitWork,
    },
    {
      name: 'getOrSet hit, Redis tier',
      peer: 'ioredis GET+JSON.parse',
      concurrency: 64,
      ours: ourHit,
      theirs: rawGet,
      target: 0.95,
      note: `${hitWork}; ${coalesced}`,
    },
    uncoalescedHit(1),
    uncoalescedHit(64),
    {
      name: 'getOrSet hit, Redis tier',
      peer: 'bentocache 1.6 (L2 redis, ioredis Cluster)',
      concurrency: 64,
      ours: ourHit,
      theirs: () => bento.getOrSet({ key: nextHot(), factory: () => VALUE, ttl: '1h' }),
    },
    {
      name: 'getOrSet hit, Redis tier',
      peer: 'cacheable 2.5 + @keyv/redis (cluster)',
      concurrency: 64,
      ours: ourHit,
      theirs: () => (cacheable as Cacheable).getOrSet(nextHot(), async () => VALUE, { ttl: '1h' }),
      ...(cacheableSkipped ? { skipped: cacheableSkipped } : {}),
      ...(cacheableNote ? { note: cacheableNote } : {}),
    },
    {
      name: 'getOrSet hit, near cache',
      peer: 'ioredis GET+JSON.parse',
      concurrency: 64,
      ours: () => near.getOrSet(nextHot(), async () => VALUE, { ttlMs: 3_600_000 }),
      theirs: rawGet,
      target: 20,
      note: 'near cache with RESP2 tracking invalidation (part 1)',
    },
    {
      name: 'set (JSON value, TTL)',
      peer: 'ioredis SET+JSON.stringify',
      concurrency: 64,
      ours: () => client.set(`s:${setSeq++ % 10_000}`, VALUE, { ttlMs: 60_000 }),
      theirs: () => raw.set(`raws:${setSeq++ % 10_000}`, JSON.stringify(VALUE), 'PX', 60_000),
    },
    {
      name: 'rate limit consume, GCRA',
      peer: 'rate-limiter-flexible RateLimiterRedis',
      concurrency: 64,
      ours: () => gcra.consume(nextId()),
      theirs: () => rlf.consume(nextId(), 1),
      target: 1.0,
      note:
        'RateLimiterCluster is for the Node cluster module, not Redis Cluster: RateLimiterRedis over an ioredis Cluster is the peer. ' +
        'ours: EVALSHA of GCRA (TIME, GET, SET PX), server time; peer: EVALSHA (defineCommand) of SET NX EX + INCRBY + PTTL, a fixed window; ' +
        coalesced,
    },
    {
      name: 'rate limit consume, sliding window',
      peer: 'rate-limiter-flexible RateLimiterRedis',
      concurrency: 64,
      ours: () => sliding.consume(nextId()),
      theirs: () => rlf.consume(nextId(), 1),
      target: 1.0,
      note: `two-window counter (the default: GET + SET PX of one short string) vs a fixed window counter; ${coalesced}`,
    },
    {
      name: 'rate limit consume, sliding log',
      peer: 'rate-limiter-flexible RateLimiterRedis',
      concurrency: 64,
      ours: () => slidingLog.consume(nextId()),
      theirs: () => rlf.consume(nextId(), 1),
      note: `exact sliding log (algorithm 'sliding-log': ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE; one member per admitted request) vs a fixed window counter; ${coalesced}`,
    },
    batchGet(1),
    batchGet(16),
  ];
}
