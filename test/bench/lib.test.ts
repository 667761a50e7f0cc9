import { describe, expect, it } from 'vitest';
import {
  formatOps,
  formatRow,
  measure,
  measureInterleaved,
  median,
  memoryRow,
  parseArgs,
  toRow,
} from '../../bench/index.ts';

describe('bench arguments', () => {
  it('reads --json FILE, --json=FILE and --quick', () => {
    expect(parseArgs([])).toEqual({ json: undefined, quick: false });
    expect(parseArgs(['--json', 'out.json'])).toEqual({ json: 'out.json', quick: false });
    expect(parseArgs(['--json=rows.json', '--quick'])).toEqual({ json: 'rows.json', quick: true });
  });

  it('reads --rounds N (a noisy run can be repeated with more rounds) and refuses a bad count', () => {
    expect(parseArgs(['--rounds', '15'])).toEqual({ json: undefined, quick: false, rounds: 15 });
    expect(parseArgs(['--rounds=3', '--quick'])).toEqual({ json: undefined, quick: true, rounds: 3 });
    expect(() => parseArgs(['--rounds', '0'])).toThrow('option --rounds must be an integer between 1 and 1000 (got 0)');
    expect(() => parseArgs(['--rounds'])).toThrow('(got nothing)');
  });

  it('builds memory rows: bytes, ratio ours/peer, lower is better', () => {
    const row = memoryRow({ name: 'memory', peer: 'raw SET', ours: 185, peerBytes: 168, target: 1.15 });
    expect(row).toMatchObject({ ratio: 1.101, met: true, unit: 'bytes' });
    expect(formatRow(row)).toEqual(['memory', '-', '185 B', 'raw SET', '168 B', '1.10x', 'met (<= 1.15x)']);
    expect(memoryRow({ name: 'm', peer: 'p', ours: 200, peerBytes: 168, target: 1.15 }).met).toBe(false);
  });

  it('rejects a missing file and unknown arguments, naming them', () => {
    expect(() => parseArgs(['--json'])).toThrow('option --json must be followed by a file path');
    expect(() => parseArgs(['--json', '--quick'])).toThrow('option --json must be followed by a file path');
    expect(() => parseArgs(['--fast'])).toThrow("unknown argument '--fast'");
  });
});

describe('bounded measurement', () => {
  it('stops at maxOps, counting errors apart from completed operations', async () => {
    let calls = 0;
    const result = await measure(
      async () => {
        calls++;
        if (calls % 10 === 0) throw new Error('boom');
      },
      4,
      { maxOps: 100, maxMs: 60_000 },
    );
    expect(calls).toBe(100);
    expect(result.ops).toBe(90);
    expect(result.errors).toBe(10);
  });

  it('stops at maxMs by the injected clock even when maxOps is never reached', async () => {
    let now = 0;
    const clock = { now: () => now };
    const result = await measure(
      async () => {
        now += 10;
      },
      2,
      { maxOps: 1_000_000, maxMs: 1_000 },
      clock,
    );
    expect(result.ops).toBeGreaterThanOrEqual(99);
    expect(result.ops).toBeLessThanOrEqual(101);
    expect(result.opsPerSec).toBeCloseTo((result.ops / result.ms) * 1000);
  });

  it('refuses a concurrency below 1', async () => {
    await expect(measure(async () => {}, 0, { maxOps: 1, maxMs: 1 })).rejects.toThrow(
      'concurrency must be >= 1 (got 0)',
    );
  });
});

