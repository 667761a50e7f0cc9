import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import ora from 'ora';
import {
  evidenceDir,
  findScenarios,
  jsonReport,
  renderHtmlReport,
  runScenario,
  SCENARIOS,
  type ScenarioResult,
  writeEvidence,
} from '../../chaos/index.ts';
import { timelineLines } from '../../chaos/observe/index.ts';
import {
  parseTargetName,
  TARGET_NAMES,
  type TargetFactoryOptions,
  type TargetName,
  targetFactory,
  targetRuns,
} from '../../chaos/targets/index.ts';
import { reexecIfNotRoot } from '../../runtime/local/index.ts';

/** What a runner reports as it goes: progress lines, and each result as soon as its scenario ends. */
interface Hooks {
  readonly onProgress: (line: string) => void;
  /** Where a failed scenario's history, result and deployment logs are kept (`--evidence`); none when unset. */
  readonly evidence?: string;
  /** Shows the result and hands it back. */
  readonly onResult: (result: ScenarioResult) => ScenarioResult;
}

/**
 * Runs scenarios one after the other, each on the target the factory of `target` gives it (chaos/targets): a fresh
 * deployment per scenario on local and harness, the deployed one on kubernetes. A scenario that cannot run is
 * reported as FAIL and the next one runs.
 */
async function runOn(
  target: TargetName,
  names: readonly string[],
  options: TargetFactoryOptions,
  { onProgress, onResult, evidence }: Hooks,
): Promise<ScenarioResult[]> {
  const factory = await targetFactory(target, { ...options, onProgress });
  const results: ScenarioResult[] = [];
  // Ctrl-C or a SIGTERM mid-run: the deployment and everything it started go with the run, as `up` does.
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`${signal}: stopping the deployment and removing what the run created`);
    void factory
      .release()
      .catch(() => undefined)
      .then(() => factory.close())
      .catch(() => undefined)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const scenario of findScenarios(names)) {
      const startedAt = new Date();
      // Kept before the deployment goes: its logs are what a failed verdict is explained from.
      const keep = async (result?: ScenarioResult) => {
        if (!evidence) return;
        const dir = evidenceDir(evidence, scenario.name, startedAt);
        // Each part on its own: the deployment's logs are worth keeping even when the history could not be written.
        let kept = 0;
        const part = async (what: string, keepPart: () => Promise<string[]> | string[]) => {
          try {
            kept += (await keepPart()).length;
          } catch (error) {
            console.error(`${scenario.name}: could not keep ${what} in ${dir}: ${(error as Error).message}`);
          }
        };
        await part('the deployment logs', () => factory.keep(dir));
        if (result) await part('the history', () => writeEvidence(dir, result));
        console.error(`${scenario.name}: evidence kept in ${dir} (${kept} files)`);
      };
      try {
        const opened = await factory.open(scenario);
        const result = await runScenario(scenario, opened, { onProgress });
        if (!result.ok) await keep(result);
        results.push(onResult(result));
      } catch (error) {
        console.error(`FAIL ${scenario.name}: could not run: ${(error as Error).message}`);
        await keep();
      } finally {
        await factory.release();
      }
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await factory.close();
  }
  return results;
}

/** The console lines of one scenario's result: verdict and figures, each checker, the most frequent errors. */
export function resultLines(r: ScenarioResult): string[] {
  const recovery = r.recoveryMs === null ? 'never' : `${Math.round(r.recoveryMs)} ms`;
  return [
    `${r.ok ? 'PASS' : 'FAIL'} ${r.scenario}: lost ${r.lostAcknowledgedWrites} (inherent ${r.inherentLoss}), recovery ${recovery}, failed ops ${r.failedOperations}/${r.operations}, node timeout ${r.nodeTimeoutMs} ms`,
    ...r.verdicts.map((v) => `     ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker}: ${v.summary}`),
    ...(r.failover
      ? [
          `     failover of ${r.failover.pod}: ${r.failover.failedOver ? 'replica promoted' : 'NO failover (no replica promoted)'}, first acknowledged write ${r.failover.beyondNodeTimeoutMs === null ? 'not seen' : `${Math.round(r.failover.beyondNodeTimeoutMs)} ms beyond the node timeout`}`,
          ...timelineLines(r.failover).map((l) => `       ${l}`),
        ]
      : []),
    ...r.topErrors.map((e) => `     ${String(e.count).padStart(6)} x ${e.kind}: ${e.error}`),
  ];
}

