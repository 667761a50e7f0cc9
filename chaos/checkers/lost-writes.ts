import type { History, Operation } from '../history.ts';
import { type LossWindow, placeLossWindow } from './loss-window.ts';
import type { Verdict } from './verdict.ts';

/** Options of {@link checkLostWrites}. */
export interface LostWritesOptions {
  /**
   * Writes acknowledged in this window may be lost for a reason Redis itself documents (AOF `everysec` when every
   * copy dies at once). They are reported on their own line, not failed. @default none
   */
  readonly window?: LossWindow;
  /** Kinds of write operations to verify. @default ['write', 'client-write'] */
  readonly kinds?: readonly string[];
}

/**
 * Every acknowledged write (kind `write` or `client-write`, outcome ok, unique key) must be read back with its value by a `verify`
 * operation after the fault healed. A write whose WAIT confirmed no replica (`result === 0`) may be lost by Redis's
 * asynchronous replication, which Redis documents: such losses are reported as inherent, as are writes acknowledged
 * in the `window`. A write with no successful verification read counts as lost:
 * the checker cannot prove it survived.
 */
export function checkLostWrites(history: History, options: LostWritesOptions = {}): Verdict {
  const window = placeLossWindow(history, options.window);
  const verified = new Map<string, Operation>();
  for (const op of history.operations) {
    if (op.kind === 'verify' && op.key !== undefined && op.outcome === 'ok') verified.set(op.key, op);
  }
  const kinds = options.kinds ?? ['write', 'client-write'];
  const acknowledged = history.operations.filter((op) => kinds.includes(op.kind) && op.outcome === 'ok');
  const lost: Operation[] = [];
  const inherent: Operation[] = [];
  for (const write of acknowledged) {
    const read = verified.get(write.key ?? '');
    if (read && String(read.result) === String(write.value)) continue;
    (write.result === 0 || window?.holds(write) ? inherent : lost).push(write);
  }
  const ok = lost.length === 0;
  return {
    checker: 'lost-acknowledged-writes',
    ok,
    summary: ok
      ? `0 of ${acknowledged.length} acknowledged writes lost${inherent.length ? `; ${inherent.length} lost inside Redis's documented window` : ''}`
      : `${lost.length} of ${acknowledged.length} acknowledged writes lost`,
    evidence: {
      acknowledged: acknowledged.length,
      lost: lost.length,
      inherentLoss: inherent.length,
      lostKeys: lost.slice(0, 20).map((op) => op.key),
      inherentKeys: inherent.slice(0, 20).map((op) => op.key),
    },
  };
}
