import { pollUntil } from '../runtime/process/index.ts';
import { measureRecovery, type RecoveryFigures } from './checkers/recovery.ts';
import type { Verdict } from './checkers/verdict.ts';
import { type History, HistoryRecorder, type Operation } from './history.ts';
import { type FailoverTimeline, failoverTimeline } from './observe/failover-timeline.ts';
import { observeNodes } from './observe/node-observer.ts';
import type { FaultContext, FaultEffect, Scenario } from './scenario.ts';
import { keySlot } from './slots.ts';
import type { ChaosTarget } from './target.ts';
import type { WorkloadContext } from './workloads/workload.ts';

/** Workloads stop within this of the abort: an operation in flight ends by its deadline (at most 10 s). */
const WORKLOAD_STOP_MS = 30_000;

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** Workload time before the fault, for a throughput baseline. @default 2000 */
  readonly warmupMs?: number;
  /** Workload time after the deployment is healthy again. @default 2000 */
  readonly settleMs?: number;
  /**
   * How long past `settleMs` a workload that was not served again since 'healthy' ({@link Workload.settled}) keeps
   * running before the workloads stop anyway. @default 20000
   */
  readonly settleMaxMs?: number;
  /** The deployment must be healthy again within this. @default 60000 */
  readonly healTimeoutMs?: number;
  /** @default 2000 */
  readonly operationTimeoutMs?: number;
  /** Progress lines. */
  readonly onProgress?: (line: string) => void;
}

/** What one scenario run produced; the JSON report carries these fields. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly target: string;
  readonly ok: boolean;
  readonly lostAcknowledgedWrites: number;
  readonly inherentLoss: number;
  readonly recoveryMs: number | null;
  readonly steadyMs: number | null;
  /** The last failed or slow affected write recovery is counted from (ms after the fault). */
  readonly recoveryAfter?: RecoveryFigures['lastBad'];
  readonly failedOperations: number;
  readonly operations: number;
  readonly nodeTimeoutMs: number;
  /** The most frequent failures, by workload operation kind and error, most frequent first (at most 5). */
  readonly topErrors: ReadonlyArray<{ kind: string; error: string; count: number }>;
  readonly fault: FaultEffect;
  /**
   * For a fault on one master's slots: when each failover phase happened (pfail, fail, election, promotion, client
   * slot map, first acknowledged write), from the node observer and the history.
   */
  readonly failover?: FailoverTimeline;
  readonly verdicts: Verdict[];
  readonly history: History;
}

/** Marks each keyed operation as affected when its slot is in the fault's slot ranges (or all, when none given). */
export function markAffected(history: History, effect: FaultEffect): History {
  const inRange = (slot: number) => effect.affectedSlots.some(([from, to]) => slot >= from && slot <= to);
  const operations = history.operations.map(
    (op): Operation =>
      op.key === undefined ? op : { ...op, affected: effect.affectedSlots.length === 0 || inRange(keySlot(op.key)) },
  );
  return { ...history, operations };
}

/**
 * Runs one scenario: waits for a healthy deployment, starts the workloads, injects the fault after the warm-up, waits
 * until the deployment is healthy again, heals, lets the workloads settle, stops them, verifies, then checks.
 */
