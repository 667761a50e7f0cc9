/**
 * `npm run bench [-- --json FILE] [--quick] [--rounds N]`: our client against named peers, measured in the SAME run on the SAME
 * local Redis Cluster (3 masters x 1 replica, started here and stopped at the end). Prints a table and writes the
 * rows (`name`, `ours`, `peer`, `peerOps`, `ratio`, ...) to FILE. Not a timed test: figures depend on the machine.
 *
 * Every loop is bounded in count and time (bench/lib.ts `measure`). Each row alternates peer and ours rounds and
 * reports the median of the paired ratios, so a burst of load from another process on a shared machine hurts both
 * sides of a pair alike instead of deciding the result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis, { createCluster, Keyv } from '@keyv/redis';
import {
  createBatch,
  createClient,
  createRateLimiter,
  keySlot,
  type RateLimiter,
  type SlotforgeClient,
} from '@slotforge/client';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { Cacheable } from 'cacheable';
import Table from 'cli-table3';
import ora from 'ora';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { type LocalCluster, startLocalCluster } from '../runtime/redis/index.ts';
import { type Bounds, formatRow, type Measurement, measure, memoryRow, parseArgs, type Row, toRow } from './lib.ts';

const args = parseArgs(process.argv.slice(2));
/** Per round: whichever comes first. A full run is about 12 rows x (14 rounds x maxMs + warm-up) plus setup (3 min). */
const BOUNDS: Bounds = args.quick ? { maxOps: 20_000, maxMs: 200 } : { maxOps: 200_000, maxMs: 500 };
const ROUNDS = args.rounds ?? (args.quick ? 2 : 7);
/**
 * Warm-up per side before the rounds, long enough for V8 to optimize both code paths. With 500 calls and 5 rounds the
 * first row (hit, concurrency 1) read 0.93-0.95x in three runs; with 5000 calls and 7 rounds, 0.98x in two.
 */
