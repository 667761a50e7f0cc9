import { type Clock, createClient, createLocks, isSlotforgeError } from '@slotforge/client';
import { afterAll, expect, it } from 'vitest';
import { useStandalone } from '../../support/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Auto-extension is driven by our own timers: with an injected manual clock the test decides when each extension
 * runs and when the local validity ends, without sleeping (Redis TTLs stay real, so they are long here).
 */
const server = useStandalone({ password: 'locks-clock' });

function manualClock(): Clock & { advance(ms: number): void; pending(): number; fire(): Promise<void> } {
  let now = 1_700_000_000_000;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (handle) => {
      timers = timers.filter((t) => t.id !== handle);
    },
    advance: (ms) => {
      now += ms;
    },
    pending: () => timers.length,
    /** Runs the timers due now. */
    fire: async () => {
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
  };
}

const clients: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
});

it('extends at ttl/3 of the injected clock and stays held while extensions succeed', async () => {
  const clock = manualClock();
  const client = createClient({ host: server().host, port: server().port, password: 'locks-clock', deps: { clock } });
  clients.push(client);
  const locks = client.use(createLocks, { ttlMs: 30_000 });
  const handle = await locks.acquire('job');
  const key = locks.keysOf('job').lock;
  expect(clock.pending()).toBe(1);
  await client.commands.call('PEXPIRE', [key, 5_000]);
  clock.advance(10_000);
  await clock.fire();
  // The extension ran (a real round trip: poll for it): Redis TTL back to ~30 s, and the next one is scheduled.
  await eventually(async () => Number(await client.commands.call('PTTL', [key])) > 25_000, 5_000, 'extension');
  await eventually(() => clock.pending() === 1, 5_000, 'next extension scheduled');
  clock.advance(25_000); // 35 s after acquire: valid only thanks to the extension at 10 s
  expect(handle.held).toBe(true);
  expect(await handle.release()).toBe(true);
  expect(clock.pending()).toBe(0);
});

it('declares the lock lost when the injected clock passes its validity without a successful extension', async () => {
  const clock = manualClock();
  const client = createClient({ host: server().host, port: server().port, password: 'locks-clock', deps: { clock } });
  clients.push(client);
  const locks = client.use(createLocks, { ttlMs: 30_000, autoExtend: false });
  const handle = await locks.acquire('report');
  expect(clock.pending()).toBe(0);
  clock.advance(29_999);
  expect(handle.held).toBe(true);
  clock.advance(1);
  expect(handle.held).toBe(false);
  let error: unknown;
  try {
    handle.assertHeld();
  } catch (e) {
    error = e;
  }
  expect(isSlotforgeError(error, 'E_LOCK_LOST')).toBe(true);
  expect(handle.signal.aborted).toBe(true);
  // Redis still has the key (its TTL is real time), but a lost handle never deletes it: another holder may own it.
  expect(await handle.release()).toBe(false);
});
