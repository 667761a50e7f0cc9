import { createClient, isSlotforgeError, resolveConnectionOptions, type SlotforgeClient } from '@slotforge/client';
import { Testing } from 'cdk8s';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisSentinel } from '../../../infra/index.ts';
import { command } from '../../../runtime/redis/index.ts';
import { useSentinel } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Issue 16 item 5: Sentinel as docs/sentinel-setup.md says it works, against real redis-sentinel processes that
 * require their own password (as the RedisSentinel chart's do) and data nodes with another one.
 */
const DATA_PASSWORD = 'data-secret';
const SENTINEL_PASSWORD = 's3nt/nel&pass';
/** The chart's default downAfterMs, so the failover case below measures what a default deployment does. */
const CHART_DOWN_AFTER_MS = new RedisSentinel(Testing.chart(), 'defaults', {}).downAfterMs;
const sentinel = useSentinel({
  replicas: 1,
  sentinels: 3,
  password: DATA_PASSWORD,
  sentinelPassword: SENTINEL_PASSWORD,
  downAfterMs: CHART_DOWN_AFTER_MS,
});

const clients: SlotforgeClient[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
});
function open(options: Parameters<typeof createClient>[0]): SlotforgeClient {
  const client = createClient({ namespace: 'sa', ...options });
  clients.push(client);
  return client;
}

function hosts(): string {
  return sentinel()
    .sentinelAddresses()
    .map((s) => `${s.host}:${s.port}`)
    .join(',');
}

describe('Sentinel with auth on the sentinels', () => {
  it('connects from a redis+sentinel:// URL carrying both passwords (user info: data nodes; sentinelPassword: sentinels)', async () => {
    const url = `redis+sentinel://:${encodeURIComponent(DATA_PASSWORD)}@${hosts()}/mymaster?sentinelPassword=${encodeURIComponent(SENTINEL_PASSWORD)}`;
    const client = open({ url });
    await client.set('url', 1);
    expect(await client.get('url')).toBe(1);
    expect(client.commands.mode).toBe('sentinel');
  });

  it('combines a URL with sentinel: { password } (no longer "exactly one way to reach Redis (got 2)")', async () => {
    const client = open({
      url: `redis+sentinel://${hosts()}/mymaster`,
      password: DATA_PASSWORD,
      sentinel: { password: SENTINEL_PASSWORD },
    });
    await client.set('combined', 2);
    expect(await client.get('combined')).toBe(2);
    // Naming the sentinels twice is still refused, naming the rule.
    expect(() =>
      createClient({
        url: `redis+sentinel://${hosts()}/mymaster`,
        sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: 'mymaster' },
      }),
    ).toThrow(/exactly one way to reach Redis \(with a url, sentinel may hold only \{ password, username \}\)/);
  });

  it('without the sentinels password the caller sees "all sentinels unreachable: NOAUTH", not a bare E_TIMEOUT', async () => {
    const client = open({
      url: `redis+sentinel://${hosts()}/mymaster`,
      password: DATA_PASSWORD,
      commandTimeoutMs: 2000,
    });
    const started = Date.now();
    const error = await client.set('noauth', 1).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(isSlotforgeError(error, 'E_CONNECTION')).toBe(true);
    expect((error as Error).message).toMatch(/SET 'sa:noauth' (failed|not sent): all sentinels unreachable: NOAUTH/);
    expect(String(((error as Error).cause as Error).message)).toMatch(/All sentinels are unreachable.*NOAUTH/);
    const notReady = await client.ready().catch((e: unknown) => e);
    expect((notReady as Error).message).toMatch(/not ready within .*: all sentinels unreachable: NOAUTH/);
  });

  it('refused credentials fail each call after one attempt, not at the 12 s deadline, and keep saying why', async () => {
    const client = open({
      url: `redis+sentinel://${hosts()}/mymaster?sentinelPassword=wrong`,
      password: DATA_PASSWORD,
    });
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const error = await client.set(`refused:${i}`, 1).catch((e: unknown) => e);
      took.push(Date.now() - started);
      expect(isSlotforgeError(error, 'E_CONNECTION'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(/all sentinels unreachable: WRONGPASS/);
    }
    console.log(`wrong sentinel password, 5 sequential writes: ${took.join(', ')} ms (deadline 12000)`);
    // The first waits at most one attempt (2 x attemptTimeoutMs) for ioredis to try every sentinel; the rest, none.
    expect(took[0]).toBeLessThan(4000);
    for (const ms of took.slice(1)) expect(ms).toBeLessThan(1000);
  });

  it('retries NOREPLICAS (a write Redis refused) within the deadline: the write lands once replicas are back', async () => {
    const { primary, replicas } = sentinel();
    const replica = replicas[0];
    if (!replica) throw new Error('no replica');
    const client = open({
      sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: 'mymaster', password: SENTINEL_PASSWORD },
      password: DATA_PASSWORD,
    });
    await client.set('norep', 'before');
    await command(primary, 'CONFIG', 'SET', 'min-replicas-to-write', '1', 'min-replicas-max-lag', '1');
    replica.process.signal('SIGSTOP');
    try {
      await eventually(
        async () =>
          String(await command(primary, 'SET', 'sa:probe', '1').catch((e: Error) => e.message)).startsWith(
            'NOREPLICAS',
          ),
        10_000,
        'the primary to refuse writes with NOREPLICAS',
      );
      const writing = client.set('norep', 'after');
      await new Promise((r) => setTimeout(r, 700));
      replica.process.signal('SIGCONT');
      await writing;
      expect(await client.get('norep')).toBe('after');
    } finally {
      replica.process.signal('SIGCONT');
      await command(primary, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
    }
  }, 30_000);

  it(`the default deadline covers the chart's default failover (downAfterMs ${CHART_DOWN_AFTER_MS}): primary paused 8 s, 0 failed writes`, async () => {
    const options = {
      sentinel: { sentinels: sentinel().sentinelAddresses(), masterName: 'mymaster', password: SENTINEL_PASSWORD },
      password: DATA_PASSWORD,
    };
    // The default is derived from the chart's default downAfterMs: + 7 s (switch-master measured at + 1.2 to 2.4 s).
    expect(resolveConnectionOptions(options).commandTimeoutMs).toBeGreaterThanOrEqual(CHART_DOWN_AFTER_MS + 7000);
    const client = open({ ...options, circuitBreaker: false });
    await client.set('w', 0);
    const old = sentinel().primary;
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const writer = (async () => {
      for (let i = 1; !stop; i++) {
        try {
          await client.set('w', i);
          ok++;
        } catch (error) {
          failures.push((error as Error).message);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    old.process.signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, 8000));
    old.process.signal('SIGCONT');
    await eventually(async () => (await sentinel().currentPrimary()).port !== old.port, 20_000, 'a new primary');
    const okAtSwitch = ok;
    await eventually(() => ok >= okAtSwitch + 10 || failures.length > 0, 20_000, 'writes after the failover');
    stop = true;
    await writer;
    console.info(`sentinel pause 8 s: ${ok} writes ok, ${failures.length} failed`);
    expect(failures).toEqual([]);
  }, 60_000);
});
