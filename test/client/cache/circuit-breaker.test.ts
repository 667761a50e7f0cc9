import { createClient, isSlotforgeError, METRIC_NAMES, type SlotforgeClient } from '@slotforge/client';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../runtime/redis/index.ts';
import { harnessRegistry, harnessTempDir } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Issue 16 item 4: while Redis is unreachable, every sequential getOrSet used to wait its whole deadline before the
 * loader ran. With the circuit breaker, after a few unanswered attempts the cache stops asking Redis: getOrSet
 * answers from grace or the loader at once, a background PING probes, and the first answer closes the breaker.
 * Real redis-server processes, frozen with SIGSTOP or killed and restarted on the same port.
 */
const PASSWORD = 'breaker-secret';
/** A call short-circuited by the open breaker answers within this (no round trip; slack for a loaded machine). */
const SHORT_CIRCUIT_MS = 150;
const servers: RedisServer[] = [];
afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
});

async function start(dir: string, port?: number): Promise<RedisServer> {
  const server = await startRedisServer({
    dir,
    password: PASSWORD,
    registry: harnessRegistry(),
    ...(port === undefined ? {} : { port }),
  });
  servers.push(server);
  return server;
}

async function metric(registry: Registry, name: string): Promise<{ value: number; labels: object }[]> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (found?.values ?? []) as { value: number; labels: object }[];
}

function client(server: RedisServer, registry: Registry, namespace: string): SlotforgeClient {
  return createClient({ host: server.host, port: server.port, password: PASSWORD, namespace, deps: { registry } });
}

/** Sequential getOrSet calls on new keys while Redis is unreachable: ms per call and what each returned. */
async function timedCalls(c: SlotforgeClient, count: number, prefix: string): Promise<{ ms: number; value: string }[]> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const value = await c.getOrSet(`${prefix}:${i}`, () => `loaded-${i}`, { ttlMs: 60_000 });
    out.push({ ms: performance.now() - started, value });
  }
  return out;
}

