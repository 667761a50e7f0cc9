import { isSlotforgeError, type SlotforgeError } from '@slotforge/client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

/**
 * Issue 16 item 2 and 3: values the codecs cannot represent are refused with an error naming what and where, and
 * nothing is stored (a function used to be stored as `{}` and read back as `undefined` for the whole TTL).
 */
export default function unstorableValues(fixture: ContractFixture): void {
  async function refused(promise: Promise<unknown>): Promise<SlotforgeError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isSlotforgeError(error)) throw new Error(`expected a SlotforgeError, got ${String(error)}`);
    return error;
  }

  it('unstorable: set of a function, a Symbol or a nested function is refused (E_CODEC naming it); nothing stored', async () => {
    const client = fixture.client();
    const cases: [string, unknown, RegExp][] = [
      ['fn', () => 1, /the value is a function/],
      ['sym', Symbol('s'), /the value is Symbol\(s\)/],
      ['nested', { a: 1, onClick: () => 1 }, /property 'onClick' is a function/],
      ['nested-sym', { list: [1, Symbol.iterator] }, /property '1' is Symbol\(Symbol.iterator\)/],
    ];
    for (const [key, value, message] of cases) {
      const error = await refused(client.set(`unstorable:${key}`, value));
      expect(error.code).toBe('E_CODEC');
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`unstorable:${key}`);
      expect(await client.commands.get(client.context.keys.key(`unstorable:${key}`))).toBeNull();
    }
    // The msgpack codec refuses the same values.
    const packed = fixture.client({ codec: 'msgpack' });
    const error = await refused(packed.set('unstorable:mp', { cb: () => 1 }));
    expect(error.code).toBe('E_CODEC');
    expect(error.message).toMatch(/property 'cb' is a function/);
  });

  it('unstorable: set(key, undefined) is refused (E_INVALID_OPTION value), a nested undefined is stored', async () => {
    const client = fixture.client();
    const error = await refused(client.set('unstorable:undef', undefined));
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.option).toBe('value');
    expect(error.message).toMatch(/undefined means "not found"/);
    expect(await client.commands.get(client.context.keys.key('unstorable:undef'))).toBeNull();
    await client.set('unstorable:inner', { a: undefined, b: 1 });
    expect(await client.get('unstorable:inner')).toEqual({ a: undefined, b: 1 });
  });

  it('unstorable: a loader returning a function fails with E_LOADER, stores nothing, and the next call loads', async () => {
    const client = fixture.client();
    const error = await refused(client.getOrSet('unstorable:loader', () => () => 1));
    expect(error.code).toBe('E_LOADER');
    expect(error.message).toMatch(/returned a value that cannot be cached: .*the value is a function/);
    expect(await client.commands.get(client.context.keys.key('unstorable:loader'))).toBeNull();
    expect(await client.getOrSet('unstorable:loader', () => 'real')).toBe('real');
    expect(await client.get('unstorable:loader')).toBe('real');
  });

  it('unstorable: a loader returning undefined still means "not found" (cached only with negativeTtlMs)', async () => {
    const client = fixture.client();
    expect(await client.getOrSet('unstorable:none', () => undefined)).toBeUndefined();
    expect(await client.commands.get(client.context.keys.key('unstorable:none'))).toBeNull();
    expect(await client.getOrSet('unstorable:neg', () => undefined, { negativeTtlMs: 60_000 })).toBeUndefined();
    expect(await client.commands.get(client.context.keys.key('unstorable:neg'))).not.toBeNull();
    let loads = 0;
    await client.getOrSet(
      'unstorable:neg',
      () => {
        loads++;
        return 1;
      },
      { negativeTtlMs: 60_000 },
    );
    expect(loads).toBe(0);
  });

  it('unstorable: a NaN or Infinity TTL is reported with its value, not "(got null)"', async () => {
    const client = fixture.client();
    for (const [ttlMs, shown] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ] as const) {
      const error = await refused(client.set('unstorable:ttl', 1, { ttlMs }));
      expect(error.code).toBe('E_INVALID_OPTION');
      expect(error.option).toBe('ttlMs');
      expect(error.message).toContain(`(got ${shown})`);
      const viaGetOrSet = await refused(client.getOrSet('unstorable:ttl', () => 1, { ttlMs }));
      expect(viaGetOrSet.message).toContain(`(got ${shown})`);
    }
  });

  it('unstorable: a TTL beyond what a number holds exactly is refused by name, not by Redis (outsider test)', async () => {
    const client = fixture.client();
    // Before: SET ... PX 1e20 reached Redis ("ERR value is not an integer or out of range", no option named), and
    // getOrSet returned the value having stored nothing.
    for (const call of [
      () => client.set('unstorable:ttl', 1, { ttlMs: 1e20 }),
      () => client.getOrSet('unstorable:ttl', () => 1, { ttlMs: 1e20 }),
    ]) {
      const error = await refused(call());
      expect(error.code).toBe('E_INVALID_OPTION');
      expect(error.option).toBe('ttlMs');
      expect(error.message).toContain('from 1 to 9007199254740991');
    }
    // A year is fine.
    await client.set('unstorable:ttl', 1, { ttlMs: 365 * 24 * 3_600_000 });
  });
}
