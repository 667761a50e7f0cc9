import { describe, expect, it } from 'vitest';
import type { ChaosTarget, Scenario, Workload } from '../../chaos/index.ts';
import { runScenario } from '../../chaos/index.ts';

// The runner alone (no I/O): a target that is always healthy and a fault that does nothing, so what is under test
// is only how long the runner keeps a workload running after 'healthy'.
const target = {
  name: 'fake',
  connection: async () => ({ kind: 'cluster', seeds: [] }),
  pods: async () => [],
  nodeTimeoutMs: async () => 1000,
  kill: async () => {},
  pause: async () => {},
  resume: async () => {},
  delete: async () => {},
  waitHealthy: async () => {},
} satisfies ChaosTarget;

/** A workload that is "served again" `afterMs` after it is first asked (never when undefined); it records its end. */
function slowToResume(afterMs: number | undefined): Workload & { endedAt?: number; askedAt?: number } {
  const w: Workload & { endedAt?: number; askedAt?: number } = {
    name: 'slow',
    async run({ signal }) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      w.endedAt = Date.now();
    },
    settled: () => {
      w.askedAt ??= Date.now();
      return afterMs !== undefined && Date.now() - w.askedAt >= afterMs;
    },
  };
  return w;
}

function scenario(workload: Workload): Scenario {
  return {
    name: 'settle',
    description: 'test',
    fault: { inject: async () => ({ pods: [], affectedSlots: [], description: 'nothing' }), heal: async () => {} },
    workloads: () => [workload],
    check: () => [],
  };
}

describe('the runner after the deployment is healthy again', () => {
  it('keeps a workload running until it has been served again, past the settle time', async () => {
    const w = slowToResume(1500);
    await runScenario(scenario(w), target, { warmupMs: 0, settleMs: 100, settleMaxMs: 10_000 });
    expect(w.askedAt).toBeDefined();
    expect((w.endedAt ?? 0) - (w.askedAt ?? 0)).toBeGreaterThanOrEqual(1500);
  });

  it('stops it at the bound when it is never served again, and says so', async () => {
    const w = slowToResume(undefined);
    const lines: string[] = [];
    const started = Date.now();
    await runScenario(scenario(w), target, {
      warmupMs: 0,
      settleMs: 0,
      settleMaxMs: 800,
      onProgress: (l) => lines.push(l),
    });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((w.endedAt ?? 0) - (w.askedAt ?? 0)).toBeGreaterThanOrEqual(700);
    expect(lines.join('\n')).toContain('was not served again within 800 ms more');
  });
});
