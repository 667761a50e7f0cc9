import {
  Batch,
  type BatchCommand,
  createBatch,
  createCounters,
  createHashes,
  isSlotforgeError,
  keySlot,
  type RedisCommands,
} from '@slotforge/client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually } from '../contract/index.ts';

/** Counters, hashes and batches: the same behaviour on standalone, cluster and sentinel. */
export default function structuresContract(fixture: ContractFixture): void {
  it('increments with a TTL set in the same call; the counter expires (seed regression: increment had no TTL)', async () => {
    const client = fixture.client();
    const counters = client.use(createCounters, {});
    expect(await counters.incr('visits', { ttlMs: 300 })).toBe(1);
    expect(await counters.incr('visits', { by: 4, ttlMs: 300 })).toBe(5);
    expect(await counters.decr('visits', { by: 2 })).toBe(3);
    const ttl = await counters.ttl('visits');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300);
    await eventually(async () => (await counters.get('visits')) === 0, 3000, 'counter expiry');
    expect(await counters.ttl('visits')).toBeUndefined();
  });

  it("keeps a fixed window with ttlMode 'create' and slides it with 'always'", async () => {
    const client = fixture.client();
    const counters = client.use(createCounters, {});
    await counters.incr('fixed', { ttlMs: 5_000 });
    await counters.incr('fixed', { ttlMs: 60_000 });
    expect(await counters.ttl('fixed')).toBeLessThanOrEqual(5_000);
    await counters.incr('sliding', { ttlMs: 5_000, ttlMode: 'always' });
    await counters.incr('sliding', { ttlMs: 60_000, ttlMode: 'always' });
    expect(await counters.ttl('sliding')).toBeGreaterThan(5_000);
    expect(await counters.reset('fixed', 'sliding', 'absent')).toBe(2);
  });

  it('rejects a bad increment naming the option, the value and the rule', async () => {
    const client = fixture.client();
    const counters = client.use(createCounters, {});
    const error = await counters.incr('x', { by: 1.5 }).catch((e: unknown) => e);
    expect(isSlotforgeError(error, 'E_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toBe('option by must be an integer >= -9007199254740991 (got 1.5)');
    await expect(counters.incr('x', { ttlMode: 'never' as 'always' })).rejects.toThrow(/ttlMode must be one of/);
  });

  it('writes typed hash fields and the TTL in one round trip; falsy fields are values, not misses', async () => {
    const client = fixture.client();
    const hashes = client.use(createHashes, {});
    const at = new Date('2024-05-06T07:08:09.010Z');
    expect(
      await hashes.set('user:1', { at, big: 2n ** 65n, zero: 0, empty: '', no: false, nil: null }, { ttlMs: 10_000 }),
    ).toBe(6);
    const pttl = Number(await client.commands.call('PTTL', [client.context.keys.key('user:1')]));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(10_000);
    expect(await hashes.get('user:1', 'at')).toEqual(at);
    expect(await hashes.get('user:1', 'big')).toBe(2n ** 65n);
    expect(await hashes.getFields('user:1', ['zero', 'empty', 'no', 'nil', 'missing'])).toEqual([
      0,
      '',
      false,
      null,
      undefined,
    ]);
    expect(Object.keys(await hashes.getAll('user:1')).sort()).toEqual(['at', 'big', 'empty', 'nil', 'no', 'zero']);
    expect(await hashes.delete('user:1', 'zero', 'missing')).toBe(1);
    expect(await hashes.get('user:1', 'zero')).toBeUndefined();
    expect(await hashes.incr('stats', 'views', 3, { ttlMs: 10_000 })).toBe(3);
    expect(await hashes.incr('stats', 'views')).toBe(4);
    expect(await hashes.counter('stats', 'views')).toBe(4);
    expect(await hashes.getAll('absent')).toEqual({});
    await expect(hashes.set('user:2', {})).rejects.toThrow('option fields must be an object with at least one field');
  });

  it('reads and writes 300 keys of ~300 slots in ONE batch/mget call each (grouped per node, never CROSSSLOT)', async () => {
    const client = fixture.client();
    let batches = 0;
    const counting = new Proxy(client.commands, {
      get(target, property, receiver) {
        if (property === 'batch' || property === 'mget') {
          return (commands: readonly (BatchCommand | string)[], options?: object) => {
            batches++;
            return (target[property] as (c: unknown, o?: object) => Promise<unknown>).call(target, commands, options);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as RedisCommands;
    const batch = new Batch({ ...client.context, commands: counting });
    const keys = Array.from({ length: 300 }, (_, i) => `item:${i}`);
    expect(new Set(keys.map(keySlot)).size).toBeGreaterThan(250);
    const result = await batch.setMany(
      keys.map((k, i) => [k, { i, at: new Date(i) }] as const),
      { ttlMs: 60_000 },
    );
    expect(result).toEqual({ written: 300, failed: [] });
    expect(batches).toBe(1);
    const values = await batch.getMany<{ i: number; at: Date }>([...keys, 'item:missing']);
    expect(values.slice(0, 300).map((v) => v?.i)).toEqual(keys.map((_, i) => i));
    expect(values[7]?.at).toEqual(new Date(7));
    expect(values[300]).toBeUndefined();
    expect(batches).toBe(2);
    expect(await batch.deleteMany(keys)).toBe(300);
    const plain = client.use(createBatch, {});
    expect(await plain.setMany({ a: 0, b: '' })).toEqual({ written: 2, failed: [] });
    expect(await plain.getMany(['a', 'b', 'c'])).toEqual([0, '', undefined]);
  });
}