/** `slotforge chaos list` and `slotforge chaos run`. */
export function registerChaos(program: Command): void {
  const chaos = program.command('chaos').description('fault drills that prove nothing acknowledged is lost');
  chaos
    .command('list')
    .description('the scenarios, one per line')
    .action(() => {
      for (const s of SCENARIOS) console.log(`${s.name.padEnd(18)} ${s.description}`);
    });
  chaos
    .command('run')
    .description('run scenarios and print verdicts with figures')
    .argument('[names...]', 'scenario names (see chaos list)')
    .option('--all', 'every scenario', false)
    .option('--target <name>', `where to inject faults: ${TARGET_NAMES.join(', ')}`, parseTargetName, 'local')
    .option('--manifests <dir>', 'for --target local: the manifests to run (default: the default charts, synthesized)')
    .option(
      '--kubeconfig <file>',
      'for --target kubernetes: kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)',
    )
    .option('--context <name>', 'for --target kubernetes: kubeconfig context (default: the current one)')
    .option(
      '--namespace <ns>',
      'namespace of the RedisCluster (default: slotforge); for --target local, of the --manifests given',
    )
    .option(
      '--seeds <list>',
      'for --target kubernetes: host:port,... the workloads connect to (default: pod DNS names)',
    )
    .option('--json <file>', 'write per-scenario figures and verdicts as JSON')
    .option('--report <file>', 'write an HTML report with a timeline per scenario')
    .option(
      '--evidence <dir>',
      "keep each failed scenario's history, result and deployment logs in <dir>/<scenario>-<time>",
      'chaos-evidence',
    )
    .option('--no-evidence', 'keep nothing of a failed scenario')
    .action(
      async (
        names: string[],
        flags: {
          all: boolean;
          target: TargetName;
          manifests?: string;
          json?: string;
          report?: string;
          evidence: string | false;
          kubeconfig?: string;
          context?: string;
          namespace?: string;
          seeds?: string;
        },
      ) => {
        // The harness has no Sentinel deployment: --all there means every RedisCluster scenario.
        // As a normal user the local target runs in a user namespace of its own, where the runtime is root.
        if (flags.target === 'local' && (await reexecIfNotRoot())) return;
        const selected = flags.all
          ? SCENARIOS.filter((s) => targetRuns(flags.target, s.deployment)).map((s) => s.name)
          : names;
        if (selected.length === 0)
          throw new Error("name at least one scenario (see 'slotforge chaos list') or pass --all");
        const sentinelOnHarness = findScenarios(selected).filter((s) => !targetRuns(flags.target, s.deployment));
        if (sentinelOnHarness.length > 0) {
          throw new Error(
            `scenario '${sentinelOnHarness[0]?.name}' runs on a RedisSentinel deployment, which only --target local has (not --target ${flags.target})`,
          );
        }
        const spinner = ora(`running ${selected.length} scenario(s) on ${flags.target}`).start();
        // Without a terminal (CI, a log file) the spinner shows nothing: progress goes to stderr, timestamped.
        const progress = (line: string) => {
          if (spinner.isEnabled) spinner.text = line;
          else console.error(`${new Date().toISOString()} ${line}`);
        };
        // Each verdict is printed as soon as its scenario ends: a matrix run takes a while.
        const hooks: Hooks = {
          onProgress: progress,
          ...(flags.evidence ? { evidence: flags.evidence } : {}),
          onResult: (r) => {
            spinner.stop();
            for (const line of resultLines(r)) console.log(line);
            spinner.start();
            return r;
          },
        };
        const { manifests, namespace, kubeconfig, context, seeds } = flags;
        const results = await runOn(
          flags.target,
          selected,
          // --manifests is for --target local only, as before.
          { ...(flags.target === 'local' ? { manifests } : {}), namespace, kubeconfig, context, seeds },
          hooks,
        );
        spinner.stop();
        if (flags.json) writeFileSync(flags.json, `${JSON.stringify(jsonReport(results), null, 2)}\n`);
        if (flags.report) writeFileSync(flags.report, renderHtmlReport(results));
        if (results.length < selected.length || results.some((r) => !r.ok)) process.exitCode = 1;
        // Every deployment is stopped and the reports are written: the command is done. Something still open (an
        // ioredis socket of a workload cut off mid-reconnect, seen a few times under heavy load) must not keep it
        // alive; say what it was and exit. Unref'd: it fires only if the process would otherwise hang.
        setTimeout(() => {
          console.error(`chaos run: done; still open: ${process.getActiveResourcesInfo().join(', ')}; exiting`);
          process.exit();
        }, 5000).unref();
      },
    );
}
