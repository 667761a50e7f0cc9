import { describe, expect, it } from 'vitest';
import {
  checkCounterBounds,
  checkCoverage,
  checkErrorBudget,
  checkLostWrites,
  checkMoveCompleted,
  checkRecovery,
  measureRecovery,
} from '../../chaos/checkers/index.ts';
import { emptyMasters } from '../../chaos/faults/index.ts';
import { defaultClassifier, type History, type Operation } from '../../chaos/index.ts';

let nextId = 0;
const op = (o: Partial<Operation> & Pick<Operation, 'kind' | 'start' | 'end'>): Operation => ({
  id: nextId++,
  outcome: 'ok',
  ...o,
});
const history = (operations: Operation[], faultAt = 100): History => ({
  operations,
  events: [{ at: faultAt, name: 'fault:inject' }],
});

describe('checkLostWrites', () => {
  it('passes when every acknowledged write is read back', () => {
    const v = checkLostWrites(
      history([
        op({ kind: 'write', key: 'a', value: '1', start: 0, end: 1, result: 1 }),
        op({ kind: 'write', key: 'b', value: '2', start: 150, end: 151, outcome: 'failed' }),
        op({ kind: 'verify', key: 'a', result: '1', start: 500, end: 501 }),
      ]),
    );
    expect(v.ok).toBe(true);
    expect(v.evidence).toMatchObject({ acknowledged: 1, lost: 0 });
  });

  it('fails on an acknowledged, replicated write that is gone, and names its key', () => {
    const v = checkLostWrites(
      history([
        op({ kind: 'write', key: 'a', value: '1', start: 0, end: 1, result: 1 }),
        op({ kind: 'verify', key: 'a', result: null, start: 500, end: 501 }),
      ]),
    );
    expect(v.ok).toBe(false);
    expect(v.evidence).toMatchObject({ lost: 1, lostKeys: ['a'] });
  });

  it('fails when a write was never verified: survival must be proven', () => {
    const v = checkLostWrites(history([op({ kind: 'write', key: 'a', value: '1', start: 0, end: 1, result: 1 })]));
    expect(v.ok).toBe(false);
  });

  it('reports unreplicated writes (WAIT saw 0 replicas) and writes inside the fsync window as inherent, not lost', () => {
    const v = checkLostWrites(
      history([
        op({ kind: 'write', key: 'async', value: '1', start: 10, end: 11, result: 0 }),
        op({ kind: 'write', key: 'fsync', value: '1', start: 90, end: 95, result: 1 }),
        op({ kind: 'write', key: 'old', value: '1', start: 1, end: 2, result: 1 }),
        op({ kind: 'verify', key: 'old', result: '1', start: 500, end: 501 }),
      ]),
      { window: { from: 'fault:inject', beforeMs: 50 } },
    );
    expect(v.ok).toBe(true);
    expect(v.evidence).toMatchObject({ lost: 0, inherentLoss: 2 });
  });
});

describe('checkCounterBounds', () => {
  it('sets apart an increment only a master acknowledged (WAIT 0) and a failover lost, but fails on a replicated one', () => {
    // A paused master resumes, acknowledges one increment before it learns it was replaced, and loses it.
    const ops = (replicas: number) => [
      op({ kind: 'incr', key: 'c', value: 1, start: 0, end: 1, result: 1, replicas: 1 }),
      op({ kind: 'incr', key: 'c', value: 1, start: 10, end: 11, result: 2, replicas }),
      op({ kind: 'read-counter', key: 'c', start: 200, end: 201, result: 1 }),
    ];
    const inherent = checkCounterBounds(history(ops(0)));
    expect(inherent.ok).toBe(true);
    expect(inherent.summary).toContain("1 increments acknowledged by a master alone (Redis's documented window)");
    const lost = checkCounterBounds(history(ops(1)));
    expect(lost.ok).toBe(false);
    expect(lost.evidence.violations).toEqual([
      {
        key: 'c',
        op: expect.any(Number),
        kind: 'read-counter',
        start: 200,
        end: 201,
        observed: 1,
        acknowledged: 2,
        possible: 2,
      },
    ]);
  });

  it('accepts reads between acknowledged and attempted sums, counting unknown increments as maybe applied', () => {
    const v = checkCounterBounds(
      history([
        op({ kind: 'incr', key: 'c', value: 1, result: 1, start: 0, end: 1 }),
        op({ kind: 'incr', key: 'c', value: 1, start: 2, end: 30, outcome: 'unknown' }),
        op({ kind: 'read-counter', key: 'c', result: 2, start: 40, end: 41 }),
        op({ kind: 'read-counter', key: 'c', result: 1, start: 42, end: 43 }),
      ]),
    );
    expect(v.ok).toBe(true);
  });

  it('fails when a read is below the acknowledged sum (a lost increment)', () => {
    const v = checkCounterBounds(
      history([
        op({ kind: 'incr', key: 'c', value: 1, result: 1, start: 0, end: 1 }),
        op({ kind: 'incr', key: 'c', value: 1, result: 2, start: 2, end: 3 }),
        op({ kind: 'read-counter', key: 'c', result: 1, start: 10, end: 11 }),
      ]),
    );
    expect(v.ok).toBe(false);
    expect(v.evidence.violations).toEqual([
      {
        key: 'c',
        op: expect.any(Number),
        kind: 'read-counter',
        start: 10,
        end: 11,
        observed: 1,
        acknowledged: 2,
        possible: 2,
      },
    ]);
  });

  it('fails when a failed increment was applied (read above the attempted sum)', () => {
    const v = checkCounterBounds(
      history([
        op({ kind: 'incr', key: 'c', value: 1, start: 0, end: 1, outcome: 'failed' }),
        op({ kind: 'read-counter', key: 'c', result: 1, start: 10, end: 11 }),
      ]),
    );
    expect(v.ok).toBe(false);
  });
});

