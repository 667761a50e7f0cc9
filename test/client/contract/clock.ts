import type { Clock } from '@slotforge/client';

/**
 * A clock whose `now()` can be moved forward while its timers stay real (deadlines on real servers must still
 * fire). Moving it ages every entry instantly, without sleeping.
 */
export function shiftedClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** Polls `probe` until it returns true or `timeoutMs` passes. */
export async function eventually(
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  description = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`${description} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