export async function runScenario(
  scenario: Scenario,
  target: ChaosTarget,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const say = options.onProgress ?? (() => {});
  const healTimeoutMs = options.healTimeoutMs ?? 60_000;
  await target.waitHealthy(healTimeoutMs);
  if (scenario.prepare) {
    say(`${scenario.name}: preparing`);
    await scenario.prepare(target);
    await target.waitHealthy(healTimeoutMs);
  }
  const nodeTimeoutMs = await target.nodeTimeoutMs();
  const recorder = new HistoryRecorder();
  const abort = new AbortController();
  const ctx: WorkloadContext = {
    connection: await target.connection(),
    recorder,
    signal: abort.signal,
    operationTimeoutMs: options.operationTimeoutMs ?? 2000,
  };
  const workloads = scenario.workloads();
  // Every member's CLUSTER NODES / INFO, polled from the host through the whole run: the failover timeline.
  const observable = await target.observable?.().catch(() => undefined);
  const stopObserving = observable
    ? observeNodes(observable.members, observable, recorder, abort.signal)
    : async () => {};
  say(`${scenario.name}: workloads ${workloads.map((w) => w.name).join(', ')} running`);
  const done = new Set<string>();
  // A workload that throws ends its own part of the history (the checkers then see what it did not record, e.g.
  // workload-coverage), never the whole run: said here, not an unhandled rejection of the process.
  const running = Promise.all(
    workloads.map((w) =>
      w
        .run(ctx)
        .catch((error: unknown) => {
          recorder.mark('workload:error', `${w.name}: ${String((error as Error)?.message ?? error)}`);
          say(`${scenario.name}: workload ${w.name} stopped: ${String((error as Error)?.message ?? error)}`);
        })
        .finally(() => {
          done.add(w.name);
        }),
    ),
  );
  /** Waits for the workloads to stop after the abort; one that does not within its bound is named in the error. */
  const stopped = () =>
    pollUntil(() => done.size === workloads.length, {
      description: `workloads to stop (still running: ${workloads
        .filter((w) => !done.has(w.name))
        .map((w) => w.name)
        .join(', ')})`,
      timeoutMs: WORKLOAD_STOP_MS,
      intervalMs: 100,
    }).then(() => running);
  const faultCtx: FaultContext = { mark: (name, detail) => recorder.mark(name, detail) };
  let effect: FaultEffect = { pods: [], affectedSlots: [], description: 'not injected' };
  try {
    await delay(options.warmupMs ?? 2000);
    recorder.mark('fault:inject', scenario.name);
    say(`${scenario.name}: injecting`);
    effect = await scenario.fault.inject(target, faultCtx);
    say(`${scenario.name}: injected: ${effect.description}`);
    if (scenario.faultDurationMs) await delay(scenario.faultDurationMs);
    recorder.mark('fault:heal');
    await scenario.fault.heal(target, faultCtx);
    await pollUntil(
      async () => {
        await target.waitHealthy(5000);
        return true;
      },
      { description: 'the deployment to be healthy after the fault', timeoutMs: healTimeoutMs, intervalMs: 200 },
    );
    recorder.mark('healthy');
    const healthyAt = recorder.elapsed();
    say(`${scenario.name}: healthy again at ${Math.round(healthyAt)} ms`);
    await delay(options.settleMs ?? 2000);
    // A workload whose clients have not been served since 'healthy' yet (a subscriber still reconnecting to pods
    // that all have new addresses) keeps running, up to a bound; the checkers judge what it then recorded.
    const settleMaxMs = options.settleMaxMs ?? 20_000;
    await pollUntil(() => workloads.every((w) => w.settled?.(healthyAt) ?? true), {
      description: 'the workloads to be served again after the fault',
      timeoutMs: settleMaxMs,
      intervalMs: 100,
    }).catch(() => say(`${scenario.name}: a workload was not served again within ${settleMaxMs} ms more`));
  } finally {
    abort.abort();
    say(`${scenario.name}: stopping the workloads`);
    await stopped();
    await stopObserving();
    await scenario.fault.heal(target).catch(() => undefined);
  }
  say(`${scenario.name}: verifying what was acknowledged`);
  // Verified through the deployment as it is now: after a full restart or a scale-in the pods the run started with
  // may be gone.
  const verifyCtx: WorkloadContext = { ...ctx, connection: await target.connection() };
  for (const w of workloads) await w.verify?.(verifyCtx);
  const history = markAffected(recorder.history(), effect);
  say(`${scenario.name}: checking the history (${history.operations.length} operations)`);
  const verdicts = scenario.check(history, { nodeTimeoutMs, effect });
  const recovery = measureRecovery(history);
  const lost = verdicts.find((v) => v.checker === 'lost-acknowledged-writes')?.evidence;
  const failover = effect.affectedSlots.length > 0 ? failoverTimeline(history, effect, nodeTimeoutMs) : undefined;
  return {
    scenario: scenario.name,
    target: target.name,
    ok: verdicts.every((v) => v.ok),
    lostAcknowledgedWrites: Number(lost?.lost ?? 0),
    inherentLoss: Number(lost?.inherentLoss ?? 0),
    recoveryMs: recovery.recoveryMs,
    steadyMs: recovery.steadyMs,
    ...(recovery.lastBad ? { recoveryAfter: recovery.lastBad } : {}),
    failedOperations: history.operations.filter((op) => op.kind !== 'verify' && op.outcome !== 'ok').length,
    operations: history.operations.filter((op) => op.kind !== 'verify').length,
    nodeTimeoutMs,
    topErrors: topErrors(history),
    fault: effect,
    ...(failover ? { failover } : {}),
    verdicts,
    history,
  };
}

/** Failed and unknown operations grouped by kind and error (numbers and addresses folded), most frequent first. */
export function topErrors(history: History, limit = 5): ScenarioResult['topErrors'] {
  const counts = new Map<string, { kind: string; error: string; count: number }>();
  for (const op of history.operations) {
    if (op.outcome === 'ok' || op.kind === 'verify') continue;
    const error = (op.error ?? op.outcome).replace(/\d+(\.\d+)*(:\d+)?/g, 'N').slice(0, 160);
    const key = `${op.kind}\u0000${error}`;
    const entry = counts.get(key) ?? { kind: op.kind, error, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count).slice(0, limit);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