describe('checkRecovery', () => {
  const killed = () =>
    history(
      [
        ...Array.from({ length: 10 }, (_, i) => op({ kind: 'write', start: i * 10, end: i * 10 + 2, affected: true })),
        op({ kind: 'write', start: 101, end: 102, affected: true, outcome: 'failed' }),
        op({ kind: 'write', start: 2000, end: 2001, affected: true, outcome: 'failed' }),
        op({ kind: 'write', start: 2001, end: 2003, affected: false }),
        op({ kind: 'write', start: 3500, end: 3502, affected: true }),
        ...Array.from({ length: 50 }, (_, i) =>
          op({ kind: 'write', start: 3510 + i * 10, end: 3512 + i * 10, affected: true }),
        ),
      ],
      100,
    );

  it('measures fault to the first success after the last failure, on the affected keys only', () => {
    expect(measureRecovery(killed())).toMatchObject({ recoveryMs: 3402, failedOperations: 2 });
    expect(checkRecovery(killed(), { maxRecoveryMs: 3500 }).ok).toBe(true);
  });

  it('fails when recovery exceeds the threshold', () => {
    const v = checkRecovery(killed(), { maxRecoveryMs: 3000 });
    expect(v.ok).toBe(false);
    expect(v.summary).toMatch(/recovered in 3402 ms \(limit 3000 ms\)/);
  });

  it('counts a slow success as an outage: a retrying client hides the failover in latency', () => {
    const h = history([
      op({ kind: 'write', start: 0, end: 1, affected: true }),
      op({ kind: 'write', start: 150, end: 4150, affected: true }),
      op({ kind: 'write', start: 4151, end: 4152, affected: true }),
    ]);
    expect(measureRecovery(h).recoveryMs).toBe(4050);
  });

  it('fails when nothing ever succeeds again', () => {
    const h = history([
      op({ kind: 'write', start: 0, end: 1, affected: true }),
      op({ kind: 'write', start: 150, end: 151, affected: true, outcome: 'failed' }),
    ]);
    expect(checkRecovery(h, { maxRecoveryMs: 10_000 })).toMatchObject({ ok: false, summary: 'never recovered' });
  });
});

describe('checkErrorBudget', () => {
  it('passes with 0 failures and fails on one failed or unknown operation when the budget is 0', () => {
    const clean = history([op({ kind: 'write', start: 0, end: 1 })]);
    expect(checkErrorBudget(clean, 0).ok).toBe(true);
    const dirty = history([
      op({ kind: 'write', start: 0, end: 1 }),
      op({ kind: 'write', start: 2, end: 3, outcome: 'unknown', error: 'timeout' }),
    ]);
    const v = checkErrorBudget(dirty, 0);
    expect(v.ok).toBe(false);
    expect(v.evidence).toMatchObject({ failedOperations: 1, errors: { timeout: 1 } });
  });
});

