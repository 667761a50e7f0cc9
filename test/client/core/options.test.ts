import {
  type Clock,
  CONNECTION_DEFAULTS,
  classifyFailure,
  isSlotforgeError,
  parseRedisUrl,
  resolveConnectionOptions,
  SlotforgeError,
  withRetry,
} from '@slotforge/client';
import { describe, expect, it } from 'vitest';

describe('connection options', () => {
  it('resolves defaults from one constant', () => {
    const resolved = resolveConnectionOptions({});
    expect(resolved.target).toEqual({ mode: 'standalone', host: '127.0.0.1', port: 6379 });
    expect(resolved.commandTimeoutMs).toBe(CONNECTION_DEFAULTS.commandTimeoutMs);
    expect(resolved.slotsRefreshIntervalMs).toBe(1000);
  });

  it('parses standalone, cluster and sentinel URLs', () => {
    expect(parseRedisUrl('redis://u:p%40ss@h:7000/2')).toEqual({
      tls: false,
      username: 'u',
      password: 'p@ss',
      db: 2,
      target: { mode: 'standalone', host: 'h', port: 7000 },
    });
    expect(parseRedisUrl('redis+cluster://a:1,b:2').target).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    });
    expect(parseRedisUrl('rediss+sentinel://s1:26379,s2:26379/mymaster')).toMatchObject({
      tls: true,
      target: { mode: 'sentinel', masterName: 'mymaster' },
    });
  });

  it('reads both credentials from a Sentinel URL: user info for the data nodes, sentinelPassword/Username for the sentinels', () => {
    expect(
      parseRedisUrl(
        'redis+sentinel://app:d%40ta@s1:26379,s2:26379/sessions/3?sentinelPassword=s%26p&sentinelUsername=sa',
      ),
    ).toEqual({
      tls: false,
      username: 'app',
      password: 'd@ta',
      db: 3,
      target: {
        mode: 'sentinel',
        sentinels: ['s1', 's2'].map((host) => ({ host, port: 26379 })),
        masterName: 'sessions',
        sentinelPassword: 's&p',
        sentinelUsername: 'sa',
      },
    });
    // sentinel.password next to the url overrides the url's.
    const combined = resolveConnectionOptions({
      url: 'redis+sentinel://s1:26379/m?sentinelPassword=old',
      sentinel: { password: 'new' },
    });
    expect(combined.target).toMatchObject({ mode: 'sentinel', sentinelPassword: 'new', masterName: 'm' });
    expect(combined.commandTimeoutMs).toBe(12_000);
  });

  it('refuses unknown URL parameters and never prints a password in the error', () => {
    const error = refusal({ url: 'redis+sentinel://:secret1@s1:26379/m?sentinelPassword=secret2&sentinel_pw=x' });
    expect(error?.message).toContain(
      "query parameters among sentinelPassword, sentinelUsername (unknown 'sentinel_pw')",
    );
    expect(error?.message).not.toMatch(/secret/);
    expect(() => resolveConnectionOptions({ url: 'redis://h:1?x=1' })).toThrow(/no query parameters \(unknown 'x'\)/);
    expect(() => resolveConnectionOptions({ url: 'redis://h:1', sentinel: { password: 'p' } })).toThrow(
      /option sentinel must be absent unless url is a redis\+sentinel:\/\/ url/,
    );
  });

  it('names the option, the rule and the value on bad input', () => {
    const cases: [object, string][] = [
      [{ port: 70000 }, 'option port must be an integer between 1 and 65535 (got 70000)'],
      [{ commandTimeoutMs: 0 }, 'option commandTimeoutMs must be a whole number of milliseconds >= 1 (got 0)'],
      [{ url: 'http://x' }, 'option url must be redis://'],
      [{ cluster: { nodes: [] } }, 'option cluster.nodes must be a non-empty array of { host, port } (got [])'],
      [{ cluster: { nodes: [{ host: 'a', port: 1 }] }, db: 3 }, 'option db must be 0 on a cluster'],
      [
        { url: 'redis://a:1', host: 'b' },
        'option url/host/cluster/sentinel must be exactly one way to reach Redis (with a url, sentinel may hold only { password, username }) (got 2)',
      ],
      [
        { sentinel: { sentinels: [{ host: 'a', port: 1 }], masterName: '' } },
        "option sentinel.masterName must be a non-empty string (got '')",
      ],
    ];
    for (const [options, message] of cases) {
      const caught = refusal(options);
      expect(isSlotforgeError(caught, 'E_INVALID_OPTION'), JSON.stringify(options)).toBe(true);
      expect((caught as Error).message).toContain(message);
    }
  });
});

/** A manual clock: timers fire when the test advances time. */
function manualClock() {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.add(t);
      return t;
    },
    clearTimeout: (t) => void timers.delete(t as { at: number; fn: () => void }),
  };
  const advance = async (ms: number) => {
    const target = now + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      const next = [...timers].sort((a, b) => a.at - b.at)[0];
      if (!next || next.at > target) break;
      timers.delete(next);
      now = next.at;
      next.fn();
    }
    now = target;
    await new Promise((r) => setImmediate(r));
  };
  return { clock, advance };
}

