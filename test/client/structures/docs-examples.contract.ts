import { expect, it } from 'vitest';
import * as structures from '../../../docs/examples/data-structures/counters-hashes-batch.ts';
import * as locks from '../../../docs/examples/data-structures/locks.ts';
import * as pubsub from '../../../docs/examples/data-structures/pubsub.ts';
import * as rateLimit from '../../../docs/examples/data-structures/rate-limit.ts';
import * as sessions from '../../../docs/examples/data-structures/sessions.ts';
import type { ContractFixture } from '../contract/index.ts';

/** The examples of docs/data-structures.md, executed on every deployment so the docs cannot rot. */
export default function dataStructureExamples(fixture: ContractFixture): void {
  it('docs example: counters, hashes and batches', async () => {
    expect(await structures.run(fixture.connection())).toEqual({
      signups: 3,
      since: new Date('2024-01-01T00:00:00Z'),
      total: 4950,
    });
  });

  it('docs example: rate limiting', async () => {
    const result = await rateLimit.run(fixture.connection());
    expect(result).toEqual({ allowed: 5, retryAfterSeconds: 60, apiRemaining: 99 });
  });

  it('docs example: sessions', async () => {
    expect(await sessions.run(fixture.connection())).toEqual({ oldGone: true, userId: 7, count: 1 });
  });

  it('docs example: pub/sub', async () => {
    expect(await pubsub.run(fixture.connection())).toEqual({
      message: { sku: 'A-1', price: 42, at: new Date('2024-05-06T00:00:00Z') },
      malformed: ['decode'],
      connections: 1,
    });
  });

  it('docs example: locks', async () => {
    expect(await locks.run(fixture.connection())).toEqual({ rows: 3, tokensIncreased: true });
  });
}
