import { expect, it } from 'vitest';
import * as aside from '../../../docs/examples/cache/cache-aside.ts';
import * as invalidation from '../../../docs/examples/cache/invalidation.ts';
import * as near from '../../../docs/examples/cache/near-cache.ts';
import * as writes from '../../../docs/examples/cache/write-behind.ts';
import type { ContractFixture } from '../contract/index.ts';

/** The examples of docs/cache-patterns.md, executed on every deployment so the docs cannot rot. */
export default function docsExamples(fixture: ContractFixture): void {
  it('docs example: cache-aside', async () => {
    const result = await aside.run(fixture.connection());
    expect(result.a).toEqual({ id: 1, name: 'user 1', createdAt: new Date('2024-01-01T00:00:00Z') });
    expect(result.b).toEqual(result.a);
    expect(result.missing).toBeUndefined();
    expect(result.queries).toBe(2);
  });

  it('docs example: invalidation', async () => {
    expect(await invalidation.run(fixture.connection())).toEqual({ afterTag: [undefined, undefined], deleted: 10 });
  });

  it('docs example: write-through and write-behind', async () => {
    expect(await writes.run(fixture.connection())).toEqual({
      price: 100,
      cachedViews: 2,
      beforeClose: false,
      afterClose: 2,
    });
  });

  it('docs example: near cache', async () => {
    expect(await near.run(fixture.connection())).toEqual({ first: { feature: false }, latest: { feature: true } });
  });
}
