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
