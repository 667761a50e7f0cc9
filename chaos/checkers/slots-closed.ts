import type { History } from '../history.ts';
import type { Verdict } from './verdict.ts';

/**
 * `redis-cli --cluster check` was clean (every slot covered, none left MIGRATING/IMPORTING) within `withinMs` of the
 * fault: the `slots:clean` marker came, and soon enough after `fault:start`.
 */
export function checkSlotsClosed(history: History, withinMs: number): Verdict {
  const start = history.events.find((e) => e.name === 'fault:start')?.at;
  const clean = history.events.find((e) => e.name === 'slots:clean')?.at;
  const open = history.events.find((e) => e.name === 'slots:open');
  const tookMs = start !== undefined && clean !== undefined ? clean - start : null;
  const ok = tookMs !== null && tookMs <= withinMs;
  return {
    checker: 'slots-closed',
    ok,
    summary:
      tookMs === null
        ? `open slots still open ${withinMs} ms after the fault${open?.detail ? ` (${open.detail})` : ''}`
        : `cluster check clean ${Math.round(tookMs)} ms after the fault (limit ${withinMs} ms)`,
    evidence: { tookMs, withinMs, ...(open?.detail ? { open: open.detail } : {}) },
  };
}

/**
 * An interrupted move (a scale step) completed anyway: the `move:completed` marker came within `withinMs` of
 * `fault:start` (every master serves slots, the cluster check is clean).
 */
export function checkMoveCompleted(history: History, withinMs: number): Verdict {
  const start = history.events.find((e) => e.name === 'fault:start')?.at;
  const done = history.events.find((e) => e.name === 'move:completed');
  const stuck = history.events.find((e) => e.name === 'move:incomplete');
  const ended = history.events.find((e) => e.name === 'migration:ended')?.detail ?? '';
  const tookMs = start !== undefined && done !== undefined ? done.at - start : null;
  return {
    checker: 'move-completed',
    ok: tookMs !== null && tookMs <= withinMs,
    summary:
      tookMs === null
        ? `the interrupted move did not complete within ${withinMs} ms (${stuck?.detail ?? 'no marker'}; ${ended})`
        : `the interrupted move completed ${Math.round(tookMs)} ms after the kill (limit ${withinMs} ms; ${done?.detail}; ${ended})`,
    evidence: { tookMs, withinMs, ended, ...(done?.detail ? { completed: done.detail } : {}) },
  };
}