describe('circuit breaker (real redis-server)', () => {
  it('SIGSTOP: opens after unanswered attempts, serves loader and grace at once, closes when Redis answers again', async () => {
    const server = await start(harnessTempDir('breaker-stop'));
    const registry = new Registry();
    const c = client(server, registry, 'stop');
    const events: string[] = [];
    for (const e of ['breaker:open', 'breaker:probe', 'breaker:close'] as const)
      c.events.on(e, () => void events.push(e));
    try {
      const grace = { ttlMs: 1, graceMs: 600_000 };
      expect(await c.getOrSet('known', () => 'cached', grace)).toBe('cached');
      await new Promise((r) => setTimeout(r, 5));
      server.process.signal('SIGSTOP');

      // The first call waits until the breaker opens (3 unanswered attempts of ~1 s), not its 8 s deadline.
      const first = await timedCalls(c, 1, 'first');
      expect(first[0]?.value).toBe('loaded-0');
      expect(first[0]?.ms).toBeLessThan(6000);
      expect(c.commands.breaker?.state).not.toBe('closed');
      expect(events[0]).toBe('breaker:open');

      const calls = await timedCalls(c, 20, 'open');
      expect(calls.map((x) => x.value)).toEqual(calls.map((_, i) => `loaded-${i}`));
      expect(Math.max(...calls.map((x) => x.ms))).toBeLessThan(SHORT_CIRCUIT_MS);
      // The grace copy is served at once, and a plain get fails at once with the breaker's error.
      const t = performance.now();
      expect(await c.getOrSet('known', () => 'from-loader', grace)).toBe('cached');
      const error = await c.get('known').catch((e: unknown) => e);
      expect(performance.now() - t).toBeLessThan(SHORT_CIRCUIT_MS);
      expect(isSlotforgeError(error, 'E_CIRCUIT_OPEN')).toBe(true);
      expect((error as Error).message).toMatch(
        /circuit breaker opened \d+ ms ago after 3 consecutive unanswered attempts: .*timed out/,
      );

      expect(await metric(registry, METRIC_NAMES.breakerState)).toEqual([expect.objectContaining({ value: 2 })]);
      const shorts = await metric(registry, METRIC_NAMES.breakerShortCircuits);
      expect(shorts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ labels: { outcome: 'loader' }, value: 20 }),
          expect.objectContaining({ labels: { outcome: 'stale' }, value: 1 }),
          expect.objectContaining({ labels: { outcome: 'error' }, value: 1 }),
        ]),
      );
      // Probes keep failing while Redis is frozen: still not closed after several probe rounds.
      await eventually(() => events.filter((e) => e === 'breaker:probe').length >= 2, 10_000, 'two probes');
      expect(c.commands.breaker?.state).not.toBe('closed');

      server.process.signal('SIGCONT');
      await eventually(() => c.commands.breaker?.state === 'closed', 5_000, 'the breaker to close');
      expect(events.at(-1)).toBe('breaker:close');
      expect(await metric(registry, METRIC_NAMES.breakerState)).toEqual([expect.objectContaining({ value: 0 })]);
      // Redis is used again: the loaded value is cached.
      expect(await c.getOrSet('after', () => 'stored', { ttlMs: 60_000 })).toBe('stored');
      expect(await c.get('after')).toBe('stored');
    } finally {
      server.process.signal('SIGCONT');
      await c.close();
    }
  }, 60_000);

  it('killed and restarted on the same port: refused attempts open it at once, the restart closes it', async () => {
    const dir = harnessTempDir('breaker-kill');
    const server = await start(dir);
    const registry = new Registry();
    const c = client(server, registry, 'kill');
    try {
      await c.ready();
      await server.process.kill();
      const calls = await timedCalls(c, 30, 'down');
      expect(calls.map((x) => x.value)).toEqual(calls.map((_, i) => `loaded-${i}`));
      // Refused connections fail fast; once open, no call waits for Redis at all.
      expect(calls.slice(5).every((x) => x.ms < SHORT_CIRCUIT_MS)).toBe(true);
      expect(calls.reduce((sum, x) => sum + x.ms, 0)).toBeLessThan(8000);
      expect(c.commands.breaker?.state).not.toBe('closed');
      const transitions = await metric(registry, METRIC_NAMES.breakerTransitions);
      // The series exists from the start at 0; it counted the breaker opening.
      expect(transitions.find((t) => (t.labels as { state?: string }).state === 'open')?.value).toBeGreaterThan(0);

      await start(dir, server.port);
      await eventually(() => c.commands.breaker?.state === 'closed', 10_000, 'the breaker to close after the restart');
      expect(await c.getOrSet('back', () => 'stored', { ttlMs: 60_000 })).toBe('stored');
      expect(await c.get('back')).toBe('stored');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('circuitBreaker: false keeps the old behaviour (each call waits for Redis); bad options are named', async () => {
    expect(() => createClient({ circuitBreaker: { failureThreshold: 0 } })).toThrow(
      /option circuitBreaker.failureThreshold must be an integer >= 1 \(got 0\)/,
    );
    expect(() => createClient({ circuitBreaker: { openMs: Number.NaN } })).toThrow(
      /circuitBreaker.openMs .*\(got NaN\)/,
    );
    const server = await start(harnessTempDir('breaker-off'));
    const c = createClient({
      host: server.host,
      port: server.port,
      password: PASSWORD,
      circuitBreaker: false,
      commandTimeoutMs: 1500,
    });
    try {
      await c.ready();
      expect(c.commands.breaker).toBeNull();
      server.process.signal('SIGSTOP');
      const calls = await timedCalls(c, 2, 'off');
      expect(calls.every((x) => x.ms >= 1400)).toBe(true);
    } finally {
      server.process.signal('SIGCONT');
      await c.close();
    }
  }, 60_000);

  it('through Sentinel, the open breaker still says why no sentinel gave the primary', async () => {
    // Nothing listens on 127.0.0.1:1: every sentinel refuses the connection, so every attempt times out.
    const c = createClient({
      sentinel: { sentinels: [{ host: '127.0.0.1', port: 1 }], masterName: 'mymaster' },
      namespace: 'sb',
      commandTimeoutMs: 3000,
      deps: { registry: new Registry() },
    });
    try {
      let error: unknown;
      for (let i = 0; i < 5 && !isSlotforgeError(error, 'E_CIRCUIT_OPEN'); i++) {
        error = await c.get('k').catch((e: unknown) => e);
      }
      expect(isSlotforgeError(error, 'E_CIRCUIT_OPEN'), String(error)).toBe(true);
      // Not only "Command timed out": the reason ioredis gave in its error event.
      expect((error as Error).message).toMatch(/consecutive unanswered attempts: all sentinels unreachable: /);
      // Closed while open: E_CLOSED, not the breaker's error.
      await c.close();
      await expect(c.get('k')).rejects.toMatchObject({ code: 'E_CLOSED' });
    } finally {
      await c.close();
    }
  }, 60_000);
});