describe('interleaved measurement', () => {
  /** A fake clock and two sides whose calls cost `cost` ms each, times the machine's load at that moment. */
  function machine(load: (now: number) => number) {
    let now = 0;
    const turns: string[] = [];
    const side = (name: string, cost: number) => async () => {
      if (turns[turns.length - 1] !== name) turns.push(name);
      now += cost * load(now);
    };
    return { clock: { now: () => now }, turns, side };
  }

  it('takes turns A B B A until each side has had its time, and measures each side by its own time', async () => {
    const m = machine(() => 1);
    const pair = await measureInterleaved(
      m.side('ours', 2),
      m.side('theirs', 1),
      1,
      { maxOps: 1e6, maxMs: 100 },
      10,
      m.clock,
    );
    expect(m.turns.slice(0, 6)).toEqual(['ours', 'theirs', 'ours', 'theirs', 'ours', 'theirs']);
    expect(pair.ours.ms).toBeGreaterThanOrEqual(100);
    expect(pair.theirs.ms).toBeGreaterThanOrEqual(100);
    expect(pair.ours.opsPerSec).toBeCloseTo(500, -1);
    expect(pair.theirs.opsPerSec).toBeCloseTo(1000, -1);
  });

  it('keeps the ratio when a load comes and goes mid-round, where back-to-back measurement does not', async () => {
    // The machine is 3x slower from 80 ms to 180 ms of the round.
    const load = (now: number) => (now >= 80 && now < 180 ? 3 : 1);
    const a = machine(load);
    const pair = await measureInterleaved(
      a.side('ours', 2),
      a.side('theirs', 1),
      1,
      { maxOps: 1e6, maxMs: 100 },
      5,
      a.clock,
    );
    expect(pair.ours.opsPerSec / pair.theirs.opsPerSec).toBeCloseTo(0.5, 1);
    const b = machine(load);
    const theirs = await measure(b.side('theirs', 1), 1, { maxOps: 1e6, maxMs: 100 }, b.clock);
    const ours = await measure(b.side('ours', 2), 1, { maxOps: 1e6, maxMs: 100 }, b.clock);
    expect(ours.opsPerSec / theirs.opsPerSec).toBeLessThan(0.4);
  });

  it('stops at maxOps per side and refuses a slice of 0', async () => {
    const m = machine(() => 1);
    const pair = await measureInterleaved(
      m.side('ours', 1),
      m.side('theirs', 1),
      2,
      { maxOps: 50, maxMs: 1e6 },
      10,
      m.clock,
    );
    expect(pair.ours.ops).toBe(50);
    expect(pair.theirs.ops).toBe(50);
    await expect(
      measureInterleaved(
        async () => {},
        async () => {},
        1,
        { maxOps: 1, maxMs: 1 },
        0,
      ),
    ).rejects.toThrow('sliceMs must be > 0 (got 0)');
  });
});

describe('rows', () => {
  const m = (opsPerSec: number, errors = 0) => ({ ops: 1, ms: 1, opsPerSec, errors });

  it('takes medians and the median of paired ratios (a noisy pair does not decide), and judges the target', () => {
    const row = toRow({
      name: 'getOrSet hit',
      peer: 'ioredis',
      concurrency: 64,
      // Pair 2 ran while the machine was loaded: both sides slowed down, its ratio stays sane.
      ours: [m(900), m(300, 1), m(1000)],
      peers: [m(1000), m(400), m(1000)],
      target: 0.95,
    });
    expect(row).toMatchObject({ ours: 900, peerOps: 1000, ratio: 0.9, target: 0.95, met: false });
    expect(row.errors).toEqual({ ours: 1, peer: 0 });
    expect(toRow({ name: 'x', peer: 'p', concurrency: 1, ours: [m(30)], peers: [m(10)], target: 1 }).met).toBe(true);
    expect(toRow({ name: 'x', peer: 'p', concurrency: 1, ours: [m(30)], peers: [m(10)] })).not.toHaveProperty('met');
  });

  it('computes medians of odd and even lists and refuses an empty one', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow('median of an empty list');
  });

  it('formats ops and cells for the table', () => {
    expect(formatOps(999)).toBe('999');
    expect(formatOps(12_345)).toBe('12.3k');
    expect(formatOps(1_234_567)).toBe('1.23M');
    const row = toRow({ name: 'n', peer: 'p', concurrency: 8, ours: [m(2000)], peers: [m(1000)], target: 1.5 });
    expect(formatRow(row)).toEqual(['n', '8', '2.0k', 'p', '1.0k', '2.00x', 'met (>= 1.5x)']);
  });
});
