import ora from 'ora';
import {
  admitOrThrow,
  cleanupLocal,
  loadManifests,
  parseAssumeCrds,
  type RuntimeStatus,
  refuseIfUp,
  startSupervisor,
  statePaths,
  waitHealthy,
} from '../../runtime/local/index.ts';
import { renderRuntimeStatus } from '../table.ts';

/** Options of `slotforge up`. */
export interface UpOptions {
  readonly stateDir: string;
  /** A multi-document YAML file or a dir of them. @default 'dist' */
  readonly manifests: string;
  readonly json: boolean;
  /** How long to wait for every pod ready, every Job complete and every Redis Cluster ok. @default 180000 */
  readonly timeoutMs?: number;
  /** How long a DNS change takes to reach clients. @default 5000 (see LocalRuntimeOptions.dnsDelayMs) */
  readonly dnsDelayMs?: number;
  /** Print no status table (`start` prints one after its demo). @default false */
  readonly quiet?: boolean;
  /** API groups whose CRDs stand installed (`--assume-crds`). @default $SLOTFORGE_ASSUME_CRDS or none */
  readonly assumeCrds?: readonly string[];
}

/** Parses a CLI integer option, naming the option and the rule when it is wrong. */
export function parseCount(name: string, min: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`option --${name} must be an integer >= ${min} (got '${raw}')`);
    }
    return value;
  };
}

/**
 * Starts the local runtime's supervisor for the manifests (a detached process that outlives this one), waits until
 * the deployment is healthy and prints its status. Cleans first what a runtime that died left in the state dir.
 */
export async function up(options: UpOptions): Promise<RuntimeStatus> {
  const paths = statePaths(options.stateDir);
  // Before the cleanup below, which would stop the running supervisor.
  refuseIfUp(options.stateDir);
  // What the API server would refuse fails first, in kubectl's words, before anything is cleaned or started.
  await admitOrThrow(
    loadManifests(options.manifests),
    options.assumeCrds ?? parseAssumeCrds(process.env.SLOTFORGE_ASSUME_CRDS),
  );
  // Leftovers of a runtime that died (namespaces, links, hosts block, mount points): gone before anything starts.
  await cleanupLocal(options.stateDir);
  const spinner = ora({ text: `starting the local runtime for ${options.manifests}`, isSilent: options.json }).start();
  let status: RuntimeStatus;
  try {
    await startSupervisor({
      stateDir: options.stateDir,
      manifests: options.manifests,
      assumeCrds: options.assumeCrds,
      dnsDelayMs: options.dnsDelayMs,
    });
    status = await waitHealthy(options.stateDir, {
      timeoutMs: options.timeoutMs,
      onProgress: (line) => {
        spinner.text = line;
      },
    });
  } catch (error) {
    spinner.fail(`the deployment did not become healthy: ${(error as Error).message}`);
    spinner.info(`events: ${paths.eventsFile}, container logs: ${paths.logs}; 'slotforge down' removes it all`);
    throw error;
  }
  const pods = status.pods.filter((p) => p.phase === 'Running').length;
  spinner.succeed(`up: ${pods} pods on ${status.subnet} (bridge ${status.prefix}br); names resolve in /etc/hosts`);
  if (options.json) console.log(JSON.stringify(status, null, 2));
  else if (!options.quiet) console.log(renderRuntimeStatus(status));
  return status;
}

/** Resolves when the process receives SIGINT or SIGTERM; keeps the process alive until then. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // The pods belong to the detached supervisor: without a timer nothing would keep this process waiting.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const handler = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
