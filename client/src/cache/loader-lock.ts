import { randomUUID } from 'node:crypto';
import type { CoreContext } from '../context.ts';
import { defineScript, sleep } from '../core/index.ts';
import type { Entry } from './entry.ts';

/**
 * Distributed single flight for getOrSet's loader: across N processes only one runs the loader for a cold key.
 *
 * The winner of `SET lock token NX PX ttl` re-reads first (another process may have stored the value just before it
 * locked), runs the loader, stores the value and releases the lock with a compare-and-delete script. The others poll
 * the value (5 ms doubling to 100 ms, jittered); a waiter stops early when the lock vanishes without a value (the
 * winner's loader failed, or it died and the lock expired) and competes again; after `waitMs` it loads itself.
 * An efficiency device, not a correctness one: a holder paused past its TTL lets a second load happen.
 */
export type LoaderLockDeps = Pick<CoreContext, 'commands' | 'keys' | 'deps' | 'metrics'>;

/** Key part of loader locks (inside the namespace, outside callers' keys). */
export const LOCK_KEY_PART = '__lock:';

const RELEASE = defineScript(
  'slotforge-loader-unlock',
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  { idempotent: true },
);

/** What the lock needs from its caller. */
export interface LockedLoad<T> {
  /** Reads the entry and the current tag versions. */
  read(): Promise<{ readonly entry: Entry<T> | undefined; readonly versions: [string, number][] }>;
  /** Runs the loader and stores its value (with these tag versions). */
  load(versions: [string, number][] | undefined): Promise<T>;
  /** Loads without the lock (the holder took longer than waitMs). */
  loadUnlocked(): Promise<T>;
  /** A failed release (the lock then expires by its TTL). */
  onReleaseError(error: unknown): void;
}

/** Runs `ops.load` under the loader lock of `full`, or returns the value another process loaded. */
export async function loadUnderLock<T>(
  ctx: LoaderLockDeps,
  full: string,
  lock: { readonly ttlMs: number; readonly waitMs: number },
  ops: LockedLoad<T>,
): Promise<T> {
  const { commands, keys, deps } = ctx;
  const lockKey = keys.prefix + LOCK_KEY_PART + keys.strip(full);
  const token = randomUUID();
  const deadline = deps.clock.now() + lock.waitMs;
  let waited = false;
  let poll = 5;
  while (deps.clock.now() < deadline) {
    const acquired = await commands.set(lockKey, token, { ttlMs: lock.ttlMs, nx: true, idempotent: true });
    if (acquired) {
      try {
        const again = await ops.read();
        if (again.entry && again.entry.freshUntil > deps.clock.now()) {
          ctx.metrics.coalesced('distributed');
          return again.entry.value;
        }
        return await ops.load(again.versions.length > 0 ? again.versions : undefined);
      } finally {
        await commands.eval(RELEASE, [lockKey], [token]).catch(ops.onReleaseError);
      }
    }
    if (!waited) {
      waited = true;
      ctx.metrics.coalesced('distributed');
    }
    for (;;) {
      // Jitter so waiters do not poll the key in lockstep.
      await sleep(poll + Math.floor(deps.random() * poll), deps.clock);
      poll = Math.min(poll * 2, 100);
      const read = await ops.read();
      if (read.entry && read.entry.freshUntil > deps.clock.now()) return read.entry.value;
      if ((await commands.call('EXISTS', [lockKey])) === 0) break;
      if (deps.clock.now() >= deadline) break;
    }
  }
  return ops.loadUnlocked();
}
