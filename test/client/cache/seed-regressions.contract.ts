import { defineScript } from '@slotforge/client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

/**
 * The seed CacheManager's bugs (/work/shared/seed/redis-caching-instructions.md), one test each, on every deployment.
 * Part 2 covers the ones in its modules (increment, hashSet, pub/sub, rate limiting, sessions).
 */
export default function seedRegressions(fixture: ContractFixture): void {
  it('seed getOrSet `if (cached)`: a cached 0, "", false or null is a hit, not a reload', async () => {
    const client = fixture.client();
    let loads = 0;
    for (const value of [0, '', false, null]) {
      await client.getOrSet(`seed:falsy:${String(value)}`, () => {
        loads++;
        return value;
      });
      expect(await client.getOrSet(`seed:falsy:${String(value)}`, () => 'reloaded')).toBe(value);
    }
    expect(loads).toBe(4);
  });

  it('seed JSON.stringify/parse: Dates, BigInt, Map and Set come back as themselves', async () => {
    const client = fixture.client();
    const value = {
      at: new Date(86_400_000),
      id: 9_007_199_254_740_993n,
      roles: new Set(['a']),
      prefs: new Map([['k', 1]]),
    };
    expect(await client.getOrSet('seed:json', () => value)).toEqual(value);
    const read = await client.get<typeof value>('seed:json');
    expect(read?.at).toBeInstanceOf(Date);
    expect(read?.id).toBe(9_007_199_254_740_993n);
  });

  it('seed invalidatePattern `KEYS` + `DEL ...keys`: finds keys on every master and deletes across slots', async () => {
    const client = fixture.client();
    const keys = Array.from({ length: 64 }, (_, i) => `seed:pattern:${i}`);
    await Promise.all(keys.map((k) => client.set(k, 1)));
    expect(await client.invalidatePattern('seed:pattern:*')).toBe(64);
    expect((await client.getMany(keys)).every((v) => v === undefined)).toBe(true);
  });

  it('seed getOrSet without single flight: concurrent cold calls load once', async () => {
    const client = fixture.client();
    let loads = 0;
    await Promise.all(
      Array.from({ length: 50 }, () =>
        client.getOrSet('seed:stampede', async () => {
          loads++;
          await new Promise((r) => setTimeout(r, 20));
          return 1;
        }),
      ),
    );
    expect(loads).toBe(1);
  });

  /**
   * A script that keeps the node serving `{slow}` busy for at least 1.2 s, far past the deadlines below. It spins on
   * `os.clock()` (the server's CPU time): on Redis 8 `redis.call('TIME')` inside a script returns the time the
   * script started (7.0.15 still advanced it), so a loop on it never ends (seen on 8.0.2: the script ran into BUSY).
   */
  const busy = defineScript('busy-1200ms', 'local t = os.clock() repeat until os.clock() - t > 1.2 return 1');

  /** Reads `{slow}:k` with `options` while another connection keeps that node busy; returns the error and the time. */
  async function readWhileBusy(options: { commandTimeoutMs: number; attemptTimeoutMs?: number }) {
    const client = fixture.client(options);
    const blocker = fixture.client({ namespace: client.options.namespace, attemptTimeoutMs: 5000 });
    await client.commands.ready();
    await blocker.commands.ready();
    // Both connections are up; give the script a head start (it runs for 1.2 s).
    const blocking = blocker.commands.eval(busy, [blocker.context.keys.key('{slow}:x')], [], { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const error = await client.get('{slow}:k').catch((e: unknown) => e);
    const elapsedMs = Date.now() - started;
    expect(await blocking).toBe(1);
    return { error, elapsedMs, key: `${client.options.namespace}:{slow}:k` };
  }

  it('seed `new Redis(config)` without deadlines: every call is bounded by its deadline', async () => {
    const { error, elapsedMs, key } = await readWhileBusy({ commandTimeoutMs: 200 });
    expect(elapsedMs).toBeLessThan(900);
    expect(error).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 200, key });
  });

  it('a read on the hot path (no timer per command, AttemptWatchdog) still fails by its deadline when the node hangs', async () => {
    // commandTimeoutMs >= 4 x attemptTimeoutMs: the first attempt takes the fast path, bounded by the watchdog alone.
    // Without a deadline on that attempt the read would wait for the script (about 1050 ms more).
    const { error, elapsedMs, key } = await readWhileBusy({ attemptTimeoutMs: 100, commandTimeoutMs: 400 });
    expect(elapsedMs).toBeLessThan(900);
    expect(error).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 400, key });
    expect((error as Error).message).toMatch(/Command timed out/);
  });

  it('msgpack codec: the same values round-trip, and values written with JSON stay readable', async () => {
    const json = fixture.client();
    const msgpack = fixture.client({ namespace: json.options.namespace, codec: 'msgpack' });
    const value = { at: new Date(5), n: 5n, m: new Map([[1, 2]]), s: new Set([1]), u: undefined, z: null, e: '' };
    await json.set('codec:old', value);
    await msgpack.set('codec:new', value);
    expect(await msgpack.get('codec:old')).toEqual(value);
    expect(await json.get('codec:new')).toEqual(value);
  });
}
