import type { History, HistoryEvent } from '../history.ts';
import type { FaultEffect } from '../scenario.ts';

/** The phases of a failover, in the order Redis Cluster goes through them. */
export const FAILOVER_PHASES = [
  'fault injected',
  'first pfail',
  'fail agreed',
  'election started',
  'promoted',
  'client slot map',
  'first acknowledged write',
  'fault ended',
] as const;
export type FailoverPhaseName = (typeof FAILOVER_PHASES)[number];

/** One phase: when it happened, ms after the fault (null when it was not seen), and what showed it. */
export interface FailoverPhase {
  readonly phase: FailoverPhaseName;
  readonly atMs: number | null;
  readonly detail?: string;
}

/** The failover timeline of one run: every phase, and whether a replica was promoted at all. */
export interface FailoverTimeline {
  readonly pod: string;
  readonly failedOver: boolean;
  readonly phases: readonly FailoverPhase[];
  /** `first acknowledged write` minus the node timeout: what the issue's target bounds (null when not seen). */
  readonly beyondNodeTimeoutMs: number | null;
}

/**
 * The failover timeline of a run from its history: the node observer's events (`node:*`), the client's slot map
 * changes (`client:slot-map`) and the operations. Pure, so it is tested on hand-written histories. Returns undefined
 * when the run has no fault marker or the fault hit no single pod.
 */
export function failoverTimeline(
  history: History,
  effect: FaultEffect,
  nodeTimeoutMs: number,
): FailoverTimeline | undefined {
  // From the moment the fault was in force when the fault marked it (the runner's `fault:inject` comes before the
  // target was even asked which master to hit).
  const injectAt = history.events.find((e) => e.name === 'fault:inject')?.at;
  const faultAt = history.events.find((e) => e.name === 'fault:start')?.at ?? injectAt;
  const appliedAt = history.events.find((e) => e.name === 'fault:applied')?.at;
  const pod = effect.pods[0];
  if (faultAt === undefined || pod === undefined) return undefined;
  const after = history.events.filter((e) => e.at >= faultAt);
  const faulted = new Set(effect.pods);
  const first = (name: string, test: (e: HistoryEvent) => boolean = () => true) =>
    after.find((e) => e.name === name && test(e));
  const subjectIsFaulted = (e: HistoryEvent) => faulted.has(e.detail?.split(' -> ')[1] ?? '');
  const observerIsOther = (e: HistoryEvent) => !faulted.has(e.detail?.split(' ')[0] ?? '');
  const promoted = first('node:promoted', observerIsOther);
  const slotMap = first('client:slot-map', (e) => touches(e.detail ?? '', effect.affectedSlots));
  // The first write on the affected slots acknowledged after the promotion (or, without one, after the last failure).
  const writes = history.operations.filter((op) => op.kind === 'write' && op.affected !== false);
  const since = promoted?.at ?? lastFailureStart(writes, faultAt);
  const firstWrite = writes.find((op) => op.outcome === 'ok' && op.start >= since);
  const event = (phase: FailoverPhaseName, e: HistoryEvent | undefined): FailoverPhase => ({
    phase,
    atMs: e ? e.at - faultAt : null,
    ...(e?.detail ? { detail: e.detail } : {}),
  });
  const phases: FailoverPhase[] = [
    {
      phase: 'fault injected',
      atMs: 0,
      detail: `${effect.description}${injectAt === undefined ? '' : ` (in force ${Math.round(faultAt - injectAt)} ms after the runner's mark${appliedAt === undefined ? '' : `, complete ${Math.round(appliedAt - faultAt)} ms later`})`}`,
    },
    event('first pfail', first('node:pfail', subjectIsFaulted)),
    event('fail agreed', first('node:fail', subjectIsFaulted)),
    event('election started', first('node:election', observerIsOther)),
    event('promoted', promoted),
    event('client slot map', slotMap),
    {
      phase: 'first acknowledged write',
      atMs: firstWrite ? firstWrite.end - faultAt : null,
      ...(firstWrite?.key ? { detail: firstWrite.key } : {}),
    },
    // Only a fault that lifts itself marks its end (a SIGKILL has none: the restart is the pod's own).
    event('fault ended', first('fault:end')),
  ];
  const written = phases.find((p) => p.phase === 'first acknowledged write')?.atMs ?? null;
  return {
    pod,
    failedOver: promoted !== undefined,
    phases,
    beyondNodeTimeoutMs: written === null ? null : written - nodeTimeoutMs,
  };
}

/** Start of the last failed affected write after the fault (the fault itself when none failed). */
function lastFailureStart(writes: History['operations'], faultAt: number): number {
  let last = faultAt;
  for (const op of writes) if (op.outcome !== 'ok' && op.start >= last) last = op.start;
  return last;
}

/** Whether a `client:slot-map` detail (`FROM-TO ADDRESS`) overlaps the affected ranges (all, when none given). */
function touches(detail: string, ranges: FaultEffect['affectedSlots']): boolean {
  if (ranges.length === 0) return true;
  const [from, to] = (detail.split(' ')[0] ?? '').split('-').map(Number);
  if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to)) return false;
  return ranges.some(([a, b]) => from <= b && to >= a);
}

/** The phases seen, in the order they happened, each with its step from the one before. */
export function timelineRows(timeline: FailoverTimeline): Array<FailoverPhase & { stepMs: number | null }> {
  const seen = timeline.phases.filter((p) => p.atMs !== null).sort((a, b) => (a.atMs ?? 0) - (b.atMs ?? 0));
  const unseen = timeline.phases.filter((p) => p.atMs === null);
  return [
    ...seen.map((p, i) => ({ ...p, stepMs: (p.atMs ?? 0) - (i === 0 ? 0 : (seen[i - 1]?.atMs ?? 0)) })),
    ...unseen.map((p) => ({ ...p, stepMs: null })),
  ];
}

/** One line per phase, in the order they happened: `name  +ms (+step)  detail`, for the console. */
export function timelineLines(timeline: FailoverTimeline): string[] {
  return timelineRows(timeline).map((p) =>
    p.atMs === null
      ? `${p.phase.padEnd(25)} not seen`
      : `${p.phase.padEnd(25)} +${Math.round(p.atMs)} ms (+${Math.round(p.stepMs ?? 0)})${p.detail ? `  ${p.detail}` : ''}`,
  );
}
