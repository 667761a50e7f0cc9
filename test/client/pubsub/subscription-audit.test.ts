import { describe, expect, it } from 'vitest';
import {
  type AuditedConnection,
  type AuditedGroup,
  SubscriptionAudit,
} from '../../../client/src/core/ioredis/index.ts';

// The sharded subscription audit's decisions, on a hand-written stand-in for ioredis' subscriber group (no I/O): what
// it sends again, when, and what it reports. test/client/pubsub/pubsub-resubscribe.test.ts runs it on real Redis.
const INTERVAL = 1000;
const NODE = '10.0.0.1:6379';

type Answer = 'confirm' | 'refuse' | 'moved' | 'closed' | 'hang';

const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

/** A subscriber connection whose confirmed channels and answer to SSUBSCRIBE the test sets. */
function connection(answer: () => Answer) {
  const confirmed = new Set<string>();
  const sent: string[][] = [];
  const conn: AuditedConnection = {
    status: 'ready',
    condition: { subscriber: { channels: () => [...confirmed] } },
    ssubscribe: (...channels: string[]) => {
      sent.push(channels);
      const a = answer();
      if (a === 'hang') return new Promise(() => {});
      if (a === 'refuse')
        return Promise.reject(replyError('NOPERM User default has no permissions to access a channel'));
      if (a === 'moved') return Promise.reject(replyError('MOVED 7 10.0.0.2:6379'));
      if (a === 'closed') return Promise.reject(new Error('Connection is closed.'));
      for (const c of channels) confirmed.add(c);
      return Promise.resolve(channels.length);
    },
  };
  return { conn, confirmed, sent };
}

function setup(answer: () => Answer = () => 'confirm', currentMaster = NODE) {
  const { conn, confirmed, sent } = connection(answer);
  const group: AuditedGroup = {
    isResetting: false,
    channels: new Map([[7, ['ns:{a}', 'ns:{a}']]]),
    clusterSlots: Object.assign([], { 7: [NODE] }),
    shardedSubscribers: new Map([[NODE, { getInstance: () => conn }]]),
  };
  const repaired: string[][] = [];
  const refused: number[] = [];
  let clock = 0;
  const audit = new SubscriptionAudit(
    group,
    () => Object.assign([], { 7: [currentMaster] }),
    INTERVAL,
    {
      repaired: (channels) => repaired.push(channels),
      refused: (_channels, _node, _error, retryInMs) => refused.push(retryInMs),
    },
    () => clock,
  );
  /** One audit at `at` ms. */
  const tick = (at: number) => {
    clock = at;
    audit.tick();
  };
  return { tick, group, confirmed, sent, repaired, refused };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('the sharded subscription audit', () => {
  it('sends a channel missing at two ticks in a row again, once, and reports it when Redis confirms it', async () => {
    const s = setup();
    s.tick(0);
    expect(s.sent).toEqual([]);
    s.tick(1000);
    expect(s.sent).toEqual([['ns:{a}']]);
    await settle();
    expect(s.repaired).toEqual([['ns:{a}']]);
    s.tick(2000);
    s.tick(3000);
    expect(s.sent).toHaveLength(1);
  });

  it('leaves a channel alone that was missing at one tick only (an SSUBSCRIBE in flight)', () => {
    const s = setup();
    s.tick(0);
    s.confirmed.add('ns:{a}');
    s.tick(1000);
    s.confirmed.clear();
    s.tick(2000);
    expect(s.sent).toEqual([]);
  });

  it('does nothing while the group resets, and counts the two ticks afresh after it', () => {
    const s = setup();
    s.tick(0);
    s.group.isResetting = true;
    s.tick(1000);
    s.group.isResetting = false;
    s.tick(2000);
    expect(s.sent).toEqual([]);
    s.tick(3000);
    expect(s.sent).toHaveLength(1);
  });

  it("leaves a slot to the group's reset when the client's slot map names another master", () => {
    const s = setup(() => 'confirm', '10.0.0.2:6379');
    for (let t = 0; t < 5000; t += 1000) s.tick(t);
    expect(s.sent).toEqual([]);
  });

  it('backs off after a refusal, doubling up to 30 s, and reports each refusal, never a repair', async () => {
    const s = setup(() => 'refuse');
    const sentAt: number[] = [];
    for (let t = 0; t <= 200_000; t += 1000) {
      const before = s.sent.length;
      s.tick(t);
      if (s.sent.length > before) sentAt.push(t);
      await settle();
    }
    expect(s.refused.slice(0, 6)).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000]);
    // Sent after two ticks missing, then again as each back-off from its refusal ends.
    expect(sentAt.slice(0, 7)).toEqual([1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000]);
    expect(s.repaired).toEqual([]);
  });

  it('neither reports nor backs off a send that failed without a refusal (a redirect, a closed link)', async () => {
    for (const answer of ['moved', 'closed'] as const) {
      const s = setup(() => answer);
      for (let t = 0; t <= 3000; t += 1000) {
        s.tick(t);
        await settle();
      }
      expect(s.sent, answer).toHaveLength(3);
      expect(s.refused).toEqual([]);
    }
  });

  it('forgets a back-off once the channel is no longer meant (unsubscribed, then subscribed afresh)', async () => {
    let answer: Answer = 'refuse';
    const s = setup(() => answer);
    s.tick(0);
    s.tick(1000);
    await settle();
    expect(s.refused).toEqual([2000]);
    const channels = s.group.channels.get(7) ?? [];
    s.group.channels.delete(7);
    s.tick(2000);
    s.group.channels.set(7, channels);
    answer = 'confirm';
    s.tick(3000);
    // A fresh channel: two ticks missing, as any other (a remembered refusal would have sent it at once).
    expect(s.sent).toHaveLength(1);
    s.tick(4000);
    expect(s.sent).toHaveLength(2);
    await settle();
    expect(s.repaired).toEqual([['ns:{a}']]);
  });

  it('does not send again while an SSUBSCRIBE is unanswered, up to 10 s', () => {
    const s = setup(() => 'hang');
    for (let t = 0; t <= 11_000; t += 1000) s.tick(t);
    expect(s.sent).toHaveLength(1);
    s.tick(12_000);
    expect(s.sent).toHaveLength(2);
  });
});
