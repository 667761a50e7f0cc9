/**
 * Pure parts of the benchmark: argument parsing, bounded measurement loops, ratios and verdicts. No Redis here, so
 * they are unit tested (test/bench/lib.test.ts).
 */

/** Command-line options of `npm run bench [-- --json FILE] [--quick] [--rounds N]`. */
export interface BenchArgs {
  /** Where to write the rows as JSON. */
  readonly json: string | undefined;
  /** Shorter rounds (smoke run). */
  readonly quick: boolean;
  /** Paired rounds per row (more rounds: a steadier median on a noisy machine); undefined = the default. */
  readonly rounds?: number;
}

/** Parses `--json FILE`, `--json=FILE`, `--quick` and `--rounds N`; throws on anything else, naming the argument. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let json: string | undefined;
  let quick = false;
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--rounds' || arg.startsWith('--rounds=')) {
      const text = arg === '--rounds' ? argv[++i] : arg.slice('--rounds='.length);
      rounds = Number(text);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000)
        throw new Error(`option --rounds must be an integer between 1 and 1000 (got ${text ?? 'nothing'})`);
    } else if (arg === '--json') {
      const file = argv[i + 1];
      if (file === undefined || file.startsWith('--')) throw new Error('option --json must be followed by a file path');
      json = file;
      i++;
    } else if (arg.startsWith('--json=')) {
      json = arg.slice('--json='.length);
      if (json === '') throw new Error('option --json must be followed by a file path');
    } else if (arg === '--quick') {
      quick = true;
    } else {
      throw new Error(`unknown argument '${arg}' (expected --json FILE, --quick or --rounds N)`);
    }
  }
  return rounds === undefined ? { json, quick } : { json, quick, rounds };
}

/** Bounds of one measurement: it stops at whichever comes first. */
export interface Bounds {
  readonly maxOps: number;
  readonly maxMs: number;
}

/** A clock for measurement (injected in tests). */
export interface MeasureClock {
  now(): number;
}

/** Result of one measurement. */
export interface Measurement {
  readonly ops: number;
  readonly ms: number;
  readonly opsPerSec: number;
  readonly errors: number;
}

/**
 * Runs `op` from `concurrency` workers until `maxOps` operations or `maxMs` passed (both bounds always apply).
 * Errors are counted, not thrown, so a failing peer shows up in the table instead of aborting the run.
 */
