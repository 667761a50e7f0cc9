import type { History, Operation } from '../history.ts';
import type { Verdict } from './verdict.ts';

/** Options of {@link checkRecovery}. */
export interface RecoveryOptions {
  /** The verdict fails when recovery takes longer. */
  readonly maxRecoveryMs: number;
  /** An ok operation slower than this counts as degraded (a client that retries hides outages in latency). @default 1000 */
  readonly slowMs?: number;
  /** @default 'fault:start' (the fault in force) when the fault marked it, else 'fault:inject' (the runner's mark) */
  readonly faultEvent?: string;
  /** Only operations marked `affected` count. @default true */
  readonly affectedOnly?: boolean;
  /** Kinds that count. @default ['write'] */
  readonly kinds?: readonly string[];
}

/** The figures behind a recovery verdict. */
export interface RecoveryFigures {
  /** Fault to the first success after the last failed or slow operation; 0 when nothing failed. */
  readonly recoveryMs: number | null;
  /** Fault to the first 500 ms bucket with at least 80% of the pre-fault throughput. */
  readonly steadyMs: number | null;
  readonly failedOperations: number;
  /** The operation recovery is counted from: the last failed or slow one (ms after the fault), for reading a failure. */
  readonly lastBad?: { kind: string; key?: string; startMs: number; endMs: number; outcome: string; error?: string };
}

const BUCKET_MS = 500;
const STEADY_FRACTION = 0.8;

/** Measures how long the operations the fault affects took to succeed again, and to return to steady throughput. */
export function measureRecovery(
  history: History,
  options: Omit<RecoveryOptions, 'maxRecoveryMs'> = {},
): RecoveryFigures {
  const named = (name: string) => history.events.find((e) => e.name === name)?.at;
  const faultAt = options.faultEvent ? named(options.faultEvent) : (named('fault:start') ?? named('fault:inject'));
  const kinds = new Set(options.kinds ?? ['write']);
  const slowMs = options.slowMs ?? 1000;
  const ops = history.operations.filter(
    (op) => kinds.has(op.kind) && (options.affectedOnly === false || op.affected !== false),
  );
  if (faultAt === undefined) return { recoveryMs: null, steadyMs: null, failedOperations: 0 };
  const after = ops.filter((op) => op.start >= faultAt || op.end >= faultAt);
  const bad = (op: Operation) => op.outcome !== 'ok' || op.end - op.start > slowMs;
  const failedOperations = after.filter((op) => op.outcome !== 'ok').length;
  const badOps = after.filter(bad);
  let recoveryMs: number | null = 0;
  if (badOps.length > 0) {
    const lastBad = badOps.reduce((a, b) => (b.start > a.start ? b : a));
    const recoveredAt =
      lastBad.outcome === 'ok'
        ? lastBad.end
        : minOf(after.filter((op) => op.outcome === 'ok' && op.start >= lastBad.start).map((op) => op.end));
    recoveryMs = Number.isFinite(recoveredAt) ? recoveredAt - faultAt : null;
    return {
      recoveryMs,
      steadyMs: steadyAfter(ops, faultAt),
      failedOperations,
      lastBad: {
        kind: lastBad.kind,
        ...(lastBad.key === undefined ? {} : { key: lastBad.key }),
        startMs: Math.round(lastBad.start - faultAt),
        endMs: Math.round(lastBad.end - faultAt),
        outcome: lastBad.outcome,
        ...(lastBad.error === undefined ? {} : { error: lastBad.error }),
      },
    };
  }
  return { recoveryMs, steadyMs: steadyAfter(ops, faultAt), failedOperations };
}

function steadyAfter(ops: readonly Operation[], faultAt: number): number | null {
  const okEnds = ops
    .filter((op) => op.outcome === 'ok')
    .map((op) => op.end)
    .sort((a, b) => a - b);
  const first = minOf(ops.map((op) => op.start));
  const baselineBuckets = Math.floor((faultAt - first) / BUCKET_MS);
  if (baselineBuckets < 1) return null;
  // Sorted ends: "how many ended before t" is a binary search.
  const countBefore = (t: number) => {
    let lo = 0;
    let hi = okEnds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((okEnds[mid] ?? 0) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const baseline = (countBefore(faultAt) - countBefore(faultAt - baselineBuckets * BUCKET_MS)) / baselineBuckets;
  const last = okEnds.at(-1) ?? faultAt;
  for (let t = faultAt; t + BUCKET_MS <= last; t += BUCKET_MS / 5) {
    const count = countBefore(t + BUCKET_MS) - countBefore(t);
    if (count >= baseline * STEADY_FRACTION) return t + BUCKET_MS - faultAt;
  }
  return null;
}

/** The smallest value (Infinity when none); a loop, because Math.min(...xs) overflows the stack on 100 000s. */
export function minOf(values: readonly number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return min;
}

/** The largest value (-Infinity when none). */
export function maxOf(values: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** Fails when the affected operations did not succeed again within `maxRecoveryMs` of the fault. */
export function checkRecovery(history: History, options: RecoveryOptions): Verdict {
  const figures = measureRecovery(history, options);
  const ok = figures.recoveryMs !== null && figures.recoveryMs <= options.maxRecoveryMs;
  return {
    checker: 'recovery-time',
    ok,
    summary:
      figures.recoveryMs === null
        ? 'never recovered'
        : `recovered in ${Math.round(figures.recoveryMs)} ms (limit ${options.maxRecoveryMs} ms), steady after ${figures.steadyMs === null ? 'never' : `${Math.round(figures.steadyMs)} ms`}`,
    evidence: { ...figures, maxRecoveryMs: options.maxRecoveryMs },
  };
}
