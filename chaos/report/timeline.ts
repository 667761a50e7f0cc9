import { maxOf } from '../checkers/index.ts';
import type { History } from '../history.ts';

/** One time bucket of a run, for the report's chart. */
export interface TimelineBucket {
  /** Bucket start, ms since the run started. */
  readonly at: number;
  /** Successful operations per second in this bucket. */
  readonly okPerSecond: number;
  /** Failed or unknown operations per second. */
  readonly errorsPerSecond: number;
  /** 99th percentile latency of the operations that ended in this bucket, ms (null when none). */
  readonly p99Ms: number | null;
}

/** Buckets the non-verify operations of a history by end time. */
export function timeline(history: History, bucketMs = 250): TimelineBucket[] {
  const ops = history.operations.filter((op) => op.kind !== 'verify');
  if (ops.length === 0) return [];
  const last = maxOf(ops.map((op) => op.end));
  // The last bucket is cut short by the end of the run: leave it out rather than draw a false drop.
  const buckets: Array<{ ok: number; errors: number; latencies: number[] }> = Array.from(
    { length: Math.max(1, Math.floor(last / bucketMs)) },
    () => ({ ok: 0, errors: 0, latencies: [] }),
  );
  for (const op of ops) {
    const b = buckets[Math.floor(op.end / bucketMs)];
    if (!b) continue;
    if (op.outcome === 'ok') b.ok++;
    else b.errors++;
    b.latencies.push(op.end - op.start);
  }
  const perSecond = 1000 / bucketMs;
  return buckets.map((b, i) => ({
    at: i * bucketMs,
    okPerSecond: b.ok * perSecond,
    errorsPerSecond: b.errors * perSecond,
    p99Ms: percentile(b.latencies, 0.99),
  }));
}

/** The q-quantile (nearest rank) of `values`, or null when empty. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}
