import type { LossWindow } from './checkers/index.ts';
import {
  checkCounterBounds,
  checkCoverage,
  checkErrorBudget,
  checkLostWrites,
  checkNoEarlyFailover,
  checkPubSubDelivery,
  checkRecovery,
} from './checkers/index.ts';
import type { Verdict } from './checkers/verdict.ts';
import type { History } from './history.ts';
import { failoverTimeline } from './observe/failover-timeline.ts';
import type { CheckContext } from './scenario.ts';
import { KILL_MASTER_RECOVERY_MARGIN_MS, LARGE_FULL_RESYNC_MIN_MS, PLANNED_ERROR_BUDGET } from './thresholds.ts';

/**
 * The verdicts the scenarios of scenarios.ts share: which checkers judge an unplanned failover, a planned operation,
 * a fault that must lose nothing, with their options.
 */
/** The operations of those workloads whose coverage of the whole fault is checked. */
export const WORKLOAD_KINDS = ['write', 'incr', 'client-write', 'get-or-set', 'publish'];

/** Lost writes + counter bounds + recovery within node timeout + margin: the verdicts of an unplanned failover. */
export function failoverVerdicts(history: History, ctx: CheckContext): Verdict[] {
  const recovery = checkRecovery(history, { maxRecoveryMs: ctx.nodeTimeoutMs + KILL_MASTER_RECOVERY_MARGIN_MS });
  // Honest about what was measured: a killed container usually restarts in place before its node timeout, and then
  // recovery is the restart, not a failover (the node observer saw no replica promoted).
  const failedOver = failoverTimeline(history, ctx.effect, ctx.nodeTimeoutMs)?.failedOver;
  return [
    checkLostWrites(history),
    checkCounterBounds(history),
    {
      ...recovery,
      summary: `${recovery.summary}; ${failedOver === undefined ? 'failover not observed (no node observer)' : failedOver ? 'by failover: a replica was promoted' : 'by the killed master restarting in place: NO failover happened'}`,
      evidence: { ...recovery.evidence, failedOver: failedOver ?? null },
    },
    // getOrSet keeps serving through a failover: the client retries to its deadline and serves stale values.
    { ...checkErrorBudget(history, 0, ['get-or-set']), checker: 'get-or-set-served' },
    checkPubSubDelivery(history),
    checkCoverage(history, WORKLOAD_KINDS),
    // Not no-early-failover: the killed master restarts in place and hands its slots to its replica itself (the
    // restarted-master guard, maintain.sh), a planned hand-over within a second of the kill.
  ];
}

/** The drill's precondition: the rollout saw a full resync at least {@link LARGE_FULL_RESYNC_MIN_MS} long. */
export function checkLongFullResync(ctx: CheckContext): Verdict {
  const longest = ctx.effect.figures?.longestFullResyncMs ?? 0;
  return {
    checker: 'long-full-resync',
    ok: longest >= LARGE_FULL_RESYNC_MIN_MS,
    summary: `longest full resync ${longest} ms (needs >= ${LARGE_FULL_RESYNC_MIN_MS} ms for the drill to prove the readiness gate)`,
    evidence: { ...ctx.effect.figures },
  };
}

/**
 * Lost writes + counter bounds + zero failed operations through @slotforge/client: the verdicts of a planned
 * operation. The raw ioredis workloads' failures are reported in the figures, not judged: the promise is the client's.
 */
export function plannedVerdicts(history: History): Verdict[] {
  return [
    checkLostWrites(history),
    checkCounterBounds(history),
    {
      ...checkErrorBudget(history, PLANNED_ERROR_BUDGET, ['client-write', 'get-or-set']),
      checker: 'client-error-budget',
    },
    checkPubSubDelivery(history),
    checkCoverage(history, WORKLOAD_KINDS),
  ];
}

/** Whether the node observer saw `pod` persist to an AOF fsynced every second (`node:persistence`). */
export function ranEverysec(history: History, pod: string | undefined): boolean {
  return history.events.some(
    (e) => e.name === 'node:persistence' && e.detail === `${pod} appendonly=yes appendfsync=everysec`,
  );
}

/**
 * What every scenario that loses no data must show: nothing acknowledged lost, counters in bounds, pub/sub delivered.
 * `window`: where Redis itself may lose acknowledged writes and increments (reported, not failed).
 */
export function integrityVerdicts(history: History, ctx: CheckContext, window?: LossWindow): Verdict[] {
  const options = window ? { window } : {};
  return [
    checkLostWrites(history, options),
    checkCounterBounds(history, options),
    checkPubSubDelivery(history),
    checkCoverage(history, WORKLOAD_KINDS),
    checkNoEarlyFailover(history, ctx),
  ];
}
