import { describe, expect, it } from 'vitest';
import { DeadlineError, pollUntil, sleep } from '../../../runtime/process/index.ts';

describe('pollUntil', () => {
  it('returns the first value that is not undefined or false', async () => {
    let calls = 0;
    const value = await pollUntil(() => (++calls >= 3 ? `after ${calls}` : undefined), {
      description: 'x',
      intervalMs: 1,
    });
    expect(value).toBe('after 3');
  });

  it('treats a throwing probe as not yet, and reports the last error at the deadline', async () => {
    const error = await pollUntil(
      () => {
        throw new Error('connection refused');
      },
      { description: 'a server to answer', timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as DeadlineError).message).toMatch(
      /timed out after 30 ms waiting for a server to answer \(last seen: connection refused\)/,
    );
    expect((error as DeadlineError).code).toBe('E_DEADLINE');
  });
});

describe('sleep', () => {
  it('resolves as soon as its signal aborts, long before its time', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = sleep(60_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    await sleeping;
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('resolves at once when its signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const started = performance.now();
    await sleep(60_000, controller.signal);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('waits its time when nothing aborts', async () => {
    const started = performance.now();
    await sleep(50, new AbortController().signal);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });
});
