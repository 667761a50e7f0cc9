/**
 * `npm run bench [-- --json FILE] [--quick] [--rounds N]`: our client against named peers, measured in the SAME run on the SAME
 * local Redis Cluster (3 masters x 1 replica, started here and stopped at the end). Prints a table and writes the
 * rows (`name`, `ours`, `peer`, `peerOps`, `ratio`, ...) to FILE. Not a timed test: figures depend on the machine.
 *
 * Every loop is bounded in count and time (bench/lib.ts `measure`). Each row alternates peer and ours rounds and
 * reports the median of the paired ratios, so a burst of load from another process on a shared machine hurts both
 * sides of a pair alike instead of deciding the result.
 *
 * Ours is the built package (`client/dist`, tsc output: what `npm install @slotforge/client` gives), like the peers.
 * Run from its TypeScript source through tsx, every named closure of ours pays esbuild's `keepNames` wrapper
 * (`__name`): measured 2026-12-05, a cache hit at concurrency 1 cost 8 % more wall time and 24 % more user CPU that
 * way than built, which is a cost of the bench's loader, not of the client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis, { createCluster, Keyv } from '@keyv/redis';
import { createBatch, createClient, createRateLimiter, keySlot, type SlotforgeClient } from '@slotforge/client';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { Cacheable } from 'cacheable';
import Table from 'cli-table3';
import ora from 'ora';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { type LocalCluster, startLocalCluster } from '../runtime/redis/index.ts';
import { benchCases, type Case, HOT_KEYS, VALUE } from './cases.ts';
import {
  type Bounds,
  formatRow,
  type Measurement,
  measure,
  measureInterleaved,
  parseArgs,
  type Row,
  toRow,
} from './lib.ts';
import { memoryRows } from './memory.ts';

const args = parseArgs(process.argv.slice(2));
/** Per round: whichever comes first. A full run is about 12 rows x (14 rounds x maxMs + warm-up) plus setup (3 min). */
const BOUNDS: Bounds = args.quick ? { maxOps: 20_000, maxMs: 200 } : { maxOps: 200_000, maxMs: 500 };
const ROUNDS = args.rounds ?? (args.quick ? 2 : 7);
/** Turn length of the interleaved rounds: a few hundred calls at concurrency 1, short against a load's swings. */
const SLICE_MS = 25;
/**
 * Warm-up per side before the rounds, long enough for V8 to optimize both code paths. With 500 calls and 5 rounds the
 * first row (hit, concurrency 1) read 0.93-0.95x in three runs; with 5000 calls and 7 rounds, 0.98x in two.
 */
const WARM_UP: Bounds = args.quick ? { maxOps: 500, maxMs: 300 } : { maxOps: 5_000, maxMs: 1_000 };
/** Which build of ours is measured (see the header): the built package unless run with the source condition. */
const CLIENT_BUILD = import.meta.resolve('@slotforge/client').endsWith('/dist/index.js')
  ? 'the built package (client/dist)'
  : `its TypeScript source through tsx (${import.meta.resolve('@slotforge/client')}): slower than what users run`;
const spinner = ora({ stream: process.stderr, isEnabled: Boolean(process.stderr.isTTY) });

function progress(message: string): void {
  if (spinner.isEnabled) spinner.text = message;
  else console.error(message);
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
    if (c.skipped) {
      progress(`${label}: ours, round ${round}/${ROUNDS}`);
      ours.push(await measure(c.ours, c.concurrency, BOUNDS));
      continue;
    }
    // Ours and the peer take turns every SLICE_MS within the round, so a load that comes and goes hits both.
    progress(`${label}: ours and ${c.peer} interleaved, round ${round}/${ROUNDS}`);
    const pair = await measureInterleaved(c.ours, c.theirs, c.concurrency, BOUNDS, SLICE_MS);
    ours.push(pair.ours);
    peers.push(pair.theirs);
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

    // Data: the same value under our format and under plain JSON for the raw peer (bench/cases.ts reads it).
    const json = JSON.stringify(VALUE);
    const hot = Array.from({ length: HOT_KEYS }, (_, i) => `hot:${i}`);
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
    const cases = benchCases({
      client,
      near,
      uncoalesced,
      raw,
      hot,
      bento,
      cacheable,
      cacheableSkipped,
      cacheableNote,
      rlf,
      limiters: { gcra, sliding, slidingLog },
      batch,
      ourKeys,
      rawKeys,
    });
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
    console.log(`ours: ${CLIENT_BUILD}`);
    if (args.json) {
      writeFileSync(
        args.json,
        `${JSON.stringify({ bounds: BOUNDS, rounds: ROUNDS, node: process.version, client: CLIENT_BUILD, rows }, null, 2)}\n`,
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

main().catch((error: unknown) => {
  spinner.stop();
  console.error(error);
  process.exitCode = 1;
});
