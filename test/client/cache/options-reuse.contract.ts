import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

/** getOrSet reuses the resolution of equal options, never of changed ones. */
export default function optionsReuseContract(fixture: ContractFixture): void {
  it('re-validates an options object mutated between calls, and applies a changed ttl', async () => {
    const client = fixture.client();
    const options: { ttlMs: number; jitter?: number } = { ttlMs: 60_000, jitter: 0 };
    expect(await client.getOrSet('a', () => 1, options)).toBe(1);
    expect(await client.getOrSet('a', () => 2, { ttlMs: 60_000, jitter: 0 })).toBe(1);
    options.ttlMs = 0;
    await expect(client.getOrSet('a', () => 3, options)).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'ttlMs',
      received: 0,
    });
    options.ttlMs = 5_000;
    expect(await client.getOrSet('b', () => 'b', options)).toBe('b');
    const pttl = Number(await client.commands.call('PTTL', [client.context.keys.key('b')]));
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });
}
