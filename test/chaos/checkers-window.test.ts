import { describe, expect, it } from 'vitest';
import { checkCounterBounds, checkLostWrites, type LossWindow } from '../../chaos/checkers/index.ts';
import { findScenarios, type History, type Operation } from '../../chaos/index.ts';

let nextId = 0;
const op = (o: Partial<Operation> & Pick<Operation, 'kind' | 'start' | 'end'>): Operation => ({
  id: nextId++,
  outcome: 'ok',
  ...o,
});

// kill-shard's window: the kill sent at 5000 ms and done at 5300 ms, writes from 2100 ms before it was sent.
const KILL: LossWindow = { from: 'kill:sent', to: 'fault:start', beforeMs: 2100, affectedOnly: true };
const killed = (operations: Operation[]): History => ({
  operations,
  events: [
    { at: 4000, name: 'fault:inject' },
    { at: 5000, name: 'kill:sent' },
    { at: 5300, name: 'fault:start' },
  ],
});
const write = (key: string, end: number, affected = true) =>
  op({ kind: 'client-write', key, value: '1', start: end - 5, end, result: 1, affected });

describe('loss window (AOF everysec, every copy of a shard killed)', () => {
  it('reports as inherent a replicated write of the killed shard acknowledged from 2100 ms before the kill to its end', () => {
    const v = checkLostWrites(killed([write('early-edge', 2900), write('sent', 5000), write('during', 5250)]), {
      window: KILL,
    });
    expect(v.ok).toBe(true);
    expect(v.evidence).toMatchObject({ lost: 0, inherentLoss: 3 });
    expect(v.summary).toContain("3 lost inside Redis's documented window");
  });

  it('fails on a write acknowledged before the window, after the kill ended, or on a shard that was not killed', () => {
    const cases = [write('older', 2899), write('after', 5301), write('spared', 5000, false)];
    for (const lost of cases) {
      const v = checkLostWrites(killed([lost]), { window: KILL });
      expect(v.ok, lost.key).toBe(false);
      expect(v.evidence).toMatchObject({ lost: 1, lostKeys: [lost.key] });
    }
  });

  it('excuses nothing when a marker of the window is missing', () => {
    const history = killed([write('sent', 5000)]);
    const withoutEnd = { ...history, events: history.events.filter((e) => e.name !== 'fault:start') };
    expect(checkLostWrites(withoutEnd, { window: KILL }).ok).toBe(false);
    expect(checkLostWrites(history).ok).toBe(false);
  });

  it('lowers the counters acknowledged bound by the increments in the window, and only by those', () => {
    // 3 increments acknowledged and replicated; the last two in the window; the restarted master answers 1.
    const incr = (end: number, result: number, affected = true) =>
      op({ kind: 'incr', key: 'c', value: 1, start: end - 5, end, result, replicas: 1, affected });
    const read = op({ kind: 'read-counter', key: 'c', start: 9000, end: 9001, result: 1, affected: true });
    const v = checkCounterBounds(killed([incr(1000, 1), incr(4000, 2), incr(5100, 3), read]), { window: KILL });
    expect(v.ok).toBe(true);
    expect(v.summary).toContain('2 acknowledged in the loss window, which may be lost');
    // The same with one increment before the window lost as well: below the acknowledged bound.
    const tooLow = { ...read, id: nextId++, result: 0 };
    expect(checkCounterBounds(killed([incr(1000, 1), incr(4000, 2), tooLow]), { window: KILL }).ok).toBe(false);
    expect(checkCounterBounds(killed([incr(1000, 1), incr(4000, 2), incr(5100, 3), read])).ok).toBe(false);
    // A read before the kill was sent cannot have seen its loss: an increment of the window it misses is a violation.
    const stale = op({ kind: 'read-counter', key: 'c', start: 4500, end: 4501, result: 1, affected: true });
    expect(checkCounterBounds(killed([incr(1000, 1), incr(4000, 2), stale]), { window: KILL }).ok).toBe(false);
  });

  it("is kill-shard's verdict: the window's losses excused when the killed master ran everysec, none otherwise", () => {
    const [scenario] = findScenarios(['kill-shard']);
    const verify = (key: string) => op({ kind: 'verify', key, result: '1', start: 9000, end: 9001 });
    const ctx = { nodeTimeoutMs: 5000, effect: { pods: ['a', 'b'], affectedSlots: [[0, 5460]], description: 'kill' } };
    const observed = (history: History, policy: string, pod = 'a'): History => ({
      ...history,
      events: [
        ...history.events,
        { at: 10, name: 'node:persistence', detail: `${pod} appendonly=yes appendfsync=${policy}` },
      ],
    });
    const verdict = (history: History) =>
      scenario!.check(history, ctx as never).find((v) => v.checker === 'lost-acknowledged-writes');
    expect(verdict(observed(killed([write('in', 4000)]), 'everysec'))).toMatchObject({ ok: true });
    const lostOut = observed(killed([write('out', 2000), write('in', 4000), verify('in')]), 'everysec');
    expect(verdict(lostOut)).toMatchObject({ ok: false });
    // With `always` the AOF holds every acknowledged write: nothing is excused; nor when the policy is not known,
    // or known only for the replica.
    expect(verdict(observed(killed([write('in', 4000)]), 'always'))).toMatchObject({ ok: false });
    expect(verdict(killed([write('in', 4000)]))).toMatchObject({ ok: false });
    expect(verdict(observed(killed([write('in', 4000)]), 'everysec', 'b'))).toMatchObject({ ok: false });
  });
});
