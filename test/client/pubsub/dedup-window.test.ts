import { DedupWindow, PubSub } from '@slotforge/client';
import { describe, expect, it } from 'vitest';

describe('DedupWindow (pub/sub message ids)', () => {
  it('delivers each sequence number once, in or out of order, per channel and publisher', () => {
    const w = new DedupWindow(64, 8);
    expect(['1', '3', '2', '3', '1'].map((s) => w.check('c', 'p', Number(s)))).toEqual([
      'new',
      'new',
      'new',
      'duplicate',
      'duplicate',
    ]);
    // Another publisher, or the same publisher on another channel, has its own numbers.
    expect(w.check('c', 'q', 1)).toBe('new');
    expect(w.check('d', 'p', 1)).toBe('new');
  });

  it('slides: numbers that fell behind the window are too old, numbers inside it still counted once', () => {
    const w = new DedupWindow(64, 8);
    for (let s = 1; s <= 100; s++) expect(w.check('c', 'p', s)).toBe('new');
    expect(w.check('c', 'p', 36)).toBe('too-old');
    expect(w.check('c', 'p', 37)).toBe('duplicate');
    // A jump past the whole window clears it: the slots of skipped numbers are free.
    expect(w.check('c', 'p', 1000)).toBe('new');
    expect(w.check('c', 'p', 999)).toBe('new');
    expect(w.check('c', 'p', 999)).toBe('duplicate');
    // A gap inside the window: the skipped numbers are new when they arrive late, once.
    expect(w.check('c', 'p', 1010)).toBe('new');
    expect(w.check('c', 'p', 1005)).toBe('new');
    expect(w.check('c', 'p', 1005)).toBe('duplicate');
  });

  it('is bounded in memory: at most maxPublishers pairs of size/8 bytes, least recent forgotten first', () => {
    const w = new DedupWindow(4096, 100);
    for (let p = 0; p < 10_000; p++) w.check('c', `p${p}`, 1);
    expect(w.tracked).toBe(100);
    // p9999 is remembered, p0 was forgotten (its copy is then new again: the bound is on memory, not on time).
    expect(w.check('c', 'p9999', 1)).toBe('duplicate');
    expect(w.check('c', 'p0', 1)).toBe('new');
    expect(w.size).toBe(4096);
    const before = process.memoryUsage().arrayBuffers;
    for (let s = 2; s < 200_000; s++) w.check('c', 'p1', s);
    // Two hundred thousand messages from one publisher cost no more memory than the first one (one 512-byte bitmap).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024);
  });

  it('refuses bad options, naming them', () => {
    const ctx = {} as ConstructorParameters<typeof PubSub>[0];
    expect(() => new PubSub(ctx, { dedupWindow: -1 })).toThrow(/option dedupWindow must be an integer between 0/);
    expect(() => new PubSub(ctx, { dedupMaxPublishers: 0 })).toThrow(
      /option dedupMaxPublishers must be an integer >= 1 \(got 0\)/,
    );
    expect(() => new PubSub(ctx, { messageIds: 'yes' as never })).toThrow(/option messageIds must be true or false/);
  });
});
