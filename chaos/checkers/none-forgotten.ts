import type { History } from '../history.ts';
import type { Verdict } from './verdict.ts';

/**
 * No member forgot another while the fault ran: the node observer saw no node id leave any member's CLUSTER NODES
 * (`node:forgotten`). Stalls, throttling and overload make members fail and come back; the healer must not remove
 * them.
 */
export function checkNoneForgotten(history: History): Verdict {
  const forgotten = history.events.filter((e) => e.name === 'node:forgotten');
  return {
    checker: 'none-forgotten',
    ok: forgotten.length === 0,
    summary:
      forgotten.length === 0
        ? 'no member forgot another'
        : `${forgotten.length} times a member forgot another: ${forgotten
            .slice(0, 3)
            .map((e) => e.detail)
            .join('; ')}`,
    evidence: { forgotten: forgotten.slice(0, 20).map((e) => ({ at: Math.round(e.at), detail: e.detail })) },
  };
}
