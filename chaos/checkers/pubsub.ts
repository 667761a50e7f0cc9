import type { History, Operation } from '../history.ts';
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
  /** Sharded subscriptions the client found lost and sent again (`resubscribe` operations; reported, not judged). */
  readonly resubscribed: number;
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
  // One pass over the history (ordered by start): each channel's publishes and receives.
  const byChannel = new Map<string, { publishes: Operation[]; receives: Operation[] }>();
  const of = (key: string) => {
    let ops = byChannel.get(key);
    if (!ops) {
      ops = { publishes: [], receives: [] };
      byChannel.set(key, ops);
    }
    return ops;
  };
  let published = 0;
  let acknowledged = 0;
  let received = 0;
  let resubscribed = 0;
  for (const op of history.operations) {
    if (op.kind === 'resubscribe') resubscribed++;
    if (op.kind === 'publish') {
      of(op.key as string).publishes.push(op);
      published++;
      if (op.outcome === 'ok') acknowledged++;
    } else if (op.kind === 'receive') {
      of(op.key as string).receives.push(op);
      received++;
    }
  }
  // The channels the publisher sent on.
  const channels = [...byChannel.keys()].filter((c) => (byChannel.get(c)?.publishes.length ?? 0) > 0).sort();
  let lostBeforeResume = 0;
  let lostAfterResume = 0;
  let duplicates = 0;
  const duplicateSamples: Array<{ channel: string; seq: number; publishedMs: number | null; receivedMs: number[] }> =
    [];
  let unexpected = 0;
  let longestSilenceMs = 0;
  const notResumed: string[] = [];
  for (const channel of channels) {
    const ops = byChannel.get(channel) as { publishes: Operation[]; receives: Operation[] };
    const got = new Map<number, number>();
    for (const op of ops.receives) got.set(op.value as number, (got.get(op.value as number) ?? 0) + 1);
    const sent = ops.publishes.filter((op) => op.outcome === 'ok');
    const resumed = sent.find((op) => op.start >= healthyAt && got.has(op.value as number));
    if (!resumed) notResumed.push(channel);
    for (const op of sent) {
      if (got.has(op.value as number)) continue;
      if (resumed && op.start >= resumed.start) lostAfterResume++;
      else lostBeforeResume++;
    }
    const sentValues = new Set(ops.publishes.map((op) => op.value as number));
    for (const [seq, count] of got) {
      if (count > 1) {
        duplicates += count - 1;
        // When it was published and when each copy came, ms after the fault: what tells a second subscription
        // (both copies at once) from a late re-delivery (the second copy long after the first).
        if (duplicateSamples.length < 20) {
          const publish = ops.publishes.find((op) => op.value === seq);
          duplicateSamples.push({
            channel,
            seq,
            publishedMs: publish ? Math.round(publish.start - faultAt) : null,
            receivedMs: ops.receives.filter((op) => op.value === seq).map((op) => Math.round(op.start - faultAt)),
          });
        }
      }
      if (!sentValues.has(seq)) unexpected += count;
    }
    let previous = faultAt;
    for (const op of ops.receives) {
      if (op.start < faultAt) continue;
      longestSilenceMs = Math.max(longestSilenceMs, op.start - previous);
      previous = op.start;
    }
  }
  const figures: PubSubFigures = {
    channels: channels.length,
    published,
    acknowledged,
    received,
    lostBeforeResume,
    lostAfterResume,
    duplicates,
    unexpected,
    resubscribed,
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
    resubscribed ? `(the client sent ${resubscribed} lost subscription(s) again)` : '',
  ].filter(Boolean);
  return {
    checker: 'pubsub-delivery',
    ok,
    summary: ok
      ? `${figures.received} of ${figures.acknowledged} acknowledged messages received on ${channels.length} channels; delivery resumed on each after the fault (${lostBeforeResume} lost before it, at-most-once; longest silence ${figures.longestSilenceMs} ms${resubscribed ? `; ${resubscribed} lost subscription(s) sent again by the client` : ''})`
      : problems.join('; '),
    evidence: { ...figures, ...(duplicateSamples.length ? { duplicateSamples } : {}) },
  };
}