describe('checkers on histories of a real run (300 000 operations)', () => {
  // A serial counter: each incr ends before the next starts, every 10th operation reads it. One lost increment at
  // the middle must be found; Math.min(...300000 values) would overflow the stack, a quadratic check never finish.
  const N = 300_000;
  const ops: Operation[] = [];
  let value = 0;
  for (let i = 0; i < N; i++) {
    const t = i * 0.1;
    if (i % 10 === 9) ops.push(op({ kind: 'read-counter', key: 'c', start: t, end: t + 0.05, result: value }));
    else {
      value++;
      ops.push(op({ kind: 'incr', key: 'c', value: 1, start: t, end: t + 0.05, result: value }));
    }
  }
  const big = history(ops, N * 0.05);

  it('counter bounds hold on the intact history and fail on the one with an increment lost', () => {
    expect(checkCounterBounds(big).ok).toBe(true);
    // The server "forgets" one acknowledged increment: every later observation is one below its lower bound.
    const lost = {
      ...big,
      operations: big.operations.map((o) =>
        o.start > N * 0.05 && typeof o.result === 'number' ? { ...o, result: o.result - 1 } : o,
      ),
    };
    const verdict = checkCounterBounds(lost);
    expect(verdict.ok).toBe(false);
    expect(verdict.summary).toMatch(/^\d+ of 300000 counter observations out of bounds$/);
  });

  it('recovery figures come out (no stack overflow on spreads)', () => {
    const figures = measureRecovery(big, { kinds: ['incr'], affectedOnly: false });
    expect(figures.recoveryMs).toBe(0);
    expect(figures.steadyMs).not.toBeNull();
  });
});

describe('checkCoverage', () => {
  it('fails when a workload stopped before the deployment was healthy again, and passes when it ran past', () => {
    const h = (end: number): History => ({
      operations: [op({ kind: 'write', start: 0, end: 1 }), op({ kind: 'client-write', start: end - 1, end })],
      events: [{ at: 500, name: 'healthy' }],
    });
    expect(checkCoverage(h(400), ['write', 'client-write'])).toMatchObject({
      ok: false,
      summary: "write, client-write stopped before 'healthy'",
    });
    const ranPast = h(600);
    const both = { ...ranPast, operations: [...ranPast.operations, op({ kind: 'write', start: 550, end: 560 })] };
    expect(checkCoverage(both, ['write', 'client-write']).ok).toBe(true);
    // One kind short is enough to fail.
    expect(checkCoverage(ranPast, ['write', 'client-write']).summary).toBe("write stopped before 'healthy'");
  });
});

describe('defaultClassifier', () => {
  it('treats a command ioredis had sent before the connection dropped as maybe applied, a refusal as failed', () => {
    for (const message of [
      'Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.',
      'Command aborted due to connection close',
      'operation timed out after 2000 ms',
      'Connection is closed.',
      'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
    ]) {
      expect(defaultClassifier(new Error(message))).toBe('unknown');
    }
    for (const message of ['CLUSTERDOWN The cluster is down', 'NOREPLICAS Not enough good replicas to write.']) {
      expect(defaultClassifier(new Error(message))).toBe('failed');
    }
  });
});

describe('checkMoveCompleted and emptyMasters', () => {
  const events = (...e: { at: number; name: string; detail?: string }[]): History => ({ operations: [], events: e });

  it('passes when the interrupted move completed within the bound, and says how long it took', () => {
    const v = checkMoveCompleted(
      events(
        { at: 1000, name: 'fault:start' },
        { at: 30_000, name: 'migration:ended', detail: 'scale-out to 4 shards finished' },
        { at: 61_000, name: 'move:completed', detail: '4 masters, 0 without slots, check clean' },
      ),
      150_000,
    );
    expect(v.ok).toBe(true);
    expect(v.evidence).toMatchObject({ tookMs: 60_000 });
  });

  it('fails when the move came late or never completed, and names what was left', () => {
    const late = checkMoveCompleted(
      events({ at: 0, name: 'fault:start' }, { at: 200_000, name: 'move:completed', detail: '4 masters' }),
      150_000,
    );
    expect(late.ok).toBe(false);
    const stuck = checkMoveCompleted(
      events(
        { at: 0, name: 'fault:start' },
        { at: 150_000, name: 'move:incomplete', detail: '4 masters, 1 without slots' },
      ),
      150_000,
    );
    expect(stuck.ok).toBe(false);
    expect(stuck.summary).toContain('1 without slots');
  });

  it('counts the masters a cluster check lists without slots', () => {
    const check = [
      'M: aaa 10.0.0.1:6379',
      '   slots:[0-8191] (8192 slots) master',
      'M: bbb 10.0.0.2:6379',
      '   slots: (0 slots) master',
      'M: ccc 10.0.0.3:6379',
      '   slots:[8192-16383] (8192 slots) master',
    ].join('\n');
    expect(emptyMasters(check)).toBe(1);
    expect(emptyMasters(check.replace('slots: (0 slots)', 'slots:[1-2] (2 slots)'))).toBe(0);
  });
});