describe('retry loop', () => {
  it('classifies failover errors as retryable and timeouts as ambiguous', () => {
    expect(classifyFailure(new Error('CLUSTERDOWN The cluster is down'))).toBe('retry');
    expect(classifyFailure(new Error('TRYAGAIN Multiple keys request during rehashing of slot'))).toBe('retry');
    expect(classifyFailure(new Error('Command timed out'))).toBe('ambiguous');
    // A pipeline cut by a closed connection after a partial reply: ioredis aborts the rest, which may have run.
    expect(classifyFailure(new Error('Command aborted due to connection close'))).toBe('ambiguous');
    const unblocked = 'UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)';
    expect(classifyFailure(new Error(unblocked))).toBe('ambiguous');
    // An operator's CLIENT UNBLOCK ... ERROR is final, not retried until the deadline.
    expect(classifyFailure(new Error('UNBLOCKED client unblocked via CLIENT UNBLOCK'))).toBe('fatal');
    expect(classifyFailure(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(
      'fatal',
    );
  });

  it('retries CLUSTERDOWN until it clears, within the deadline', async () => {
    const { clock, advance } = manualClock();
    let calls = 0;
    const result = withRetry(
      async () => {
        calls++;
        if (calls < 4) throw new Error('CLUSTERDOWN The cluster is down');
        return 'ok';
      },
      {
        command: 'GET',
        key: 'k',
        timeoutMs: 5000,
        idempotent: true,
        baseDelayMs: 100,
        maxDelayMs: 500,
        clock,
        random: () => 0.99,
      },
    );
    await advance(2000);
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(4);
  });

  it('gives up at the deadline with E_CLUSTER_DOWN, the key, the timeout, attempts and the cause', async () => {
    const { clock, advance } = manualClock();
    const result = withRetry(
      async () => {
        throw new Error('CLUSTERDOWN The cluster is down');
      },
      {
        command: 'GET',
        key: 'k',
        timeoutMs: 1000,
        idempotent: true,
        baseDelayMs: 100,
        maxDelayMs: 200,
        clock,
        random: () => 0.5,
      },
    );
    const settled = result.catch((e: unknown) => e);
    await advance(1500);
    const error = (await settled) as SlotforgeError;
    expect(error).toBeInstanceOf(SlotforgeError);
    expect(error).toMatchObject({ code: 'E_CLUSTER_DOWN', key: 'k', timeoutMs: 1000 });
    expect(error.attempts).toBeGreaterThan(3);
    expect((error.cause as Error).message).toMatch(/^CLUSTERDOWN/);
  });

  it('does not retry a non-idempotent command after an ambiguous timeout', async () => {
    const { clock } = manualClock();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error('Command timed out');
        },
        {
          command: 'INCR',
          key: 'c',
          timeoutMs: 1000,
          idempotent: false,
          baseDelayMs: 10,
          maxDelayMs: 10,
          clock,
          random: () => 0.5,
        },
      ),
    ).rejects.toMatchObject({ code: 'E_TIMEOUT', key: 'c' });
    expect(calls).toBe(1);
  });

  it('bounds a hanging attempt by the deadline', async () => {
    const { clock, advance } = manualClock();
    const result = withRetry(() => new Promise<never>(() => {}), {
      command: 'GET',
      timeoutMs: 300,
      idempotent: true,
      baseDelayMs: 10,
      maxDelayMs: 10,
      clock,
      random: () => 0.5,
    }).catch((e: unknown) => e);
    await advance(301);
    expect(await result).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 300 });
  });

  it('refuses a timer duration Node cannot wait for, by name (a longer timer fires at once)', () => {
    for (const [options, option] of [
      [{ url: 'redis://h:6379', commandTimeoutMs: 3e9 }, 'commandTimeoutMs'],
      [{ url: 'redis://h:6379', attemptTimeoutMs: 2 ** 31 }, 'attemptTimeoutMs'],
      [{ url: 'redis://h:6379', circuitBreaker: { openMs: 1e12 } }, 'circuitBreaker.openMs'],
    ] as const) {
      expect(() => resolveConnectionOptions(options)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION', option, message: expect.stringContaining('2147483647') }),
      );
    }
    expect(resolveConnectionOptions({ url: 'redis://h:6379', commandTimeoutMs: 2 ** 31 - 1 }).commandTimeoutMs).toBe(
      2 ** 31 - 1,
    );
  });

  it("says a '#' in a URL password must be percent-encoded, and masks the password to its end", () => {
    const error = refusal({ url: 'redis+sentinel://app:secret@h:26379/m?sentinelPassword=se#cret' });
    expect(error?.message).toContain("a '#', '/', '@' or '?' in a password must be percent-encoded");
    expect(error?.message).not.toContain('cret');
    expect(error?.message).not.toContain('secret');
    // A '/' in the user-info password (outsider review: 'user:pa' was shown).
    const slash = refusal({ url: 'redis://app:x9q/zz7w@h:6379' });
    expect(slash?.message).toContain('must be percent-encoded');
    expect(slash?.message).not.toMatch(/x9q|zz7w/);
  });
});

/** The error resolveConnectionOptions throws for `options`, or undefined when it accepts them. */
function refusal(options: Parameters<typeof resolveConnectionOptions>[0]): Error | undefined {
  try {
    resolveConnectionOptions(options);
  } catch (error) {
    return error as Error;
  }
  return undefined;
}
