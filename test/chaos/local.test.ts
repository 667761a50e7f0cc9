import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, type ScenarioResult } from '../../chaos/runner.ts';
import { findScenarios } from '../../chaos/scenarios.ts';
import type { ChaosTarget } from '../../chaos/target.ts';
import { localTarget } from '../../chaos/targets/local.ts';
import { FULL_RESTART_HEALTHY_MS, KILL_MASTER_RECOVERY_MARGIN_MS } from '../../chaos/thresholds.ts';
import { LocalRuntime, loadManifests } from '../../runtime/local/index.ts';
import { synthDefaultCharts } from '../local/chart-support.ts';
import { harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../support/harness-root.ts';
import { cleanUpAndExpectNothingLeft } from '../support/nothing-left.ts';

/**
 * The representative subset of the chaos matrix that `npm test` runs (`npm run chaos` runs all of it), on the
 * default target: the local runtime running the synthesized default charts. One deployment serves the three
 * scenarios in turn; the runner waits for it to be healthy before each.
 */
describe.runIf(process.getuid?.() === 0)('chaos on the local runtime (default charts)', () => {
  let runtime: LocalRuntime;
  let target: ChaosTarget;
  let stateDir: string;

  const run = async (name: string): Promise<ScenarioResult> => {
    const [scenario] = findScenarios([name]);
    const result = await runScenario(scenario!, target, { warmupMs: 1500, settleMs: 1500 });
    console.log(
      `${name} (local): recovery ${result.recoveryMs} ms, steady ${result.steadyMs} ms, failed ${result.failedOperations}/${result.operations}, lost ${result.lostAcknowledgedWrites}, inherent ${result.inherentLoss}, node timeout ${result.nodeTimeoutMs} ms`,
    );
    for (const v of result.verdicts) console.log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker}: ${v.summary}`);
    for (const e of result.topErrors) console.log(`  ${e.count} x ${e.kind}: ${e.error}`);
    return result;
  };

  beforeAll(async () => {
    const dir = harnessTempDir('chaos-local');
    const dist = await synthDefaultCharts(mkdtempSync(join(dir, 'synth-')));
    stateDir = join(dir, 'state');
    runtime = await LocalRuntime.start({ stateDir, manifests: loadManifests(dist) });
    target = localTarget({ runtime });
    await target.waitHealthy(120_000);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await runtime?.stop();
    if (stateDir) await cleanUpAndExpectNothingLeft(stateDir);
  }, 60_000);

  it('reshard-under-load: 1000 slots move with 0 failed client operations and nothing lost', async () => {
    const result = await run('reshard-under-load');
    expect(result.ok).toBe(true);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.history.operations.filter((op) => op.kind === 'client-write').length).toBeGreaterThan(100);
  }, 180_000);

  it('kill-master: the replica takes over within node timeout + 1.5 s, nothing acknowledged lost', async () => {
    const result = await run('kill-master');
    expect(result.fault.pods).toHaveLength(1);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.failedOperations).toBeGreaterThan(0);
    expect(result.recoveryMs).not.toBeNull();
    expect(result.recoveryMs!).toBeLessThanOrEqual(result.nodeTimeoutMs + KILL_MASTER_RECOVERY_MARGIN_MS);
    expect(result.ok).toBe(true);
  }, 180_000);

  it('full-restart: every pod deleted at once returns with a new IP, healthy within 60 s, nothing acknowledged lost', async () => {
    const members = () => runtime.pods().filter((p) => p.owner.kind === 'StatefulSet' && p.namespace === 'slotforge');
    const before = new Map(members().map((p) => [p.name, p.ip]));
    const result = await run('full-restart');
    const healthy = result.history.events.find((e) => e.name === 'healthy');
    const injected = result.history.events.find((e) => e.name === 'fault:inject');
    expect(healthy && injected ? healthy.at - injected.at : Infinity).toBeLessThan(FULL_RESTART_HEALTHY_MS);
    const moved = members().filter((p) => before.has(p.name) && before.get(p.name) !== p.ip);
    expect(moved.length).toBe(before.size);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.ok).toBe(true);
  }, 240_000);
});
