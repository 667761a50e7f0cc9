import type { History } from '../history.ts';
import type { Verdict } from './verdict.ts';

/** What the pub/sub checker found (the verdict's evidence). */
export interface PubSubFigures {
  readonly channels: number;
  readonly published: number;
  readonly acknowledged: number;
  readonly received: number;
  /** Acknowledged messages not received before delivery resumed on their channel (at-most-once: reported). */
  readonly lostBeforeResume: number;
  /** Acknowledged messages not received although delivery had resumed on their channel (judged: must be 0). */
  readonly lostAfterResume: number;
  /** Messages received more than once, or received but never published on that channel (judged: must be 0). */
  readonly duplicates: number;
  readonly unexpected: number;
  /** Channels with no acknowledged message published after 'healthy' received (judged: must be none). */
  readonly notResumed: readonly string[];
  /** The longest time a channel went without a message between the fault and the end of the run. */
  readonly longestSilenceMs: number;
}

/**
 * Pub/sub through a fault (workload `pubsub-delivery`): Redis pub/sub is at-most-once, so messages published while a
 * subscriber reconnects or its master fails over may be lost, and are only reported. What is judged: on every channel
 * delivery resumed after the deployment was healthy again (a message published after 'healthy' arrived), no message
 * acknowledged after that first one was lost (no holes once resubscribed), and no message arrived twice or unasked.
 */
export function checkPubSubDelivery(history: History): Verdict {
  const healthyAt = history.events.find((e) => e.name === 'healthy')?.at ?? 0;
  const faultAt = history.events.find((e) => e.name === 'fault:inject')?.at ?? 0;
  const publishes = history.operations.filter((op) => op.kind === 'publish');
  const receives = history.operations.filter((op) => op.kind === 'receive');
  const channels = [...new Set(publishes.map((op) => op.key as string))].sort();
  const got = new Map<string, Map<number, number>>();
  for (const op of receives) {
    const byChannel = got.get(op.key as string) ?? new Map<number, number>();
    got.set(op.key as string, byChannel);
    byChannel.set(op.value as number, (byChannel.get(op.value as number) ?? 0) + 1);
  }
  let lostBeforeResume = 0;
  let lostAfterResume = 0;
  let duplicates = 0;
  let unexpected = 0;
  let longestSilenceMs = 0;
  const notResumed: string[] = [];
  const acknowledged = publishes.filter((op) => op.outcome === 'ok');
  for (const channel of channels) {
    const received = got.get(channel) ?? new Map<number, number>();
    const sent = acknowledged.filter((op) => op.key === channel);
    const resumed = sent.find((op) => op.start >= healthyAt && received.has(op.value as number));
    if (!resumed) notResumed.push(channel);
    for (const op of sent) {
      if (received.has(op.value as number)) continue;
      if (resumed && op.start >= resumed.start) lostAfterResume++;
      else lostBeforeResume++;
    }
    const published = new Set(publishes.filter((op) => op.key === channel).map((op) => op.value as number));
    for (const [seq, count] of received) {
      if (count > 1) duplicates += count - 1;
      if (!published.has(seq)) unexpected += count;
    }
    let previous = faultAt;
    for (const op of receives) {
      if (op.key !== channel || op.start < faultAt) continue;
      longestSilenceMs = Math.max(longestSilenceMs, op.start - previous);
      previous = op.start;
    }
  }
  const figures: PubSubFigures = {
    channels: channels.length,
    published: publishes.length,
    acknowledged: acknowledged.length,
    received: receives.length,
    lostBeforeResume,
    lostAfterResume,
    duplicates,
    unexpected,
    notResumed,
    longestSilenceMs: Math.round(longestSilenceMs),
  };
  const ok =
    channels.length > 0 && notResumed.length === 0 && lostAfterResume === 0 && duplicates === 0 && unexpected === 0;
  const problems = [
    channels.length === 0 ? 'nothing was published' : '',
    notResumed.length ? `delivery never resumed on ${notResumed.join(', ')}` : '',
    lostAfterResume ? `${lostAfterResume} messages lost after delivery resumed` : '',
    duplicates ? `${duplicates} messages delivered twice` : '',
    unexpected ? `${unexpected} messages nobody published` : '',
  ].filter(Boolean);
  return {
    checker: 'pubsub-delivery',
    ok,
    summary: ok
      ? `${figures.received} of ${figures.acknowledged} acknowledged messages received on ${channels.length} channels; delivery resumed on each after the fault (${lostBeforeResume} lost before it, at-most-once; longest silence ${figures.longestSilenceMs} ms)`
      : problems.join('; '),
    evidence: { ...figures },
  };
}
