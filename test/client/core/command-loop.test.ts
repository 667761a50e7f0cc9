import { describe, expect, it } from 'vitest';
import { resolveConnectionOptions, resolveDeps } from '../../../client/src/core/index.ts';
import { CommandLoop, type CommandLoopHost } from '../../../client/src/core/ioredis/index.ts';

// The command loop's deadline on a stand-in host (no I/O): a ready client, and attempts that never settle.
const options = resolveConnectionOptions({ host: '127.0.0.1', commandTimeoutMs: 1200, attemptTimeoutMs: 100 });
const host = {
  client: { status: 'ready' },
  options,
  deps: resolveDeps(),
  breaker: null,
  coalescer: null,
  closing: () => false,
  closed: () => false,
  sentinel: undefined,
} as unknown as CommandLoopHost;
const never = () => new Promise<never>(() => undefined);

describe('command loop: every call ends by its deadline', () => {
  it('fails an attempt that never settles (a pipeline on a client that is not ready) at the deadline, E_TIMEOUT', async () => {
    const loop = new CommandLoop(host);
    const started = performance.now();
    const call = loop.run('SET', 'k', true, undefined, never);
    await expect(call).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    const took = performance.now() - started;
    // Its attempts are cut at twice the attempt timeout and retried until the 1200 ms deadline; not a moment later
    // than it plus a timer's lateness.
    expect(took).toBeGreaterThanOrEqual(1150);
    expect(took).toBeLessThan(2500);
  });

  it("leaves a bounded attempt's deadline to the attempt itself on a ready client (the fast path sets no timer)", async () => {
    const loop = new CommandLoop(host);
    let settle: (reply: string) => void = () => undefined;
    const call = loop.run('GET', 'k', true, undefined, () => new Promise<string>((resolve) => (settle = resolve)), {
      bounded: true,
    });
    const outcome = await Promise.race([call, new Promise((resolve) => setTimeout(() => resolve('pending'), 1500))]);
    // Past the 1200 ms deadline and still pending: no timer of the loop's raced it (a WatchedCommand bounds it).
    expect(outcome).toBe('pending');
    settle('v');
    await expect(call).resolves.toBe('v');
  });
});
