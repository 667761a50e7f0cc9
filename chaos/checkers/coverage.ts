import type { History } from '../history.ts';
import type { Verdict } from './verdict.ts';

/**
 * The workloads were still running when the deployment was healthy again: every kind of operation has one that
 * ended after the `until` event. Without it a verdict of "0 failed" could come from a workload that had stopped
 * (its operation cap reached) before the fault did its damage.
 */
export function checkCoverage(history: History, kinds: readonly string[], until = 'healthy'): Verdict {
  const at = history.events.find((e) => e.name === until)?.at;
  const lastEnd = new Map<string, number>();
  for (const op of history.operations) {
    if (kinds.includes(op.kind)) lastEnd.set(op.kind, Math.max(lastEnd.get(op.kind) ?? 0, op.end));
  }
  const short = kinds.filter((kind) => at === undefined || (lastEnd.get(kind) ?? -1) < at);
  return {
    checker: 'workload-coverage',
    ok: short.length === 0,
    summary:
      short.length === 0
        ? `${kinds.join(', ')} ran past '${until}'`
        : `${short.join(', ')} stopped before '${until}'${at === undefined ? ' (no such event)' : ''}`,
    evidence: { until: at ?? null, lastEnd: Object.fromEntries(lastEnd) },
  };
}
