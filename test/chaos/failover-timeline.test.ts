import { describe, expect, it } from 'vitest';
import { checkNoEarlyFailover } from '../../chaos/checkers/index.ts';
import type { FaultEffect, History, HistoryEvent, Operation, ScenarioResult } from '../../chaos/index.ts';
import { changedRuns, failoverTimeline, timelineLines } from '../../chaos/observe/index.ts';
import { jsonReport, renderHtmlReport } from '../../chaos/report/index.ts';

const effect: FaultEffect = {
  pods: ['redis-shard-0-0'],
  affectedSlots: [[0, 5460]],
  description: 'SIGSTOP master redis-shard-0-0',
};
let id = 0;
const write = (start: number, end: number, outcome: Operation['outcome'] = 'ok', affected = true): Operation => ({
  id: id++,
  kind: 'write',
  key: `k${id}`,
  start,
  end,
  outcome,
  affected,
});
const ev = (at: number, name: string, detail?: string): HistoryEvent => ({ at, name, ...(detail ? { detail } : {}) });

/** A failover as the observer records it: fault at 1000 (in force at 1100), node timeout 5000. */
const failover: History = {
  events: [
    ev(1000, 'fault:inject'),
    ev(1100, 'fault:start', 'SIGSTOP redis-shard-0-0'),
    // A replica of another shard flags a node of its own shard: not the faulted pod, ignored.
    ev(1200, 'node:pfail', 'redis-shard-2-0 -> redis-shard-1-1'),
    ev(6300, 'node:pfail', 'redis-shard-2-0 -> redis-shard-0-0'),
    ev(6500, 'node:pfail', 'redis-shard-1-0 -> redis-shard-0-0'),
    ev(6900, 'node:fail', 'redis-shard-1-0 -> redis-shard-0-0'),
    ev(7600, 'node:election', 'redis-shard-0-1 (epoch 7)'),
    ev(7700, 'node:promoted', 'redis-shard-0-1'),
    // Another shard's slots changed owner on the client first: not the affected range.
    ev(7750, 'client:slot-map', '10944-16383 10.0.0.9:6379'),
    ev(7800, 'client:slot-map', '0-5503 10.0.0.2:6379'),
    ev(9100, 'fault:end', 'SIGCONT redis-shard-0-0'),
  ],
  operations: [
    write(1050, 3050, 'unknown'),
    write(7000, 7010, 'failed'),
    // On another shard: ignored.
    write(7100, 7110, 'ok', false),
    write(7810, 7830),
  ],
};

describe('failoverTimeline', () => {
  it('attributes every phase from the fault in force to the first acknowledged write on the affected slots', () => {
    const t = failoverTimeline(failover, effect, 5000);
    expect(t?.failedOver).toBe(true);
    const at = Object.fromEntries((t?.phases ?? []).map((p) => [p.phase, p.atMs]));
    expect(at).toEqual({
      'fault injected': 0,
      'first pfail': 5200,
      'fail agreed': 5800,
      'election started': 6500,
      promoted: 6600,
      'client slot map': 6700,
      'first acknowledged write': 6730,
      'fault ended': 8000,
    });
    expect(t?.beyondNodeTimeoutMs).toBe(1730);
    expect(t?.phases[0]?.detail).toContain('in force 100 ms after');
    expect(timelineLines(t!)[1]).toMatch(/^first pfail +\+5200 ms \(\+5200\)/);
  });

  it('says no failover happened when no other pod was promoted (a killed master back before its node timeout)', () => {
    const restart: History = {
      events: [ev(0, 'fault:inject'), ev(10, 'fault:start'), ev(300, 'node:state', 'redis-shard-1-0 fail')],
      operations: [write(20, 200, 'failed'), write(2500, 2510)],
    };
    const t = failoverTimeline(restart, effect, 5000);
    expect(t?.failedOver).toBe(false);
    expect(t?.phases.find((p) => p.phase === 'promoted')?.atMs).toBeNull();
    // The first write after the last failure: 2510 - 10.
    expect(t?.phases.find((p) => p.phase === 'first acknowledged write')?.atMs).toBe(2500);
    expect(t?.beyondNodeTimeoutMs).toBe(-2500);
  });

  it('has no timeline without a fault marker', () => {
    expect(failoverTimeline({ events: [], operations: [] }, effect, 5000)).toBeUndefined();
  });
});

describe('checkNoEarlyFailover', () => {
  it('passes a promotion after the node timeout, fails one before it, and passes when nothing was promoted', () => {
    // Promoted 6600 ms after the fault was in force.
    expect(checkNoEarlyFailover(failover, { nodeTimeoutMs: 5000, effect }).ok).toBe(true);
    const early = checkNoEarlyFailover(failover, { nodeTimeoutMs: 7000, effect });
    expect(early.ok).toBe(false);
    expect(early.summary).toBe(
      'replica promoted 6600 ms after the fault: BEFORE the node timeout (7000 ms, less 250 ms)',
    );
    // Within the tolerance: the fault's mark is that precise.
    expect(checkNoEarlyFailover(failover, { nodeTimeoutMs: 6800, effect }).ok).toBe(true);
    const none = { ...failover, events: failover.events.filter((e) => e.name !== 'node:promoted') };
    expect(checkNoEarlyFailover(none, { nodeTimeoutMs: 7000, effect })).toMatchObject({
      ok: true,
      summary: 'no replica promoted',
    });
  });
});

describe('changedRuns', () => {
  it('names each run of sampled slots whose master changed, with the new master', () => {
    const before = ['a', 'a', 'a', 'b', 'b', 'c'];
    const after = ['d', 'd', 'a', 'b', 'e', 'e'];
    expect(changedRuns(before, after)).toEqual(['0-127 d', '256-383 e']);
  });

  it('ignores slots the client does not know yet', () => {
    expect(changedRuns(['a', 'b'], [undefined, 'b'])).toEqual([]);
  });
});

describe('failover phases in the reports', () => {
  const result: ScenarioResult = {
    scenario: 'pause-master',
    target: 'local',
    ok: true,
    lostAcknowledgedWrites: 0,
    inherentLoss: 0,
    recoveryMs: 6730,
    steadyMs: 7000,
    failedOperations: 2,
    operations: 4,
    nodeTimeoutMs: 5000,
    topErrors: [],
    fault: effect,
    failover: failoverTimeline(failover, effect, 5000),
    verdicts: [],
    history: failover,
  };

  it('draws each phase on the HTML timeline and lists it in a table under it', () => {
    const html = renderHtmlReport([result]);
    expect(html.match(/class="phase"/g)).toHaveLength(6);
    expect(html).toContain('<td>fail agreed</td><td>5800 ms</td><td>+600 ms</td>');
    expect(html).toContain('first acknowledged write on its slots 1730 ms beyond the node timeout (5000 ms)');
    // The observer's own markers are not drawn one by one.
    expect(html).not.toContain('>node:pfail<');
  });

  it('keeps the phases and every marker in the JSON', () => {
    const [row] = jsonReport([result]);
    expect(row?.failover?.failedOver).toBe(true);
    expect(row?.events).toHaveLength(failover.events.length);
    expect(row).not.toHaveProperty('history');
  });
});
