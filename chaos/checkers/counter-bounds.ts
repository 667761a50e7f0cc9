import type { History, Operation } from '../history.ts';
import { type LossWindow, placeLossWindow } from './loss-window.ts';
import type { Verdict } from './verdict.ts';

/** Increments sorted by a time, with prefix sums of their deltas: "how much was added before t" in O(log n). */
class SumBefore {
  readonly #times: number[];
  readonly #sums: number[];
  constructor(incrs: readonly Operation[], time: (op: Operation) => number) {
    const sorted = [...incrs].sort((a, b) => time(a) - time(b));
    this.#times = sorted.map(time);
    this.#sums = [0];
    for (const op of sorted) this.#sums.push((this.#sums.at(-1) ?? 0) + Number(op.value ?? 1));
  }
  /** Sum of the deltas whose time is strictly before `t`. */
  before(t: number): number {
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#times[mid] ?? 0) < t) lo = mid + 1;
      else hi = mid;
    }
    return this.#sums[lo] ?? 0;
  }
}

/**
 * Counters: every observed value of a counter (a `read-counter` result, or the value an `incr` returned) must lie
 * between the sum of increments acknowledged before the observation began and the sum of increments that may have
 * been applied (ok or unknown) by the time it ended. Below the first = an acknowledged increment was lost; above the
 * second = an increment was applied twice or a failed one was applied. Increments whose WAIT saw no replica only
 * raise the upper bound: Redis may lose them in a failover (asynchronous replication); so do those acknowledged in
 * `window` (see {@link checkLostWrites}). O(n log n): histories hold 100 000s of operations.
 */
export function checkCounterBounds(history: History, options: { readonly window?: LossWindow } = {}): Verdict {
  const window = placeLossWindow(history, options.window);
  const inWindow = (op: Operation) => window?.holds(op) ?? false;
  const byKey = new Map<string, Operation[]>();
  for (const op of history.operations) {
    if ((op.kind === 'incr' || op.kind === 'read-counter') && op.key !== undefined) {
      const ops = byKey.get(op.key);
      if (ops) ops.push(op);
      else byKey.set(op.key, [op]);
    }
  }
  const violations: Array<Record<string, unknown>> = [];
  let observations = 0;
  let unreplicated = 0;
  let windowed = 0;
  for (const [key, ops] of byKey) {
    const incrs = ops.filter((op) => op.kind === 'incr');
    // Acknowledged before an observation began: ok increments that ended before its start. One acknowledged by a
    // master alone (WAIT saw no replica) may be lost in a failover, as Redis documents: it counts toward the upper
    // bound only, and is reported. So may one acknowledged in the loss window, for observations that began after its
    // loss could have happened.
    const acknowledgedOk = incrs.filter((op) => op.outcome === 'ok');
    const replicated = acknowledgedOk.filter((op) => op.replicas !== 0);
    unreplicated += acknowledgedOk.filter((op) => op.replicas === 0).length;
    windowed += acknowledgedOk.filter((op) => op.replicas !== 0 && inWindow(op)).length;
    const acknowledged = new SumBefore(replicated, (op) => op.end);
    // Observations that began once the window's loss could have happened (from its marker on) may miss those.
    const acknowledgedAfterLoss = window
      ? new SumBefore(
          replicated.filter((op) => !inWindow(op)),
          (op) => op.end,
        )
      : acknowledged;
    // Possibly applied by the time it ended: increments not known to have failed that started before its end.
    const possible = new SumBefore(
      incrs.filter((op) => op.outcome !== 'failed'),
      (op) => op.start,
    );
    for (const obs of ops) {
      if (obs.outcome !== 'ok' || typeof obs.result !== 'number') continue;
      observations++;
      // An incr's own reply includes its own increment.
      const own = obs.kind === 'incr' && obs.replicas !== 0 ? Number(obs.value ?? 1) : 0;
      const acked = (window && obs.start >= window.at ? acknowledgedAfterLoss : acknowledged).before(obs.start) + own;
      const upper = possible.before(obs.end);
      if (obs.result < acked || obs.result > upper) {
        violations.push({
          key,
          op: obs.id,
          kind: obs.kind,
          start: obs.start,
          end: obs.end,
          observed: obs.result,
          acknowledged: acked,
          possible: upper,
        });
      }
    }
  }
  const ok = violations.length === 0;
  return {
    checker: 'counter-bounds',
    ok,
    summary: `${
      ok
        ? `${observations} counter observations within [acknowledged, attempted]`
        : `${violations.length} of ${observations} counter observations out of bounds`
    }${unreplicated ? `; ${unreplicated} increments acknowledged by a master alone (Redis's documented window)` : ''}${
      windowed ? `; ${windowed} acknowledged in the loss window, which may be lost` : ''
    }`,
    evidence: {
      observations,
      unreplicatedIncrements: unreplicated,
      windowIncrements: windowed,
      violations: violations.slice(0, 20),
    },
  };
}
