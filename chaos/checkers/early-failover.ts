import type { History } from '../history.ts';
import { failoverTimeline } from '../observe/index.ts';
import type { CheckContext } from '../scenario.ts';
import { EARLY_FAILOVER_TOLERANCE_MS } from '../thresholds.ts';
import type { Verdict } from './verdict.ts';

/**
 * Whether the faulted master's replica was promoted no earlier than the node timeout after the fault (less
 * {@link EARLY_FAILOVER_TOLERANCE_MS}): a failure detector faster than Redis's own (the failover assist) must still
 * not fail over a master silent for less than the node timeout. Passes when nothing was promoted. Not for a drill
 * whose faulted master itself hands its slots over (kill-master: the restarted-master guard of maintain.sh).
 */
export function checkNoEarlyFailover(history: History, ctx: CheckContext): Verdict {
  const timeline = failoverTimeline(history, ctx.effect, ctx.nodeTimeoutMs);
  const promoted = timeline?.phases.find((p) => p.phase === 'promoted')?.atMs ?? null;
  const earliestMs = ctx.nodeTimeoutMs - EARLY_FAILOVER_TOLERANCE_MS;
  const ok = promoted === null || promoted >= earliestMs;
  const summary =
    promoted === null
      ? 'no replica promoted'
      : `replica promoted ${Math.round(promoted)} ms after the fault: ${ok ? 'not before' : 'BEFORE'} the node timeout (${ctx.nodeTimeoutMs} ms, less ${EARLY_FAILOVER_TOLERANCE_MS} ms)`;
  return {
    checker: 'no-early-failover',
    ok,
    summary,
    evidence: { promotedAtMs: promoted, nodeTimeoutMs: ctx.nodeTimeoutMs, earliestMs },
  };
}