const WARM_UP: Bounds = args.quick ? { maxOps: 500, maxMs: 300 } : { maxOps: 5_000, maxMs: 1_000 };
/** Distinct keys read round robin by every getOrSet row. */
const HOT_KEYS = 1_000;
const VALUE = { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'dev'], score: 97.5 };
/** A value whose JSON text is exactly 100 bytes, for the memory rows (issue 16). */
const VALUE_100 = (() => {
  const base = { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', note: '' };
  const value = { ...base, note: 'x'.repeat(100 - JSON.stringify(base).length) };
  if (JSON.stringify(value).length !== 100) throw new Error('VALUE_100 is not 100 bytes of JSON');
  return value;
})();
/** Requests admitted per id before the limited-key memory rows are read. */
const LIMITED_REQUESTS = 100;
const spinner = ora({ stream: process.stderr, isEnabled: Boolean(process.stderr.isTTY) });

function progress(message: string): void {
  if (spinner.isEnabled) spinner.text = message;
  else console.error(message);
}

interface Case {
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

async function runCase(c: Case, index: number, total: number): Promise<Row> {
  const label = `[${index}/${total}] ${c.name} (c=${c.concurrency})`;
  // Warm-up: JIT, EVALSHA script cache, connections to every master.
  progress(`${label}: warming up`);
  await measure(c.ours, c.concurrency, WARM_UP);
  if (!c.skipped) await measure(c.theirs, c.concurrency, WARM_UP);
  const ours: Measurement[] = [];
  const peers: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (!c.skipped) {
      progress(`${label}: ${c.peer}, round ${round}/${ROUNDS}`);
      peers.push(await measure(c.theirs, c.concurrency, BOUNDS));
    }
    progress(`${label}: ours, round ${round}/${ROUNDS}`);
    ours.push(await measure(c.ours, c.concurrency, BOUNDS));
  }
  const row = toRow({
    name: c.name,
    peer: c.peer,
    concurrency: c.concurrency,
    ours,
    peers: c.skipped ? [{ ops: 0, ms: 1, opsPerSec: 0, errors: 0 }] : peers,
    ...(c.target === undefined ? {} : { target: c.target }),
    ...(c.note || c.skipped ? { note: [c.skipped, c.note].filter(Boolean).join('; ') } : {}),
  });
  const line = `${label}: ours ${row.ours} ops/s, ${c.peer} ${row.peerOps} ops/s, ratio ${row.ratio}`;
  if (spinner.isEnabled) spinner.succeed(line);
  else console.error(line);
  if (spinner.isEnabled) spinner.start();
  return row;
}

/** Keys spread over many slots, so batches really cross nodes. */
function spreadKeys(prefix: string, count: number): string[] {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}:${i}`);
  const slots = new Set(keys.map(keySlot));
  if (slots.size < count * 0.9) throw new Error(`keys of ${prefix} share too many slots (${slots.size})`);
  return keys;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'slotforge-bench-'));
  let cluster: LocalCluster | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  spinner.start('starting a local Redis Cluster (3 masters x 1 replica)');
  if (!spinner.isEnabled) console.error('starting a local Redis Cluster (3 masters x 1 replica)');
  try {
    cluster = await startLocalCluster({ dir, shards: 3, replicasPerShard: 1, onProgress: (step) => progress(step) });
    const seeds = cluster.seeds();
    const raw = cluster.connect();
    cleanups.push(async () => raw.quit());
    await new Promise<void>((resolve, reject) => {
      if (raw.status === 'ready') resolve();
      raw.once('ready', () => resolve());
      raw.once('error', reject);
    });
    const client: SlotforgeClient = createClient({ cluster: { nodes: seeds }, namespace: 'bench' });
    const near: SlotforgeClient = createClient({ cluster: { nodes: seeds }, namespace: 'near', nearCache: true });
    // The same client with one socket write per command (like the raw peer): shows what write coalescing is worth
    // and what our per-call work costs on its own. Same namespace, so it reads the same entries.
    const uncoalesced: SlotforgeClient = createClient({
      cluster: { nodes: seeds },
      namespace: 'bench',
      coalesceWrites: false,
    });
    cleanups.push(
      () => client.close(),
      () => near.close(),
      () => uncoalesced.close(),
    );
    await client.ready();
    await near.ready();
    await uncoalesced.ready();

    // Data: the same value under our format and under plain JSON for the raw peer.
    // HOT distinct keys, read round robin: concurrent calls for ONE key would be coalesced by single flight (ours) and
    // measure that instead of a Redis read.
    const json = JSON.stringify(VALUE);
    const hot = Array.from({ length: HOT_KEYS }, (_, i) => `hot:${i}`);
    let hotSeq = 0;
    const nextHot = () => hot[hotSeq++ % HOT_KEYS] as string;
    await Promise.all(hot.map((k) => raw.set(`raw:${k}`, json)));
    for (const k of hot) {
      await client.getOrSet(k, async () => VALUE, { ttlMs: 3_600_000 });
      await near.getOrSet(k, async () => VALUE, { ttlMs: 3_600_000 });
    }
    const batch = client.use(createBatch, {});
    const ourKeys = spreadKeys('b', 100);
    const rawKeys = spreadKeys('rawb', 100);
    await batch.setMany(
      ourKeys.map((k) => [k, VALUE] as const),
      { ttlMs: 3_600_000 },
    );
    await Promise.all(rawKeys.map((k) => raw.set(k, json)));
    let setSeq = 0;

    // Peers.
    const bento = new BentoCache({
      default: 'redis',
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: raw })) },
    });
    cleanups.push(() => bento.disconnectAll().catch(() => undefined));
    for (const k of hot) await bento.getOrSet({ key: k, factory: () => VALUE, ttl: '1h' });

    let cacheable: Cacheable | undefined;
    let cacheableSkipped: string | undefined;
    let cacheableNote = 'Keyv(@keyv/redis) over a node-redis cluster client as the primary (Redis-tier) store';
    try {
      const password = cluster.password ? `:${cluster.password}@` : '';
      const keyvCluster = createCluster({
        rootNodes: seeds.map((s) => ({ url: `redis://${password}${s.host}:${s.port}` })),
      });
      const store = new KeyvRedis(keyvCluster);
      cleanups.push(async () => store.disconnect());
      cacheable = new Cacheable({ primary: new Keyv({ store, namespace: 'cacheable' }) });
      for (const k of hot) await cacheable.set(k, VALUE, '1h');
      if ((await cacheable.get('hot:0')) === undefined) throw new Error('read back nothing');
    } catch (error) {
      cacheableSkipped = `cacheable + @keyv/redis on a cluster failed: ${(error as Error).message}`;
      cacheableNote = '';
    }

    const rlf = new RateLimiterRedis({ storeClient: raw, points: 1_000_000, duration: 60, keyPrefix: 'rlf' });
    const gcra = client.use(createRateLimiter, {
      name: 'bench-gcra',
      limit: 1_000_000,
      windowMs: 60_000,
      algorithm: 'gcra',
    });
    const sliding = client.use(createRateLimiter, { name: 'bench-sw', limit: 1_000_000, windowMs: 60_000 });
    const slidingLog = client.use(createRateLimiter, {
      name: 'bench-sl',
      limit: 1_000_000,
      windowMs: 60_000,
      algorithm: 'sliding-log',
    });
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
    const cases: Case[] = [
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
      {
        name: 'getOrSet hit, coalesceWrites off',
        peer: 'ioredis GET+JSON.parse',
        concurrency: 1,
        ours: ourHitUncoalesced,
        theirs: rawGet,
        note: 'one socket write per command on both sides: our per-call work alone',
      },
      {
        name: 'getOrSet hit, coalesceWrites off',
        peer: 'ioredis GET+JSON.parse',
        concurrency: 64,
        ours: ourHitUncoalesced,
        theirs: rawGet,
        note: 'one socket write per command on both sides: our per-call work alone',
      },
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
      {
        name: '100-key batch get (per node)',
        peer: 'ioredis 100 x GET+JSON.parse',
        concurrency: 1,
        ours: () => batch.getMany(ourKeys),
        theirs: () => Promise.all(rawKeys.map(async (k) => JSON.parse((await raw.get(k)) as string))),
        target: 1.5,
        note: 'ops = batches of 100 keys',
      },
      {
        name: '100-key batch get (per node)',
        peer: 'ioredis 100 x GET+JSON.parse',
        concurrency: 16,
        ours: () => batch.getMany(ourKeys),
        theirs: () => Promise.all(rawKeys.map(async (k) => JSON.parse((await raw.get(k)) as string))),
        target: 1.5,
        note: 'ops = batches of 100 keys',
      },
    ];
    const rows: Row[] = [];
    for (const [i, c] of cases.entries()) rows.push(await runCase(c, i + 1, cases.length));
    progress('memory rows (MEMORY USAGE)');
    rows.push(
      ...(await memoryRows({
        client,
        raw,
        bento,
        cacheable,
        limiters: { counter: sliding, log: slidingLog, gcra, rlf },
      })),
    );
    spinner.stop();

    const table = new Table({
      head: ['case', 'conc.', 'ours ops/s (or bytes)', 'peer', 'peer ops/s (or bytes)', 'ratio', 'target'],
    });
    for (const row of rows) table.push(formatRow(row));
    console.log(table.toString());
    for (const row of rows) if (row.note) console.log(`- ${row.name} vs ${row.peer}: ${row.note}`);
    const errors = rows.filter((r) => r.errors.ours > 0 || r.errors.peer > 0);
    for (const row of errors)
      console.log(`! ${row.name} vs ${row.peer}: errors ours=${row.errors.ours} peer=${row.errors.peer}`);
    if (args.json) {
      writeFileSync(
        args.json,
        `${JSON.stringify({ bounds: BOUNDS, rounds: ROUNDS, node: process.version, rows }, null, 2)}\n`,
      );
      console.log(`rows written to ${args.json}`);
    }
  } finally {
    spinner.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

/** What the memory rows read. */
interface MemoryInputs {
  readonly client: SlotforgeClient;
  readonly raw: ReturnType<LocalCluster['connect']>;
  readonly bento: BentoCache<{ redis: ReturnType<typeof bentostore> }>;
  readonly cacheable: Cacheable | undefined;
  readonly limiters: {
    readonly counter: RateLimiter;
    readonly log: RateLimiter;
    readonly gcra: RateLimiter;
    readonly rlf: RateLimiterRedis;
  };
}

/**
 * Bytes Redis holds per stored thing (`MEMORY USAGE key SAMPLES 0` on the master owning the key): a cached entry of a
 * 100-byte JSON value (ours vs the raw JSON under a key of the same length and TTL, vs bentocache and cacheable), and
 * a rate-limited id after LIMITED_REQUESTS admitted requests. Ratio = ours / peer: lower is better.
 */
async function memoryRows(m: MemoryInputs): Promise<Row[]> {
  const { client, raw } = m;
  const usage = async (key: string): Promise<number> => {
    const node = client.commands.masters().find((n) => client.commands.groupByNode([key]).has(n.id));
    if (!node) throw new Error(`no master serves ${key}`);
    return Number(await client.commands.callNode(node, 'MEMORY', ['USAGE', key, 'SAMPLES', '0']));
  };
  /** The one key whose name ends with `suffix` (peers choose their own prefixes). */
  const find = async (suffix: string): Promise<string> => {
    const found: string[] = [];
    for await (const page of client.commands.scan(`*${suffix}`)) found.push(...page);
    if (found.length !== 1)
      throw new Error(`expected one key ending with ${suffix}, found ${found.join(', ') || 'none'}`);
    return found[0] as string;
  };
  const ttl = 3_600_000;
  // Same key length as ours (`bench:mem:e1`), same TTL.
  await client.set('mem:e1', VALUE_100, { ttlMs: ttl });
  await raw.set('rawmm:mem:e1', JSON.stringify(VALUE_100), 'PX', ttl);
  await m.bento.set({ key: 'bento-mem:e1', value: VALUE_100, ttl: '1h' });
  const ours = await usage('bench:mem:e1');
  const rawBytes = await usage('rawmm:mem:e1');
  const bentoKey = await find('bento-mem:e1');
  const rows: Row[] = [
    memoryRow({
      name: 'memory per entry (100-byte JSON)',
      peer: 'raw SET of the JSON (same key length, TTL)',
      ours,
      peerBytes: rawBytes,
      target: 1.15,
      note: `ours: 16-byte entry header (envelope version 4) + the JSON value; key bench:mem:e1 vs rawmm:mem:e1`,
    }),
    memoryRow({
      name: 'memory per entry (100-byte JSON)',
      peer: 'bentocache 1.6 (L2 redis)',
      ours,
      peerBytes: await usage(bentoKey),
      note: `bentocache key ${bentoKey} (its JSON wrapper holds the value and its logical expiration)`,
    }),
  ];
  if (m.cacheable) {
    await m.cacheable.set('cach-mem:e1', VALUE_100, '1h');
    const key = await find('cach-mem:e1');
    rows.push(
      memoryRow({
        name: 'memory per entry (100-byte JSON)',
        peer: 'cacheable 2.5 + @keyv/redis',
        ours,
        peerBytes: await usage(key),
        note: `cacheable key ${key} (Keyv's JSON wrapper with the value and expires)`,
      }),
    );
  }
  const { counter, log, gcra, rlf } = m.limiters;
  for (let i = 0; i < LIMITED_REQUESTS; i++) {
    await Promise.all([
      counter.consume('mem-id'),
      log.consume('mem-id'),
      gcra.consume('mem-id'),
      rlf.consume('mem-id', 1),
    ]);
  }
  const rlfBytes = await usage(await find('rlf:mem-id'));
  const limited = (algorithm: string, ourBytes: number, note: string) =>
    memoryRow({
      name: `memory per limited key (${LIMITED_REQUESTS} requests), ${algorithm}`,
      peer: 'rate-limiter-flexible RateLimiterRedis',
      ours: ourBytes,
      peerBytes: rlfBytes,
      note,
    });
  rows.push(
    limited(
      'sliding window',
      await usage(counter.keyOf('mem-id')),
      'one string idx:previous:current, whatever the limit',
    ),
    limited(
      'sliding log',
      await usage(log.keyOf('mem-id')),
      'one ZSET member per admitted request: grows with the limit',
    ),
    limited('gcra', await usage(gcra.keyOf('mem-id')), 'one timestamp'),
  );
  return rows;
}

main().catch((error: unknown) => {
  spinner.stop();
  console.error(error);
  process.exitCode = 1;
});
