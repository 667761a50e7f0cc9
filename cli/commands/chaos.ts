import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import ora from 'ora';
import {
  findScenarios,
  harnessTarget,
  jsonReport,
  renderHtmlReport,
  runScenario,
  SCENARIOS,
  type ScenarioResult,
} from '../../chaos/index.ts';
import { timelineLines } from '../../chaos/observe/failover-timeline.ts';
import {
  defaultClusterManifests,
  largeDatasetClusterManifests,
  sentinelExampleManifests,
} from '../../chaos/targets/default-deployment.ts';
import { localTarget } from '../../chaos/targets/local.ts';
import { localSentinelTarget } from '../../chaos/targets/local-sentinel.ts';
import { cleanupLocal, LocalRuntime, loadManifests, reexecIfNotRoot } from '../../runtime/local/index.ts';
import { ProcessRegistry, reapRegistry } from '../../runtime/process/index.ts';
import { startLocalCluster } from '../../runtime/redis/index.ts';

/**
 * Targets `chaos run` can use: the local runtime running the synthesized default charts (the default), the test
 * harness's hand-made cluster (no root needed, no manifests involved), or a RedisCluster already deployed on a real
 * Kubernetes cluster (docs/chaos-kubernetes.md).
 */
const TARGETS = ['local', 'harness', 'kubernetes'] as const;
type TargetName = (typeof TARGETS)[number];

function parseTarget(raw: string): TargetName {
  if (!(TARGETS as readonly string[]).includes(raw)) {
    throw new Error(`option --target must be one of ${TARGETS.join(', ')} (got '${raw}')`);
  }
  return raw as TargetName;
}

/** What a runner reports as it goes: progress lines, and each result as soon as its scenario ends. */
interface Hooks {
  readonly onProgress: (line: string) => void;
  /** Shows the result and hands it back. */
  readonly onResult: (result: ScenarioResult) => ScenarioResult;
}

/**
 * Runs scenarios on a fresh hand-made cluster per scenario (harness target: 3 masters, 3 replicas, node timeout
 * 2000 ms), so one scenario's damage never leaks into the next.
 */
async function runOnHarness(names: readonly string[], { onProgress, onResult }: Hooks): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const scenario of findScenarios(names)) {
    const dir = mkdtempSync(join(tmpdir(), 'slotforge-chaos-'));
    const registry = join(dir, 'registry');
    try {
      const cluster = await startLocalCluster({
        dir: join(dir, 'data'),
        password: 'chaos',
        registry: new ProcessRegistry(registry),
      });
      try {
        results.push(onResult(await runScenario(scenario, harnessTarget(cluster), { onProgress })));
      } catch (error) {
        console.error(`FAIL ${scenario.name}: could not run: ${(error as Error).message}`);
      } finally {
        await cluster.stop();
      }
    } finally {
      reapRegistry(registry);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

/**
 * Runs scenarios on the local runtime, a fresh deployment per scenario from the synthesized default charts (or
 * `manifests`), so one scenario's damage never leaks into the next. Needs root (network namespaces).
 */
async function runOnLocal(
  names: readonly string[],
  manifests: string | undefined,
  namespace: string | undefined,
  { onProgress, onResult }: Hooks,
): Promise<ScenarioResult[]> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "--target local needs root or a user namespace (each pod gets a network namespace): run as root, through 'slotforge chaos run' (it enters one), or use '--target harness'",
    );
  }
  const results: ScenarioResult[] = [];
  for (const scenario of findScenarios(names)) {
    const stateDir = mkdtempSync(join(tmpdir(), 'slotforge-chaos-local-'));
    let runtime: LocalRuntime | undefined;
    try {
      onProgress(`${scenario.name}: starting the deployment`);
      const sentinel = scenario.deployment === 'sentinel';
      runtime = await LocalRuntime.start({
        stateDir,
        manifests: manifests
          ? loadManifests(manifests)
          : sentinel
            ? await sentinelExampleManifests()
            : scenario.deployment === 'cluster-large'
              ? await largeDatasetClusterManifests()
              : await defaultClusterManifests(),
      });
      const target = sentinel
        ? localSentinelTarget({ runtime })
        : localTarget({
            runtime,
            ...(namespace ? { namespace } : {}),
            ...(manifests ? {} : { manifestsFor: defaultClusterManifests }),
          });
      await target.waitHealthy(180_000);
      results.push(onResult(await runScenario(scenario, target, { onProgress })));
    } catch (error) {
      console.error(`FAIL ${scenario.name}: could not run: ${(error as Error).message}`);
    } finally {
      await runtime?.stop();
      await cleanupLocal(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Flags of `chaos run --target kubernetes`. */
interface KubernetesFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  seeds?: string;
}

/**
 * Runs scenarios on the RedisCluster deployed in a real cluster. There is no fresh deployment per scenario: each one
 * starts only once the deployment is healthy again, and whatever the target created is removed at the end.
 */
async function runOnKubernetes(
  names: readonly string[],
  flags: KubernetesFlags,
  { onProgress, onResult }: Hooks,
): Promise<ScenarioResult[]> {
  // Loaded only for this target: @kubernetes/client-node is large.
  const { kubernetesTarget, parseSeeds } = await import('../../chaos/targets/kubernetes.ts');
  const target = kubernetesTarget({
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(flags.seeds ? { seeds: parseSeeds(flags.seeds).map((s) => `${s.host}:${s.port}`) } : {}),
  });
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of findScenarios(names)) {
      try {
        onProgress(`${scenario.name}: waiting for the deployment to be healthy`);
        await target.waitHealthy(180_000);
        results.push(onResult(await runScenario(scenario, target, { onProgress })));
      } catch (error) {
        console.error(`FAIL ${scenario.name}: could not run: ${(error as Error).message}`);
      }
    }
  } finally {
    await target.close();
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
    .option('--target <name>', `where to inject faults: ${TARGETS.join(', ')}`, parseTarget, 'local')
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
    .action(
      async (
        names: string[],
        flags: {
          all: boolean;
          target: TargetName;
          manifests?: string;
          json?: string;
          report?: string;
        } & KubernetesFlags,
      ) => {
        // As a normal user the local target runs in a user namespace of its own, where the runtime is root.
        if (flags.target === 'local' && (await reexecIfNotRoot())) return;
        // The harness has no Sentinel deployment: --all there means every RedisCluster scenario.
        const selected = flags.all
          ? SCENARIOS.filter((s) => flags.target === 'local' || s.deployment !== 'sentinel').map((s) => s.name)
          : names;
        if (selected.length === 0)
          throw new Error("name at least one scenario (see 'slotforge chaos list') or pass --all");
        const sentinelOnHarness = findScenarios(selected).filter(
          (s) => s.deployment === 'sentinel' && flags.target !== 'local',
        );
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
          onResult: (r) => {
            spinner.stop();
            for (const line of resultLines(r)) console.log(line);
            spinner.start();
            return r;
          },
        };
        const results =
          flags.target === 'local'
            ? await runOnLocal(selected, flags.manifests, flags.namespace, hooks)
            : flags.target === 'kubernetes'
              ? await runOnKubernetes(selected, flags, hooks)
              : await runOnHarness(selected, hooks);
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
