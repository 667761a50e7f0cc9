import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

/** Write-behind deadlines: a hung source never holds the queue or close() forever. */
export default function writeBehindDeadlinesContract(fixture: ContractFixture): void {
  it('a flush call past flushTimeoutMs counts as failed and its entries are offered again', async () => {
    const client = fixture.client();
    let calls = 0;
    const delivered: [string, number][] = [];
    const errors: string[] = [];
    client.events.on('writebehind:error', ({ key, error }) =>
      errors.push(`${key}:${(error as { code?: string }).code}`),
    );
    const behind = client.writeBehind<number>({
      // The first call never settles (a hung source); later calls deliver.
      flush: (entries) => {
        calls++;
        if (calls === 1) return new Promise<void>(() => {});
        delivered.push(...entries.map(([k, v]) => [k, v] as [string, number]));
      },
      flushIntervalMs: 60_000,
      flushTimeoutMs: 150,
    });
    await behind.set('p', 1);
    await expect(behind.flush()).rejects.toMatchObject({ code: 'E_CONNECTION', received: 1 });
    expect(errors).toEqual(['p:E_TIMEOUT']);
    expect(behind.pending).toBe(1);
    await behind.flush();
    expect(delivered).toEqual([['p', 1]]);
    expect(behind.pending).toBe(0);
  });

  it('rejects a flushTimeoutMs or closeTimeoutMs that is not a whole number of ms >= 1, naming it', () => {
    const client = fixture.client();
    expect(() => client.writeBehind({ flush: () => {}, flushTimeoutMs: 0 })).toThrow(
      /option flushTimeoutMs must be a whole number of milliseconds >= 1 \(got 0\)/,
    );
    expect(() => client.writeBehind({ flush: () => {}, closeTimeoutMs: 1.5 })).toThrow(
      /option closeTimeoutMs must be a whole number of milliseconds >= 1 \(got 1.5\)/,
    );
  });
}
