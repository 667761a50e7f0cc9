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

type Answer = 'confirm' | 'refuse' | 'hang';

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
        return Promise.reject(new Error('NOPERM User default has no permissions to access one of the channels'));
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
  const audit = new SubscriptionAudit(group, () => Object.assign([], { 7: [currentMaster] }), INTERVAL, {
    repaired: (channels) => repaired.push(channels),
    refused: (_channels, _node, _error, retryInMs) => refused.push(retryInMs),
  });
  return { audit, group, confirmed, sent, repaired, refused };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('the sharded subscription audit', () => {
  it('sends a channel missing at two ticks in a row again, once, and reports it when Redis confirms it', async () => {
    const s = setup();
    s.audit.tick(0);
    expect(s.sent).toEqual([]);
    s.audit.tick(1000);
    expect(s.sent).toEqual([['ns:{a}']]);
    await settle();
    expect(s.repaired).toEqual([['ns:{a}']]);
    s.audit.tick(2000);
    s.audit.tick(3000);
    expect(s.sent).toHaveLength(1);
  });

  it('leaves a channel alone that was missing at one tick only (an SSUBSCRIBE in flight)', () => {
    const s = setup();
    s.audit.tick(0);
    s.confirmed.add('ns:{a}');
    s.audit.tick(1000);
    s.confirmed.clear();
    s.audit.tick(2000);
    expect(s.sent).toEqual([]);
  });

  it('does nothing while the group resets, and counts the two ticks afresh after it', () => {
    const s = setup();
    s.audit.tick(0);
    s.group.isResetting = true;
    s.audit.tick(1000);
    s.group.isResetting = false;
    s.audit.tick(2000);
    expect(s.sent).toEqual([]);
    s.audit.tick(3000);
    expect(s.sent).toHaveLength(1);
  });

  it("leaves a slot to the group's reset when the client's slot map names another master", () => {
    const s = setup(() => 'confirm', '10.0.0.2:6379');
    for (let t = 0; t < 5000; t += 1000) s.audit.tick(t);
    expect(s.sent).toEqual([]);
  });

  it('backs off after a refusal, doubling up to 30 s, and reports each refusal, never a repair', async () => {
    const s = setup(() => 'refuse');
    const sentAt: number[] = [];
    for (let t = 0; t <= 200_000; t += 1000) {
      const before = s.sent.length;
      s.audit.tick(t);
      if (s.sent.length > before) sentAt.push(t);
      await settle();
    }
    expect(s.refused.slice(0, 6)).toEqual([2000, 4000, 8000, 16_000, 30_000, 30_000]);
    // Sent, then missing at two ticks once the back-off is over.
    expect(sentAt.slice(0, 4)).toEqual([1000, 4000, 9000, 18_000]);
    expect(s.repaired).toEqual([]);
  });

  it('does not send again while an SSUBSCRIBE is unanswered, up to 10 s', () => {
    const s = setup(() => 'hang');
    for (let t = 0; t <= 11_000; t += 1000) s.audit.tick(t);
    expect(s.sent).toHaveLength(1);
    s.audit.tick(12_000);
    expect(s.sent).toHaveLength(2);
  });
});
