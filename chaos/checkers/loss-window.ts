import type { History, Operation } from '../history.ts';

/**
 * A stretch of time in which Redis itself may lose writes it acknowledged, for a reason it documents: the writes
 * acknowledged from `beforeMs` before the `from` marker up to the `to` marker. A checker reports what was lost in it
 * as inherent, not as a failure.
 */
export interface LossWindow {
  /** The marker the window is counted back from (e.g. the moment the kill was sent). */
  readonly from: string;
  readonly beforeMs: number;
  /** The marker that ends it (e.g. the kill done). @default from */
  readonly to?: string;
  /** Only operations on the fault's slots (`affected`), not those of the shards it spared. @default false */
  readonly affectedOnly?: boolean;
}

/** A {@link LossWindow} placed on a history's clock. */
export interface PlacedLossWindow {
  /** The `from` marker: no loss of the window can be seen before it. */
  readonly at: number;
  /** Whether an acknowledged operation (by its end, when the client had the reply) falls in the window. */
  readonly holds: (op: Operation) => boolean;
}

/**
 * `window` on the clock of `history`; undefined when no window is asked for or a marker is missing: nothing is
 * excused without the moment it is counted from.
 */
export function placeLossWindow(history: History, window: LossWindow | undefined): PlacedLossWindow | undefined {
  if (!window) return undefined;
  const from = history.events.find((e) => e.name === window.from)?.at;
  const to = history.events.find((e) => e.name === (window.to ?? window.from))?.at;
  if (from === undefined || to === undefined) return undefined;
  return {
    at: from,
    holds: (op) => op.end >= from - window.beforeMs && op.end <= to && (!window.affectedOnly || op.affected !== false),
  };
}
