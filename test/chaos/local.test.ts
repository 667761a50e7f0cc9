import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosTarget } from '../../chaos/index.ts';
import {
  FULL_RESTART_HEALTHY_MS,
  findScenarios,
  KILL_MASTER_RECOVERY_MARGIN_MS,
  runScenario,
  type ScenarioResult,
} from '../../chaos/index.ts';
import { timelineLines } from '../../chaos/observe/index.ts';
import { keepLocalDeployment, localTarget } from '../../chaos/targets/index.ts';
import { LocalRuntime, loadManifests } from '../../runtime/local/index.ts';
import { synthDefaultCharts } from '../runtime/local/index.ts';
import { cleanUpAndExpectNothingLeft, harnessTempDir, RUNTIME_HOOK_TIMEOUT_MS } from '../support/index.ts';

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

  it('kill-master: its slots take writes again within node timeout + 1.5 s, the verdict says whether by restart or failover', async () => {
    const result = await run('kill-master');
    expect(result.fault.pods).toHaveLength(1);
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.failedOperations).toBeGreaterThan(0);
    expect(result.recoveryMs).not.toBeNull();
    expect(result.recoveryMs!).toBeLessThanOrEqual(result.nodeTimeoutMs + KILL_MASTER_RECOVERY_MARGIN_MS);
    // The verdict says how it recovered: a container restart in place usually beats the node timeout.
    const recovery = result.verdicts.find((v) => v.checker === 'recovery-time');
    expect(recovery?.evidence.failedOver).toBe(result.failover?.failedOver);
    expect(recovery?.summary).toMatch(/by failover|NO failover happened/);
    expect(result.ok).toBe(true);
  }, 180_000);

  it('pause-master: a stalled master is failed over, every phase of the failover timeline seen, nothing lost', async () => {
    const result = await run('pause-master');
    for (const line of result.failover ? timelineLines(result.failover) : []) console.log(`  ${line}`);
    expect(result.failover?.failedOver).toBe(true);
    const seen = new Set(result.failover?.phases.filter((p) => p.atMs !== null).map((p) => p.phase));
    // Not 'fail agreed': the failover assist no longer waits for Redis's own FAIL, which may come after the promotion
    // and after the pause has ended (it did at 6.4-7.6 s of the 8 s pause in the drills, docs/chaos.md).
    for (const phase of ['first pfail', 'promoted', 'client slot map', 'first acknowledged write']) {
      expect(seen).toContain(phase);
    }
    expect(result.verdicts.find((v) => v.checker === 'no-early-failover')?.ok).toBe(true);
    expect(result.lostAcknowledgedWrites).toBe(0);
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

  // Runs last, after full-restart replaced every pod: a second SIGKILL of one pod within 10 minutes waits out the
  // kubelet's 10 s back-off, longer than the node timeout, so its replica takes over. Here that would make Redis serve
  // the open slot without its markers (they are not replicated: redis/redis#6339), a different drill (docs/chaos.md);
  // before kill-master it made kill-master's victim fail over instead of restarting in place.
  // The killed source restarts in place with its replica linked until the kill, so the restarted-master guard
  // (entrypoint.sh) has that replica take over and carries the source's MIGRATING marker over to it (maintain.sh);
  // the restarted node drops its markers as a replica, and the repair closes the slot.
  it('kill-during-migration: the source master killed mid-reshard hands over to its replica, the open slot closes itself, nothing lost', async () => {
    const result = await run('kill-during-migration');
    // Handed over by the guard on its restart, not failed over after a node timeout.
    const [killed] = result.fault.pods;
    const logs = readdirSync(runtime.paths.logs)
      .filter((f) => f.startsWith(`${killed}-`))
      .map((f) => readFileSync(join(runtime.paths.logs, f), 'utf8'))
      .join('');
    for (const line of logs.split('\n').filter((l) => l.includes('guard'))) console.log(`  ${line}`);
    expect(logs).toMatch(/guard: .*it stopped without handing over and a replica linked to it/);
    expect(logs).toMatch(/guard: CLUSTER FAILOVER FORCE on replica \w+ .*: OK$/m);
    expect(logs).toMatch(/guard: a replica took over/);
    expect(result.history.events.find((e) => e.name === 'migration:killed-role')?.detail).toMatch(/is replica: /);
    expect(result.verdicts.find((v) => v.checker === 'slots-closed')?.ok).toBe(true);
    expect(result.history.operations.filter((op) => op.kind === 'bulk-write' && op.outcome === 'ok').length).toBe(
      50_000,
    );
    expect(result.lostAcknowledgedWrites).toBe(0);
    expect(result.ok).toBe(true);
    // What `chaos run` keeps of a failed scenario: the logs of every incarnation of the killed pod (the guard's lines
    // are in the restarted one), the volumes' listing and the AOF manifests.
    const kept = join(harnessTempDir('chaos-local-evidence'), 'kept');
    const files = keepLocalDeployment(stateDir, kept);
    const keptLogs = readdirSync(join(kept, 'logs')).filter((f) => f.startsWith(`${killed}-`));
    expect(keptLogs.map((f) => readFileSync(join(kept, 'logs', f), 'utf8')).join('')).toMatch(
      /guard: a replica took over/,
    );
    expect(readFileSync(join(kept, 'volumes.txt'), 'utf8')).toMatch(/^ +\d+ \S+Z .*appendonlydir\/.*\.manifest$/m);
    expect(files.filter((f) => f.endsWith('.manifest')).length).toBeGreaterThanOrEqual(result.fault.pods.length);
    expect(files).toContain(join(kept, 'events.log'));
  }, 240_000);
});
