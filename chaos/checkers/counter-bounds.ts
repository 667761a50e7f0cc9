import type { History, Operation } from '../history.ts';
import type { Verdict } from './verdict.ts';

/**
 * Counters: every observed value of a counter (a `read-counter` result, or the value an `incr` returned) must lie
 * between the sum of increments acknowledged before the observation began and the sum of increments that may have
 * been applied (ok or unknown) by the time it ended. Below the first = an acknowledged increment was lost; above the
 * second = an increment was applied twice or a failed one was applied.
 */
export function checkCounterBounds(history: History): Verdict {
  const byKey = new Map<string, Operation[]>();
  for (const op of history.operations) {
    if ((op.kind === 'incr' || op.kind === 'read-counter') && op.key !== undefined) {
      byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
    }
  }
  const violations: Array<Record<string, unknown>> = [];
  let observations = 0;
  for (const [key, ops] of byKey) {
    const incrs = ops.filter((op) => op.kind === 'incr');
    for (const obs of ops) {
      if (obs.outcome !== 'ok' || typeof obs.result !== 'number') continue;
      observations++;
      let acked = 0;
      let possible = 0;
      for (const inc of incrs) {
        const delta = Number(inc.value ?? 1);
        if (inc === obs || (inc.outcome === 'ok' && inc.end < obs.start)) acked += delta;
        if (inc === obs || (inc.outcome !== 'failed' && inc.start < obs.end)) possible += delta;
      }
      if (obs.result < acked || obs.result > possible) {
        violations.push({ key, op: obs.id, observed: obs.result, acknowledged: acked, possible });
      }
    }
  }
  const ok = violations.length === 0;
  return {
    checker: 'counter-bounds',
    ok,
    summary: ok
      ? `${observations} counter observations within [acknowledged, attempted]`
      : `${violations.length} of ${observations} counter observations out of bounds`,
    evidence: { observations, violations: violations.slice(0, 20) },
  };
}
