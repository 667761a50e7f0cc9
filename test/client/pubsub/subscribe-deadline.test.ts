import { createClient, createPubSub, isSlotforgeError, type SlotforgeClient } from '@slotforge/client';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../runtime/redis/index.ts';
import { harnessRegistry, harnessTempDir } from '../../support/index.ts';

/**
 * A subscribe has a deadline like every other call (outsider test of issue 16): against a cluster nobody answers for,
 * channel().subscribe() was still pending after 60 s, and a close() meanwhile left it pending for good (a script
 * awaiting it exited with an unsettled promise). Nothing listens on 127.0.0.1:1, so no Redis is needed.
 */
const DEADLINE_MS = 1000;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1500;

const unreachable = [
  ['cluster', 'redis+cluster://127.0.0.1:1'],
  ['standalone', 'redis://127.0.0.1:1'],
] as const;

/** Subscribes a handler to channel 'news'; resolves with the error, or undefined when it subscribed. */
function subscribeOutcome(client: SlotforgeClient): Promise<unknown> {
  return client
    .use(createPubSub, {})
    .channel('news')
    .subscribe(() => {})
    .then(
      () => undefined,
      (e: unknown) => e,
    );
}

describe('subscribe to an unreachable Redis', () => {
  for (const [mode, url] of unreachable) {
    it(`${mode}: fails within its deadline with a SlotforgeError`, async () => {
      const client = createClient({ url, commandTimeoutMs: DEADLINE_MS, namespace: 'sd' });
      try {
        const started = performance.now();
        const error = await subscribeOutcome(client);
        const ms = performance.now() - started;
        expect(isSlotforgeError(error), String(error)).toBe(true);
        expect(['E_TIMEOUT', 'E_CONNECTION']).toContain(isSlotforgeError(error) ? error.code : '');
        expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
        // Not ioredis' "Refer to maxRetriesPerRequest", an option ours do not have.
        expect((error as Error).message).not.toMatch(/maxRetriesPerRequest/);
      } finally {
        await client.close();
      }
    });
  }

  it('cluster: a subscribe still pending when close() is called fails at once with E_CLOSED', async () => {
    const client = createClient({ url: 'redis+cluster://127.0.0.1:1', commandTimeoutMs: 60_000, namespace: 'sd' });
    const pending = subscribeOutcome(client);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await client.close();
    const error = await pending;
    expect(performance.now() - started).toBeLessThan(SLACK_MS);
    expect(isSlotforgeError(error) && error.code, String(error)).toBe('E_CLOSED');
  });

  it('a subscribe that timed out on a frozen server takes nothing and leaves no subscription once it answers', async () => {
    const server = await startRedisServer({
      dir: harnessTempDir('sub-late'),
      password: 'sub-late',
      registry: harnessRegistry(),
    });
    servers.push(server);
    const client = createClient({
      host: server.host,
      port: server.port,
      password: 'sub-late',
      commandTimeoutMs: 1000,
      namespace: 'sd',
    });
    try {
      await client.ready();
      const got: unknown[] = [];
      const pubsub = client.use(createPubSub, {});
      // The subscriber connection is up (one channel), so the late SUBSCRIBE is written to Redis while it is frozen.
      await pubsub.channel('warm').subscribe(() => {});
      server.process.signal('SIGSTOP');
      const error = await pubsub
        .channel('late')
        .subscribe((m) => void got.push(m))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isSlotforgeError(error) && error.code, String(error)).toBe('E_TIMEOUT');
      server.process.signal('SIGCONT');
      // The subscriber connection's last command, once Redis has worked through what it queued: the late SUBSCRIBE,
      // then the UNSUBSCRIBE that takes it back (without it: still subscribed, sub=2, and ioredis would resubscribe it
      // on every reconnect).
      await expect
        .poll(async () => subscriberState(client), { timeout: 10_000 })
        .toMatchObject({ cmd: 'unsubscribe', sub: '1' });
      await pubsub.channel('late').publish('x');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(got).toEqual([]);
    } finally {
      server.process.signal('SIGCONT');
      await client.close();
    }
  });
});

const servers: RedisServer[] = [];
afterAll(async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
});

/** The `cmd` and `sub` fields of the client's subscriber connection in CLIENT LIST (name `...:sub`). */
async function subscriberState(client: SlotforgeClient): Promise<Record<string, string>> {
  const list = String(await client.context.commands.call('CLIENT', ['LIST']));
  const line = list.split('\n').find((l) => / name=\S*:sub /.test(l)) ?? '';
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
}
