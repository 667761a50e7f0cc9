import { describe, expect, it } from 'vitest';
import { DeadlineError, pollUntil } from '../../runtime/process/index.ts';

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
