import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { History, Operation } from '../../chaos/index.ts';
import { evidenceDir, type ScenarioResult, topErrors, writeEvidence } from '../../chaos/index.ts';
import { jsonReport, percentile, renderHtmlReport, timeline } from '../../chaos/report/index.ts';
import { harnessTempDir } from '../support/index.ts';

const op = (id: number, start: number, end: number, outcome: Operation['outcome'] = 'ok'): Operation => ({
  id,
  kind: 'write',
  start,
  end,
  outcome,
});

const history: History = {
  operations: [
    op(0, 0, 10),
    op(1, 100, 110),
    op(2, 300, 350, 'failed'),
    op(3, 400, 420),
    op(4, 600, 610),
    { ...op(5, 700, 800), kind: 'verify' },
  ],
  events: [{ at: 280, name: 'fault:inject' }],
};

const result = (ok: boolean): ScenarioResult => ({
  scenario: 'kill-master',
  target: 'harness',
  ok,
  lostAcknowledgedWrites: ok ? 0 : 3,
  inherentLoss: 0,
  recoveryMs: 140,
  steadyMs: 250,
  failedOperations: 1,
  operations: 5,
  nodeTimeoutMs: 2000,
  topErrors: topErrors(history),
  fault: { pods: ['redis-0'], affectedSlots: [[0, 5460]], description: 'SIGKILL master redis-0 <&>' },
  verdicts: [{ checker: 'lost-acknowledged-writes', ok, summary: ok ? 'none lost' : '3 lost', evidence: {} }],
  history,
});

describe('chaos report', () => {
  it('buckets throughput, errors and p99 latency by end time, leaving out verify reads and the cut-short last bucket', () => {
    const buckets = timeline(history, 250);
    expect(buckets.map((b) => [b.at, b.okPerSecond, b.errorsPerSecond, b.p99Ms])).toEqual([
      [0, 8, 0, 10],
      [250, 4, 4, 50],
    ]);
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.99)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('renders a self-contained page with a chart, the figures and every verdict, escaping text', () => {
    const html = renderHtmlReport([result(true), { ...result(false), scenario: 'full-restart' }]);
    expect(html).toContain('1 of 2 scenarios passed');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('class="ok" d="M');
    expect(html).toContain('fault:inject');
    expect(html).toContain('SIGKILL master redis-0 &lt;&amp;&gt;');
    expect(html).toMatch(/full-restart <span class="fail">FAIL<\/span>/);
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('writes JSON rows with the figures the issue names and without the raw history', () => {
    const [row] = jsonReport([result(true)]);
    expect(row).toMatchObject({
      scenario: 'kill-master',
      ok: true,
      lostAcknowledgedWrites: 0,
      recoveryMs: 140,
      failedOperations: 1,
      nodeTimeoutMs: 2000,
    });
    expect(row).not.toHaveProperty('history');
  });

  it('groups failures by kind and error with numbers and addresses folded, most frequent first', () => {
    const failed = (id: number, kind: string, error: string): Operation => ({ ...op(id, 0, 1, 'failed'), kind, error });
    const grouped = topErrors({
      operations: [
        failed(0, 'write', 'connect ETIMEDOUT 10.1.2.3:6379'),
        failed(1, 'write', 'connect ETIMEDOUT 10.1.2.4:6379'),
        failed(2, 'incr', 'CLUSTERDOWN The cluster is down'),
        { ...failed(3, 'verify', 'missing') },
        op(4, 0, 1),
      ],
      events: [],
    });
    expect(grouped).toEqual([
      { kind: 'write', error: 'connect ETIMEDOUT N', count: 2 },
      { kind: 'incr', error: 'CLUSTERDOWN The cluster is down', count: 1 },
    ]);
  });

  it("keeps a failed scenario's result and whole history where a person can read them", () => {
    const dir = evidenceDir(harnessTempDir('chaos-evidence'), 'kill-master', new Date('2026-12-06T05:35:25.123Z'));
    expect(dir).toMatch(/\/kill-master-2026-12-06T053525Z$/);
    const files = writeEvidence(dir, result(false));
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['result.json', 'history.jsonl']);
    expect(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'))).toMatchObject({
      scenario: 'kill-master',
      ok: false,
      lostAcknowledgedWrites: 3,
      events: history.events,
    });
    const lines = readFileSync(join(dir, 'history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { type: 'event', ...history.events[0] },
      ...history.operations.map((o) => ({ type: 'op', ...o })),
    ]);
  });
});