export async function measure(
  op: () => Promise<unknown>,
  concurrency: number,
  bounds: Bounds,
  clock: MeasureClock = { now: () => performance.now() },
): Promise<Measurement> {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be >= 1 (got ${concurrency})`);
  const start = clock.now();
  const deadline = start + bounds.maxMs;
  let started = 0;
  let done = 0;
  let errors = 0;
  const worker = async () => {
    while (started < bounds.maxOps && clock.now() < deadline) {
      started++;
      try {
        await op();
        done++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = Math.max(clock.now() - start, 1e-3);
  return { ops: done, ms, opsPerSec: (done / ms) * 1000, errors };
}

/** The two sides of one interleaved measurement. */
export interface PairedMeasurement {
  readonly ours: Measurement;
  readonly theirs: Measurement;
}

/**
 * One paired round: `ours` and `theirs` take turns in slices of `sliceMs` (order A B B A, so neither side always runs
 * first after the other) until each has run `bounds.maxMs` in total or `bounds.maxOps` operations. Both sides see the
 * same machine: a load that comes and goes (another job on a shared 2-core host) lands on both within milliseconds,
 * where two back-to-back 500 ms measurements could catch it on one side only and move the ratio by 10 % or more.
 */
export async function measureInterleaved(
  ours: () => Promise<unknown>,
  theirs: () => Promise<unknown>,
  concurrency: number,
  bounds: Bounds,
  sliceMs = 25,
  clock: MeasureClock = { now: () => performance.now() },
): Promise<PairedMeasurement> {
  if (!(sliceMs > 0)) throw new Error(`sliceMs must be > 0 (got ${sliceMs})`);
  const total = { ours: { ops: 0, ms: 0, errors: 0 }, theirs: { ops: 0, ms: 0, errors: 0 } };
  const order = ['ours', 'theirs', 'theirs', 'ours'] as const;
  /** A side whose slice started nothing (its time was up at once) is done too. */
  const stalled = new Set<string>();
  const done = (side: 'ours' | 'theirs') =>
    stalled.has(side) || total[side].ms >= bounds.maxMs || total[side].ops + total[side].errors >= bounds.maxOps;
  for (let turn = 0; !(done('ours') && done('theirs')); turn++) {
    const side = order[turn % order.length] as 'ours' | 'theirs';
    if (done(side)) continue;
    const left = bounds.maxOps - total[side].ops - total[side].errors;
    const slice = await measure(side === 'ours' ? ours : theirs, concurrency, { maxOps: left, maxMs: sliceMs }, clock);
    total[side].ops += slice.ops;
    total[side].errors += slice.errors;
    total[side].ms += slice.ms;
    if (slice.ops + slice.errors === 0) stalled.add(side);
  }
  const result = (t: { ops: number; ms: number; errors: number }): Measurement => ({
    ops: t.ops,
    ms: t.ms,
    opsPerSec: (t.ops / Math.max(t.ms, 1e-3)) * 1000,
    errors: t.errors,
  });
  return { ours: result(total.ours), theirs: result(total.theirs) };
}

/** A row of the results: what we measured against whom. */
export interface Row {
  readonly name: string;
  /** Our ops/s. */
  readonly ours: number;
  readonly peer: string;
  /** The peer's ops/s, measured in the same run on the same cluster. */
  readonly peerOps: number;
  /** ours / peerOps. */
  readonly ratio: number;
  readonly concurrency: number;
  /** The target ratio from the issue, when there is one. */
  readonly target?: number;
  /** Whether the target was met (undefined without a target). */
  readonly met?: boolean;
  readonly errors: { readonly ours: number; readonly peer: number };
  readonly note?: string;
  /**
   * 'bytes' for memory rows: `ours`/`peerOps` are bytes (MEMORY USAGE), the ratio is ours / peer and LOWER is better
   * (`met` = ratio <= target). Absent: throughput rows (ops/s, higher is better).
   */
  readonly unit?: 'bytes';
}

/** A memory row: bytes Redis holds for the same thing stored by us and by the peer; lower is better. */
export function memoryRow(input: {
  readonly name: string;
  readonly peer: string;
  readonly ours: number;
  readonly peerBytes: number;
  readonly target?: number;
  readonly note?: string;
}): Row {
  const ratio = Math.round((input.ours / input.peerBytes) * 1000) / 1000;
  return {
    name: input.name,
    ours: input.ours,
    peer: input.peer,
    peerOps: input.peerBytes,
    ratio,
    concurrency: 1,
    ...(input.target === undefined ? {} : { target: input.target, met: ratio <= input.target }),
    errors: { ours: 0, peer: 0 },
    ...(input.note === undefined ? {} : { note: input.note }),
    unit: 'bytes',
  };
}

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Builds a row from PAIRED rounds (peer round i ran right before our round i). On a shared machine the load changes
 * from second to second, so the ratio is the median of the per-pair ratios (both sides of a pair saw about the same
 * load), and ops/s are the medians of each side.
 */
export function toRow(input: {
  readonly name: string;
  readonly peer: string;
  readonly concurrency: number;
  readonly ours: readonly Measurement[];
  readonly peers: readonly Measurement[];
  readonly target?: number;
  readonly note?: string;
}): Row {
  const errors = (ms: readonly Measurement[]) => ms.reduce((s, m) => s + m.errors, 0);
  const ours = median(input.ours.map((m) => m.opsPerSec));
  const peerOps = median(input.peers.map((m) => m.opsPerSec));
  const pairs = Math.min(input.ours.length, input.peers.length);
  const ratios = Array.from({ length: pairs }, (_, i) => {
    const peer = (input.peers[i] as Measurement).opsPerSec;
    return peer > 0 ? (input.ours[i] as Measurement).opsPerSec / peer : Number.POSITIVE_INFINITY;
  });
  const ratio = ratios.length > 0 ? median(ratios) : Number.POSITIVE_INFINITY;
  return {
    name: input.name,
    ours: Math.round(ours),
    peer: input.peer,
    peerOps: Math.round(peerOps),
    ratio: Number.isFinite(ratio) ? Math.round(ratio * 1000) / 1000 : ratio,
    concurrency: input.concurrency,
    ...(input.target === undefined ? {} : { target: input.target, met: ratio >= input.target }),
    errors: { ours: errors(input.ours), peer: errors(input.peers) },
    ...(input.note === undefined ? {} : { note: input.note }),
  };
}

/** Table cells of a row, for the screen. */
export function formatRow(row: Row): string[] {
  const bound = row.unit === 'bytes' ? '<=' : '>=';
  const verdict = row.target === undefined ? '' : `${row.met ? 'met' : 'MISSED'} (${bound} ${row.target}x)`;
  const amount = (n: number) => (row.unit === 'bytes' ? `${n} B` : formatOps(n));
  return [
    row.name,
    row.unit === 'bytes' ? '-' : String(row.concurrency),
    amount(row.ours),
    row.peer,
    amount(row.peerOps),
    `${row.ratio.toFixed(2)}x`,
    verdict,
  ];
}

/** 12345 -> '12.3k', 1234567 -> '1.23M'. */
export function formatOps(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)}M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)}k`;
  return String(Math.round(ops));
}
