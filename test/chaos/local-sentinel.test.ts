import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../chaos/runner.ts';
import { findScenarios } from '../../chaos/scenarios.ts';
import type { ChaosTarget } from '../../chaos/target.ts';
import { sentinelExampleManifests } from '../../chaos/targets/default-deployment.ts';
import { localSentinelTarget } from '../../chaos/targets/local-sentinel.ts';
import { SENTINEL_FAILOVER_MARGIN_MS } from '../../chaos/thresholds.ts';
import { LocalRuntime } from '../../runtime/local/index.ts';
import { harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../support/harness-root.ts';
import { cleanUpAndExpectNothingLeft } from '../support/nothing-left.ts';

/** The Sentinel example chart of main.ts on the local runtime: its primary killed under load, clients through the sentinels. */
describe.runIf(process.getuid?.() === 0)('chaos on the local runtime (RedisSentinel example chart)', () => {
  let runtime: LocalRuntime;
  let target: ChaosTarget;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = join(mkdtempSync(join(harnessTempDir('chaos-sentinel'), 'run-')), 'state');
    runtime = await LocalRuntime.start({ stateDir, manifests: await sentinelExampleManifests() });
    target = localSentinelTarget({ runtime });
    await target.waitHealthy(150_000);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await runtime?.stop();
    if (stateDir) {
      await cleanUpAndExpectNothingLeft(stateDir);
    }
  }, 60_000);

  it('sentinel-kill-primary: nothing acknowledged lost, writes through the sentinels again within down-after + 3 s', async () => {
    const [scenario] = findScenarios(['sentinel-kill-primary']);
    const result = await runScenario(scenario!, target, { warmupMs: 1500, settleMs: 1500 });
    console.log(
      `sentinel-kill-primary (local): recovery ${result.recoveryMs} ms, failed ${result.failedOperations}/${result.operations}, lost ${result.lostAcknowledgedWrites}, inherent ${result.inherentLoss}, down-after ${result.nodeTimeoutMs} ms`,
    );
    for (const v of result.verdicts) console.log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker}: ${v.summary}`);
    for (const e of result.topErrors) console.log(`  ${e.count} x ${e.kind}: ${e.error}`);
    expect(result.fault.pods).toEqual([expect.stringMatching(/^sessions-redis-\d$/)]);
    expect(result.history.operations.filter((op) => op.kind === 'write' && op.outcome === 'ok').length).toBeGreaterThan(
      100,
    );
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.recoveryMs).not.toBeNull();
    expect(result.recoveryMs!).toBeLessThanOrEqual(result.nodeTimeoutMs + SENTINEL_FAILOVER_MARGIN_MS);
    expect(result.ok).toBe(true);
  }, 180_000);
});
