import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, pollUntil } from '../process/index.ts';
import { admitOrThrow } from './admission/gate.ts';
import { parseAssumeCrds } from './admission/index.ts';
import { liveSupervisor } from './cleanup.ts';
import { control } from './control.ts';
import { LocalRuntimeError } from './errors.ts';
import { loadManifests } from './manifests.ts';
import { namespaceArgv, namespaceEnv, needsNamespace, recordNamespace } from './rootless/index.ts';
import type { LocalRuntimeOptions } from './runtime-setup.ts';
import { statePaths } from './state.ts';
import type { RuntimeStatus } from './status.ts';

/** Options of {@link startSupervisor}. */
export interface SupervisorOptions {
  readonly stateDir: string;
  /** A multi-document YAML file or a dir of them (`dist/`). */
  readonly manifests: string;
  /** Scales back-off timers (tests). @default 1 */
  readonly timeScale?: number;
  /** @default 30000 */
  readonly startTimeoutMs?: number;
  /** API groups whose CRDs stand installed (`--assume-crds`). @default $SLOTFORGE_ASSUME_CRDS or none */
  readonly assumeCrds?: readonly string[];
  /** See {@link LocalRuntimeOptions.dnsDelayMs}; passed to the supervisor as $SLOTFORGE_DNS_DELAY. */
  readonly dnsDelayMs?: number;
}

/** Throws E_ALREADY_UP, naming the supervisor's pid, when a supervisor runs for the state dir. */
export function refuseIfUp(stateDir: string): void {
  const running = liveSupervisor(stateDir);
  if (running !== undefined) {
    throw new LocalRuntimeError(
      'E_ALREADY_UP',
      `a local runtime is already up in ${statePaths(stateDir).root} (supervisor pid ${running}); run 'slotforge down' first`,
    );
  }
}

/**
 * Starts the supervisor as a detached process (it outlives the CLI that started it) and waits until its control
 * socket answers. Refuses when one already runs for the state dir.
 */
export async function startSupervisor(options: SupervisorOptions): Promise<{ pid: number }> {
  const paths = statePaths(options.stateDir);
  refuseIfUp(options.stateDir);
  // Admission here too, so `up` names every refused object in kubectl's words before anything starts.
  const assumeCrds = options.assumeCrds ?? parseAssumeCrds(process.env.SLOTFORGE_ASSUME_CRDS);
  await admitOrThrow(loadManifests(options.manifests), assumeCrds);
  mkdirSync(paths.root, { recursive: true });
  recordNamespace(paths.root);
  const script = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
  const fd = openSync(paths.supervisorLog, 'a');
  // As a normal user (a library caller outside the namespace) the supervisor starts in a namespace of its own.
  const [command, ...args] = rootlessWrap([
    process.execPath,
    '--conditions=slotforge-source',
    '--import',
    import.meta.resolve('tsx'),
    script,
    paths.root,
    resolve(options.manifests),
    ...(options.timeScale ? [String(options.timeScale)] : []),
  ]);
  const child = spawn(command!, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: {
      ...rootlessEnv(process.env),
      SLOTFORGE_ASSUME_CRDS: assumeCrds.join(','),
      ...(options.dnsDelayMs === undefined ? {} : { SLOTFORGE_DNS_DELAY: `${options.dnsDelayMs}ms` }),
    },
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid as number;
  await pollUntil(
    async () => {
      if (!isAlive(pid)) {
        const log = existsSync(paths.supervisorLog) ? readFileSync(paths.supervisorLog, 'utf8') : '';
        throw new LocalRuntimeError(
          'E_CONTROL',
          `the supervisor exited: ${log.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      return existsSync(paths.socket) && (await control<RuntimeStatus>(paths.socket, { verb: 'status' }, 5000));
    },
    {
      description: `the supervisor of ${paths.root} to answer`,
      timeoutMs: options.startTimeoutMs ?? 30_000,
      intervalMs: 200,
    },
  ).catch((error: Error) => {
    // A supervisor that died says why; a DeadlineError keeps the last observation.
    const cause = (error as { cause?: Error }).cause;
    throw cause instanceof LocalRuntimeError && cause.code === 'E_CONTROL' && !isAlive(pid) ? cause : error;
  });
  return { pid };
}

/** What {@link waitHealthy} waits for. */
export interface HealthOptions {
  /** @default 180000 */
  readonly timeoutMs?: number;
  readonly onProgress?: (line: string) => void;
}

/** A one-line summary of what is not healthy yet, or undefined when every pod is ready, every Job complete and every Redis Cluster ok with all slots covered. */
export function unhealthy(status: RuntimeStatus): string | undefined {
  const notReady = status.pods
    .filter((p) => p.owner.startsWith('StatefulSet') || p.owner.startsWith('Deployment'))
    .filter((p) => !p.ready);
  if (notReady.length > 0)
    return `waiting for ${notReady.length} pod(s) to be ready: ${notReady.map((p) => p.name).join(', ')}`;
  const jobs = status.jobs.filter((j) => j.status !== 'Complete');
  if (jobs.some((j) => j.status === 'Failed')) return `job failed: ${jobs.map((j) => j.name).join(', ')}`;
  if (jobs.length > 0) return `waiting for job(s) ${jobs.map((j) => j.name).join(', ')}`;
  const bad = status.clusters.filter((c) => c.clusterState !== 'ok' || c.slotsCovered !== 16384);
  if (bad.length > 0)
    return `waiting for Redis Cluster(s): ${bad.map((c) => `${c.clusterState} ${c.slotsCovered}/16384`).join(', ')}`;
  // Clients (host ones too) find the members by name: healthy once every name resolves to where the pod is.
  if (status.dns?.pending)
    return `waiting for ${status.dns.pending} DNS change(s) to reach clients (DNS delay ${status.dns.delayMs} ms)`;
  return undefined;
}

/** Polls the supervisor's status until {@link unhealthy} says nothing. */
export async function waitHealthy(stateDir: string, options: HealthOptions = {}): Promise<RuntimeStatus> {
  const socket = statePaths(stateDir).socket;
  let last = '';
  return pollUntil(
    async () => {
      const status = await control<RuntimeStatus>(socket, { verb: 'status' }, 10_000);
      const why = unhealthy(status);
      if (why && why !== last) options.onProgress?.(why);
      last = why ?? '';
      if (why?.startsWith('job failed')) throw new LocalRuntimeError('E_CONTROL', why);
      return why === undefined && status;
    },
    { description: 'a healthy deployment', timeoutMs: options.timeoutMs ?? 180_000, intervalMs: 500 },
  );
}

/** argv as is, or in a new non-root namespace when this process is not root and not inside one. */
function rootlessWrap(argv: string[]): string[] {
  return needsNamespace() ? namespaceArgv(argv) : argv;
}

function rootlessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return needsNamespace() ? namespaceEnv(env) : env;
}
