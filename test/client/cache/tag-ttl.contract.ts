import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually } from '../contract/index.ts';

/** Tag version keys expire (no key leaks forever), and an expired tag never revives entries it invalidated. */
export default function tagTtlContract(fixture: ContractFixture): void {
  it('tag version keys carry a TTL: tagTtlMs when created or invalidated, extended to the longest entry under the tag', async () => {
    const client = fixture.client({ tagTtlMs: 5_000 });
    const pttl = async (tag: string) => Number(await client.commands.call('PTTL', [client.store.tags.key(tag)]));
    await client.getOrSet('a', () => 'a1', { tags: ['t'], ttlMs: 60_000, jitter: 0 });
    expect(await pttl('t')).toBeGreaterThan(55_000);
    expect(await pttl('t')).toBeLessThanOrEqual(60_000);
    // A shorter entry under the same tag never shortens it.
    await client.getOrSet('b', () => 'b1', { tags: ['t'], ttlMs: 2_000, jitter: 0 });
    expect(await pttl('t')).toBeGreaterThan(55_000);
    // A plain write under a new tag: created with tagTtlMs; an entry living less does not extend it.
    await client.set('c', 'c1', { tags: ['u'], ttlMs: 3_000 });
    expect(await pttl('u')).toBeGreaterThan(3_000);
    expect(await pttl('u')).toBeLessThanOrEqual(5_000);
    expect(await client.get('c')).toBe('c1');
    // Invalidation: a new version living tagTtlMs; the entries under the tag are misses.
    await client.invalidateTags('t');
    expect(await pttl('t')).toBeGreaterThan(0);
    expect(await pttl('t')).toBeLessThanOrEqual(5_000);
    expect(await client.getOrSet('a', () => 'a2', { tags: ['t'], ttlMs: 60_000 })).toBe('a2');
    expect(await client.getOrSet('b', () => 'b2', { tags: ['t'], ttlMs: 2_000 })).toBe('b2');
  });

  it('an entry invalidated by its tag stays a miss after the tag key expired and was created again', async () => {
    const client = fixture.client({ tagTtlMs: 1_000 });
    const tagKey = client.store.tags.key('t');
    expect(await client.getOrSet('e', () => 'old', { tags: ['t'], ttlMs: 60_000 })).toBe('old');
    await client.invalidateTags('t');
    // Nobody writes under the tag any more: its version key expires after tagTtlMs (a counter read as 0 after expiry
    // would make 'old', recorded before the first invalidation, valid again).
    await eventually(async () => Number(await client.commands.call('EXISTS', [tagKey])) === 0, 5_000, 'tag key expiry');
    expect(await client.get('e')).toBeUndefined();
    expect(await client.getMany(['e'])).toEqual([undefined]);
    // A reader re-creates the tag key (a new random version) and must still treat 'old' as a miss.
    expect(await client.getOrSet('e', () => 'new', { tags: ['t'], ttlMs: 60_000 })).toBe('new');
    expect(Number(await client.commands.call('EXISTS', [tagKey]))).toBe(1);
    expect(await client.getOrSet('e', () => 'never', { tags: ['t'], ttlMs: 60_000 })).toBe('new');
  });

  it('rejects a tagTtlMs under 1000, naming the option, the value and the rule', () => {
    expect(() => fixture.client({ tagTtlMs: 10 })).toThrow(
      /option tagTtlMs must be a whole number of milliseconds >= 1000 \(got 10\)/,
    );
  });
}
