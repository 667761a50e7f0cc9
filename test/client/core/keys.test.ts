import { defineKey, groupBySlot, hasHashTag, hashTag, Keyspace, keySlot } from '@slotforge/client';
import { describe, expect, it } from 'vitest';

describe('key slots', () => {
  it('matches the slots Redis computes (CLUSTER KEYSLOT reference values)', () => {
    // Reference values from the Redis Cluster spec and `redis-cli CLUSTER KEYSLOT`.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });

  it('groups keys by slot keeping first-appearance order', () => {
    const groups = groupBySlot(['a{x}', 'b', 'c{x}']);
    expect(groups.get(keySlot('x'))).toEqual(['a{x}', 'c{x}']);
  });
});

describe('keys', () => {
  it('prefixes and strips the namespace, and confines SCAN patterns to it', () => {
    const ks = new Keyspace('shop');
    expect(ks.key('user:1')).toBe('shop:user:1');
    expect(ks.strip('shop:user:1')).toBe('user:1');
    expect(ks.pattern('user:*')).toBe('shop:user:*');
    expect(new Keyspace('').key('k')).toBe('k');
    expect(ks.child('v2').key('k')).toBe('shop:v2:k');
  });

  it('builds typed keys, hash-tagging the entity when asked', () => {
    const user = defineKey('user', (id: number) => [id]);
    const cart = defineKey('cart', (user: string, item: string) => [user, item], { tag: true });
    expect(user(7)).toBe('user:7');
    expect(cart('u1', 'i9')).toBe('cart:{u1}:i9');
    expect(keySlot(cart('u1', 'a'))).toBe(keySlot(cart('u1', 'b')));
    expect(hasHashTag(cart('u1', 'a'))).toBe(true);
  });

  it('rejects keys and tags that would break routing, naming the rule', () => {
    expect(() => hashTag('a}b')).toThrow("option hashTag must be a non-empty string without { or } (got 'a}b')");
    expect(() => new Keyspace('a*')).toThrow(/option namespace must be/);
    expect(() => new Keyspace('ns').key('')).toThrow("option key must be a non-empty string (got '')");
    expect(() => defineKey('user', (id: string) => [id])('')).toThrow(/user key part 0 must be a non-empty value/);
  });
});
