import type { History } from '../history.ts';
import type { Verdict } from './verdict.ts';

/**
 * Planned operations (rolling restart, resharding, scaling) must cost clients nothing: at most `budget` operations
 * (of the given kinds; all by default) may end failed or unknown.
 */
export function checkErrorBudget(history: History, budget: number, kinds?: readonly string[]): Verdict {
  const counted = history.operations.filter((op) => !kinds || kinds.includes(op.kind));
  const bad = counted.filter((op) => op.outcome !== 'ok');
  const ok = bad.length <= budget;
  const errors = new Map<string, number>();
  for (const op of bad) errors.set(op.error ?? op.outcome, (errors.get(op.error ?? op.outcome) ?? 0) + 1);
  return {
    checker: 'error-budget',
    ok,
    summary: `${bad.length} of ${counted.length} operations failed or unknown (budget ${budget})`,
    evidence: { failedOperations: bad.length, operations: counted.length, budget, errors: Object.fromEntries(errors) },
  };
}
