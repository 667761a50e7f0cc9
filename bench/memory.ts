/**
 * The memory rows of `npm run bench`: bytes Redis holds per cached entry and per rate-limited id, ours against peers.
 */
import type { RateLimiter, SlotforgeClient } from '@slotforge/client';
import type { BentoCache, bentostore } from 'bentocache';
import type { Cacheable } from 'cacheable';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import type { LocalCluster } from '../runtime/redis/index.ts';
import { memoryRow, type Row } from './lib.ts';

/** A value whose JSON text is exactly 100 bytes, for the memory rows (issue 16). */
const VALUE_100 = (() => {
  const base = { id: 42, name: 'Ada Lovelace', email: 'ada@example.com', note: '' };
  const value = { ...base, note: 'x'.repeat(100 - JSON.stringify(base).length) };
  if (JSON.stringify(value).length !== 100) throw new Error('VALUE_100 is not 100 bytes of JSON');
  return value;
})();
/** Requests admitted per id before the limited-key memory rows are read. */
const LIMITED_REQUESTS = 100;

/** What the memory rows read. */
export interface MemoryInputs {
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
export async function memoryRows(m: MemoryInputs): Promise<Row[]> {
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
