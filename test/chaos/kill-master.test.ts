import { describe, expect, it } from 'vitest';
import { findScenarios, runScenario } from '../../chaos/index.ts';
import { harnessTarget } from '../../chaos/targets/index.ts';
import { useCluster } from '../support/index.ts';

// Its own configuration (node timeout 2000 ms, as the manifests use) so no other file shares the broken cluster.
const cluster = useCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 2000, password: 'chaos-kill-master' });

describe('chaos: kill-master on a real cluster', () => {
  it('loses no acknowledged write, keeps counters in bounds, and reports the recovery time', async () => {
    const [scenario] = findScenarios(['kill-master']);
    const result = await runScenario(scenario!, harnessTarget(cluster()), { warmupMs: 1500, settleMs: 1500 });
    console.log(
      `kill-master: recovery ${result.recoveryMs} ms, steady ${result.steadyMs} ms, ${result.failedOperations}/${result.operations} ops failed, lost ${result.lostAcknowledgedWrites}, inherent ${result.inherentLoss}`,
    );
    for (const v of result.verdicts) console.log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker}: ${v.summary}`);
    expect(result.fault.pods).toHaveLength(1);
    expect(result.operations).toBeGreaterThan(100);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.verdicts.find((v) => v.checker === 'counter-bounds')?.ok).toBe(true);
    // Through @slotforge/client, getOrSet kept answering with the loaded value during the failover.
    expect(result.verdicts.find((v) => v.checker === 'get-or-set-served')?.ok).toBe(true);
    expect(result.history.operations.filter((op) => op.kind === 'get-or-set').length).toBeGreaterThan(100);
    expect(result.recoveryMs).not.toBeNull();
    // The killed master's slots were really unavailable for a while: the fault was felt.
    expect(result.failedOperations).toBeGreaterThan(0);
    // The harness restarts a killed node only after its replica took over: the node observer saw the failover, each
    // phase in order.
    const at = Object.fromEntries((result.failover?.phases ?? []).map((p) => [p.phase, p.atMs]));
    console.log('failover phases (ms after the kill):', JSON.stringify(at));
    expect(result.failover?.failedOver).toBe(true);
    expect(at['first pfail']).toBeGreaterThan(0);
    expect(at['fail agreed']).toBeGreaterThanOrEqual(at['first pfail'] ?? Infinity);
    expect(at.promoted).toBeGreaterThan(at['fail agreed'] ?? Infinity);
    expect(at['first acknowledged write']).toBeGreaterThanOrEqual(at.promoted ?? Infinity);
    expect(result.verdicts.find((v) => v.checker === 'recovery-time')?.summary).toContain('by failover');
  }, 120_000);
});
