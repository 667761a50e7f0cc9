import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosTarget } from '../../chaos/index.ts';
import { findScenarios, runScenario, SENTINEL_FAILOVER_MARGIN_MS } from '../../chaos/index.ts';
import { localSentinelTarget, sentinelExampleManifests } from '../../chaos/targets/index.ts';
import { LocalRuntime } from '../../runtime/local/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../support/index.ts';

/** The Sentinel example chart of main.ts on the local runtime: its primary killed under load, clients through the sentinels. */
describe.runIf(process.getuid?.() === 0)('chaos on the local runtime (RedisSentinel example chart)', () => {
  let runtime: LocalRuntime;
  let target: ChaosTarget;
  let stateDir: string;
  const cwd = process.cwd();

  beforeAll(async () => {
    const run = mkdtempSync(join(harnessTempDir('chaos-sentinel'), 'run-'));
    stateDir = join(run, 'state');
    // Run from a directory under /tmp, as `slotforge up` run from one is: containers inherit it as their working
    // directory while their private /tmp hides it, which a sentinel must survive (its `dir` crash loop, issue 12).
    process.chdir(run);
    runtime = await LocalRuntime.start({ stateDir, manifests: await sentinelExampleManifests() });
    target = localSentinelTarget({ runtime });
    await target.waitHealthy(150_000);
  }, RUNTIME_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    process.chdir(cwd);
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

  it('sentinel-delete-all-sentinels: every sentinel deleted twice returns, agrees on the primary and fails over', async () => {
    const [scenario] = findScenarios(['sentinel-delete-all-sentinels']);
    const started = Date.now();
    const result = await runScenario(scenario!, target, { warmupMs: 1500, settleMs: 1500 });
    console.log(
      `sentinel-delete-all-sentinels (local): ${Date.now() - started} ms in all, recovery ${result.recoveryMs} ms, failed ${result.failedOperations}/${result.operations}, lost ${result.lostAcknowledgedWrites}, down-after ${result.nodeTimeoutMs} ms`,
    );
    for (const v of result.verdicts) console.log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker}: ${v.summary}`);
    expect(result.fault.pods).toEqual([expect.stringMatching(/^sessions-redis-\d$/)]);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.recoveryMs).not.toBeNull();
    expect(result.recoveryMs!).toBeLessThanOrEqual(result.nodeTimeoutMs + SENTINEL_FAILOVER_MARGIN_MS);
    expect(result.ok).toBe(true);
    // Every sentinel state file (on the claims: files Sentinel rewrote, with its `sentinel myid`) names the data volume
    // as its dir, whatever directory the runtime was started in.
    const states = readdirSync(join(stateDir, 'pvc'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('sentinel.conf'))
      .map((f) => ({ f, text: readFileSync(join(stateDir, 'pvc', f), 'utf8') }))
      .filter(({ text }) => /^sentinel myid /m.test(text));
    console.log(`  sentinel state files: ${states.map(({ f }) => f).join(', ')}`);
    expect(states.length).toBeGreaterThanOrEqual(3);
    for (const { text } of states) expect(text).toMatch(/^dir "\/data"$/m);
  }, 240_000);
});
