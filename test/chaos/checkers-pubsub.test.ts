import { keySlot } from '@slotforge/client';
import { describe, expect, it } from 'vitest';
import { checkPubSubDelivery } from '../../chaos/checkers/index.ts';
import type { History, Operation } from '../../chaos/index.ts';
import { spreadChannels } from '../../chaos/workloads/index.ts';

// The pub/sub delivery checker and the pub/sub workload's channel spread (carved from checkers.test.ts).
let nextId = 0;
const op = (o: Partial<Operation> & Pick<Operation, 'kind' | 'start' | 'end'>): Operation => ({
  id: nextId++,
  outcome: 'ok',
  ...o,
});

describe('checkPubSubDelivery', () => {
  /**
   * Two channels, a message every 10 ms on each from 0 to 990 ms; fault at 300, healthy at 600. `drop(channel, seq,
   * at)` says whether the subscriber missed that message.
   */
  function run(drop: (channel: string, seq: number, at: number) => boolean, extra: Operation[] = []): History {
    const ops: Operation[] = [];
    for (let seq = 0; seq < 200; seq++) {
      const channel = seq % 2 === 0 ? '{a}' : '{b}';
      const at = seq * 5;
      ops.push(op({ kind: 'publish', key: channel, value: seq, start: at, end: at + 1 }));
      if (!drop(channel, seq, at))
        ops.push(op({ kind: 'receive', key: channel, value: seq, start: at + 2, end: at + 2 }));
    }
    ops.push(...extra);
    ops.sort((x, y) => x.start - y.start);
    return {
      operations: ops,
      events: [
        { at: 300, name: 'fault:inject' },
        { at: 600, name: 'healthy' },
      ],
    };
  }

  it('passes when messages are lost only until delivery resumed (at-most-once), and reports them', () => {
    // Channel {a} is on the faulted master: silent from 300 until 650, after healthy.
    const v = checkPubSubDelivery(run((channel, _seq, at) => channel === '{a}' && at >= 300 && at < 650));
    expect(v.ok, v.summary).toBe(true);
    expect(v.evidence).toMatchObject({ channels: 2, lostBeforeResume: 35, lostAfterResume: 0, notResumed: [] });
    expect(v.evidence.longestSilenceMs).toBeGreaterThanOrEqual(350);
  });

  it('fails when a channel never resumes after the fault (no resubscribe)', () => {
    const v = checkPubSubDelivery(run((channel, _seq, at) => channel === '{a}' && at >= 300));
    expect(v.ok).toBe(false);
    expect(v.summary).toContain('delivery never resumed on {a}');
  });

  it('fails on a hole after delivery resumed, on a duplicate and on a message nobody published', () => {
    const hole = checkPubSubDelivery(run((channel, seq) => channel === '{b}' && seq === 171));
    expect(hole.ok).toBe(false);
    expect(hole.summary).toContain('1 messages lost after delivery resumed');
    const dup = checkPubSubDelivery(
      run(() => false, [op({ kind: 'receive', key: '{a}', value: 10, start: 900, end: 900 })]),
    );
    expect(dup.summary).toContain('1 messages delivered twice');
    const stray = checkPubSubDelivery(
      run(() => false, [op({ kind: 'receive', key: '{b}', value: 10, start: 900, end: 900 })]),
    );
    expect(stray.ok).toBe(false);
    expect(stray.summary).toContain('1 messages nobody published');
  });

  it("reports the client's resubscribes of lost subscriptions without judging them", () => {
    const resubscribe = op({ kind: 'resubscribe', key: 'chaos:{a}', value: '10.0.0.1:6379', start: 700, end: 700 });
    const ok = checkPubSubDelivery(run(() => false, [resubscribe]));
    expect(ok.ok, ok.summary).toBe(true);
    expect(ok.evidence).toMatchObject({ resubscribed: 1 });
    expect(ok.summary).toContain('1 lost subscription(s) sent again by the client');
    const never = checkPubSubDelivery(run((channel, _seq, at) => channel === '{a}' && at >= 300, [resubscribe]));
    expect(never.summary).toBe('delivery never resumed on {a}; (the client sent 1 lost subscription(s) again)');
  });

  it('does not judge messages whose publish failed or is unknown, and fails when nothing was published', () => {
    const failed = op({ kind: 'publish', key: '{a}', value: 999, start: 800, end: 801, outcome: 'unknown' });
    expect(checkPubSubDelivery(run(() => false, [failed])).ok).toBe(true);
    expect(checkPubSubDelivery({ operations: [], events: [] })).toMatchObject({
      ok: false,
      summary: 'nothing was published',
    });
  });
});

describe('spreadChannels', () => {
  it('puts one hash-tagged channel in each n-th of the slot space, whatever the namespace', () => {
    const channels = spreadChannels(6);
    expect(channels).toHaveLength(6);
    channels.forEach((name, part) => {
      const slot = keySlot(`chaos-x:${name}`);
      expect(slot).toBe(keySlot(`other:${name}`));
      expect(Math.floor((slot * 6) / 16384)).toBe(part);
    });
  });
});
