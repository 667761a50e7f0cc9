import { createClient, isSlotforgeError } from '@slotforge/client';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../runtime/redis/index.ts';
import { harnessRegistry, harnessTempDir, useCluster } from '../../support/index.ts';

/**
 * close() and the calls already running (outsider test of issue 16): close() refuses new calls, lets the running ones
 * finish within their deadlines, and resolves only once they have settled; none is left retrying a closed client.
 * Before: on a cluster, calls made before the first connection were rejected 8 s after close() ("Connection is
 * closed.", 38 attempts) and nothing was stored; calls running against a frozen server settled only at their
 * deadline, after close() had resolved, so a script that awaited them at top level exited with unsettled promises.
 */
const PASSWORD = 'drain-secret';
const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: PASSWORD });
const servers: RedisServer[] = [];
afterAll(async () => {
  for (const s of servers) s.process.signal('SIGCONT');
  await Promise.allSettled(servers.map((s) => s.stop()));
});

/** When a promise settled (ms since `t0`) and how. */
function settle<T>(p: Promise<T>, t0: number): Promise<{ at: number; ok: boolean; error?: unknown }> {
  return p.then(
    () => ({ at: performance.now() - t0, ok: true }),
    (error: unknown) => ({ at: performance.now() - t0, ok: false, error }),
  );
}

describe('close() with calls running', () => {
  it('on a cluster not yet connected: the calls made before close() run, then it closes', async () => {
    const nodes = cluster().nodes.map((n) => ({ host: n.host, port: n.port }));
    const t0 = performance.now();
    const c = createClient({ cluster: { nodes }, password: PASSWORD, namespace: 'drain' });
    const set = settle(c.set('a', { n: 1 }, { ttlMs: 60_000 }), t0);
    const get = settle(c.get('missing'), t0);
    // A batch (DEL per slot) waits for the slot map first: counted from the start too.
    const del = settle(c.context.commands.del(['drain:x', 'drain:y']), t0);
    await c.close();
    const closedAt = performance.now() - t0;
    for (const r of await Promise.all([set, get, del])) {
      expect(r.error).toBeUndefined();
      expect(r.at).toBeLessThanOrEqual(closedAt);
    }
    const reader = createClient({ cluster: { nodes }, password: PASSWORD, namespace: 'drain' });
    try {
      expect(await reader.get('a')).toEqual({ n: 1 });
    } finally {
      await reader.close();
    }
    // New calls after close() are refused at once.
    await expect(c.get('a')).rejects.toMatchObject({ code: 'E_CLOSED' });
  });

  it('on a frozen server: close() waits for the running calls to reach their deadline, then resolves', async () => {
    const server = await startRedisServer({
      dir: harnessTempDir('drain-stop'),
      password: PASSWORD,
      registry: harnessRegistry(),
    });
    servers.push(server);
    const deadlineMs = 1500;
    const c = createClient({
      host: server.host,
      port: server.port,
      password: PASSWORD,
      namespace: 'drain',
      commandTimeoutMs: deadlineMs,
      // QUIT's bound, well below the deadline: without the drain close() would resolve before the calls settled.
      connectTimeoutMs: 300,
      circuitBreaker: false,
    });
    await c.ready();
    server.process.signal('SIGSTOP');
    try {
      const t0 = performance.now();
      const set = settle(c.set('b', 1, { ttlMs: 60_000 }), t0);
      const get = settle(c.get('b'), t0);
      await c.close();
      const closedAt = performance.now() - t0;
      const results = await Promise.all([set, get]);
      for (const r of results) {
        expect(r.ok).toBe(false);
        // Their own deadline, not a cut-off by close(): the outcome a caller would have had without close().
        expect(isSlotforgeError(r.error) && r.error.code).toBe('E_TIMEOUT');
        expect(r.at).toBeLessThanOrEqual(closedAt);
        expect(r.at).toBeLessThan(deadlineMs + 1000);
      }
      // QUIT to a frozen server is bounded too.
      expect(closedAt).toBeLessThan(deadlineMs + 3000);
      // A call whose own deadline outlasts the drain's bound (commandTimeoutMs) is cut off once close() QUITs: E_CLOSED
      // at its next attempt, not at its 30 s deadline.
      const c2 = createClient({
        host: server.host,
        port: server.port,
        password: PASSWORD,
        namespace: 'drain',
        commandTimeoutMs: 1000,
        connectTimeoutMs: 300,
        circuitBreaker: false,
      });
      const t1 = performance.now();
      const long = settle(c2.context.commands.call('SET', ['drain:long', '1'], { timeoutMs: 30_000 }), t1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await c2.close();
      const cut = await long;
      expect(isSlotforgeError(cut.error) && cut.error.code, String(cut.error)).toBe('E_CLOSED');
      // The drain's 1 s + the attempt under way (2 x attemptTimeoutMs) + QUIT's 0.3 s, with slack: not 30 s.
      expect(cut.at).toBeLessThan(6000);
    } finally {
      server.process.signal('SIGCONT');
    }
  });
});
