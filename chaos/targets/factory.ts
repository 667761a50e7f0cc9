import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupLocal, LocalRuntime, loadManifests } from '../../runtime/local/index.ts';
import { ProcessRegistry, reapRegistry } from '../../runtime/process/index.ts';
import { startLocalCluster } from '../../runtime/redis/index.ts';
import type { Scenario } from '../scenario.ts';
import type { ChaosTarget } from '../target.ts';
import {
  defaultClusterManifests,
  largeDatasetClusterManifests,
  sentinelExampleManifests,
} from './default-deployment.ts';
import { copyFiles, keepLocalDeployment } from './evidence-files.ts';
import { harnessTarget } from './harness.ts';
import { localTarget } from './local.ts';
import { localSentinelTarget } from './local-sentinel.ts';

/**
 * Where scenarios can run: the local runtime running the synthesized default charts (the default), the test
 * harness's hand-made cluster (no root needed, no manifests involved), or a RedisCluster already deployed on a real
 * Kubernetes cluster (docs/chaos-kubernetes.md).
 */
export const TARGET_NAMES = ['local', 'harness', 'kubernetes'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Parses a target name, naming the option and the choices when it is wrong. */
export function parseTargetName(raw: string): TargetName {
  if (!(TARGET_NAMES as readonly string[]).includes(raw)) {
    throw new Error(`option --target must be one of ${TARGET_NAMES.join(', ')} (got '${raw}')`);
  }
  return raw as TargetName;
}

/** Whether `target` has the deployment a scenario runs on (only the local runtime runs a RedisSentinel). */
export function targetRuns(target: TargetName, deployment: Scenario['deployment']): boolean {
  return target === 'local' || deployment !== 'sentinel';
}

/** Options of {@link targetFactory}. */
export interface TargetFactoryOptions {
  /** local: the manifests to run instead of the synthesized default charts. */
  readonly manifests?: string;
  /** local: the namespace of the RedisCluster in `manifests`; kubernetes: of the deployed one. */
  readonly namespace?: string;
  /** kubernetes: kubeconfig file. @default $KUBECONFIG, ~/.kube/config, in-cluster */
  readonly kubeconfig?: string;
  /** kubernetes: kubeconfig context. @default the current one */
  readonly context?: string;
  /** kubernetes: `host:port,...` the workloads connect to. @default pod DNS names */
  readonly seeds?: string;
  readonly onProgress?: (line: string) => void;
}

/** Gives each scenario its target, and takes down what it built for it. */
export interface TargetFactory {
  /**
   * A healthy target for `scenario`: a fresh deployment per scenario where the target makes one (local, harness), so
   * one scenario's damage never leaks into the next; else the deployed one once it is healthy again (kubernetes).
   */
  open(scenario: Scenario): Promise<ChaosTarget>;
  /** Removes what {@link open} built for the last scenario (idempotent; nothing for kubernetes). */
  release(): Promise<void>;
  /** Releases everything (the kubernetes target's objects and connections). */
  close(): Promise<void>;
  /**
   * Copies what the last scenario's deployment left for a person to read into `dir`, before {@link release} removes
   * it: the pods' container logs and the runtime's events (local), the members' logs (harness). Nothing for
   * kubernetes (`kubectl logs --previous` reads them there). Returns the paths copied.
   */
  keep(dir: string): Promise<string[]>;
}

/** How long a deployment may take to become healthy before its scenario runs. */
const HEALTHY_TIMEOUT_MS = 180_000;

/**
 * Fresh hand-made cluster per scenario (3 masters, 3 replicas, node timeout 2000 ms) in a temp dir; every process it
 * started is reaped with the dir.
 */
function harnessFactory(): TargetFactory {
  let release = async () => {};
  let dataDir: string | undefined;
  return {
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'slotforge-chaos-'));
      const registry = join(dir, 'registry');
      let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
      release = async () => {
        release = async () => {};
        try {
          await cluster?.stop();
        } finally {
          reapRegistry(registry);
          rmSync(dir, { recursive: true, force: true });
        }
      };
      dataDir = join(dir, 'data');
      cluster = await startLocalCluster({
        dir: dataDir,
        password: 'chaos',
        registry: new ProcessRegistry(registry),
      });
      return harnessTarget(cluster);
    },
    release: () => release(),
    close: () => release(),
    keep: async (dest) => (dataDir ? copyFiles(dataDir, dest, (path) => path.endsWith('.log')) : []),
  };
}

/** Fresh local runtime per scenario from the synthesized default charts (or `manifests`). Needs root. */
function localFactory(options: TargetFactoryOptions): TargetFactory {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "--target local needs root or a user namespace (each pod gets a network namespace): run as root, through 'slotforge chaos run' (it enters one), or use '--target harness'",
    );
  }
  const { manifests, namespace } = options;
  let release = async () => {};
  let stateDir: string | undefined;
  return {
    open: async (scenario) => {
      const dir = mkdtempSync(join(tmpdir(), 'slotforge-chaos-local-'));
      stateDir = dir;
      let runtime: LocalRuntime | undefined;
      release = async () => {
        release = async () => {};
        await runtime?.stop();
        await cleanupLocal(dir);
        rmSync(dir, { recursive: true, force: true });
        stateDir = undefined;
      };
      options.onProgress?.(`${scenario.name}: starting the deployment`);
      const sentinel = scenario.deployment === 'sentinel';
      runtime = await LocalRuntime.start({
        stateDir: dir,
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
      await target.waitHealthy(HEALTHY_TIMEOUT_MS);
      return target;
    },
    release: () => release(),
    close: () => release(),
    keep: async (dest) => (stateDir ? keepLocalDeployment(stateDir, dest) : []),
  };
}

/** The RedisCluster deployed in a real cluster: one target for every scenario, each run once it is healthy again. */
async function kubernetesFactory(options: TargetFactoryOptions): Promise<TargetFactory> {
  // Loaded only for this target: @kubernetes/client-node is large.
  const { kubernetesTarget, parseSeeds } = await import('./kubernetes.ts');
  const target = kubernetesTarget({
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.context ? { context: options.context } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.seeds ? { seeds: parseSeeds(options.seeds).map((s) => `${s.host}:${s.port}`) } : {}),
  });
  return {
    open: async (scenario) => {
      options.onProgress?.(`${scenario.name}: waiting for the deployment to be healthy`);
      await target.waitHealthy(HEALTHY_TIMEOUT_MS);
      return target;
    },
    release: async () => {},
    close: () => target.close(),
    keep: async () => [],
  };
}

/** The factory of targets named `name` (`chaos run --target`). */
export async function targetFactory(name: TargetName, options: TargetFactoryOptions = {}): Promise<TargetFactory> {
  switch (name) {
    case 'harness':
      return harnessFactory();
    case 'local':
      return localFactory(options);
    case 'kubernetes':
      return kubernetesFactory(options);
  }
}
