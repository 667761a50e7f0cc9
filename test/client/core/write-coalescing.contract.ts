import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';

/** Write coalescing changes how commands reach the socket, never what they return. */
export default function writeCoalescingContract(fixture: ContractFixture): void {
  for (const coalesceWrites of [true, false]) {
    it(`answers 300 concurrent commands of one tick, each with its own reply (coalesceWrites ${coalesceWrites})`, async () => {
      const client = fixture.client({ coalesceWrites });
      const keys = Array.from({ length: 300 }, (_, i) => client.context.keys.key(`cw:${i}`));
      // All issued in the same tick: with coalescing, all but the first wait in corked sockets until the tick ends.
      const sets = await Promise.all(keys.map((k, i) => client.commands.set(k, `v${i}`, { ttlMs: 60_000 })));
      expect(sets.every(Boolean)).toBe(true);
      const values = await Promise.all(keys.map((k) => client.commands.get(k)));
      expect(values.map((v) => v?.toString())).toEqual(keys.map((_, i) => `v${i}`));
      // Commands on one key keep their order.
      const key = client.context.keys.key('cw:order');
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => client.commands.call('INCR', [key], { idempotent: true })),
      );
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });
  }

  it('rejects a coalesceWrites that is not a boolean, naming the option, the value and the rule', () => {
    expect(() => fixture.client({ coalesceWrites: 'yes' as unknown as boolean })).toThrow(
      /option coalesceWrites must be true or false \(got 'yes'\)/,
    );
  });
}
