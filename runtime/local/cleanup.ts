import { readFileSync, rmSync } from 'node:fs';
import { isAlive, pollUntil, readCmdline } from '../process/index.ts';
import { cgroupLeftovers, removeCgroups } from './cgroups.ts';
import { removeHostsBlock } from './dns.ts';
import { releaseHostDns } from './host-dns-claim.ts';
import { listLinks, listNetns, sweepNetwork } from './network.ts';
import { forgetRuntime } from './orphans.ts';
import { cleanupOutside, needsNamespace } from './rootless/index.ts';
import { runtimePrefix } from './runtime-setup.ts';
import { statePaths } from './state.ts';

/** What {@link cleanupLocal} found and removed. */
export interface CleanupReport {
  readonly stateDir: string;
  /** The supervisor was still running and was stopped. */
  readonly supervisor: 'stopped' | 'killed' | 'none';
  readonly namespaces: string[];
  readonly links: string[];
  readonly hostsBlock: boolean;
  readonly mountPoints: string[];
  /** Container cgroups (named with the prefix) removed. */
  readonly cgroups: number;
}

/** The supervisor pid recorded in the state dir when it still runs with this state dir in its command line. */
export function liveSupervisor(stateDir: string): number | undefined {
  const paths = statePaths(stateDir);
  try {
    const { pid } = JSON.parse(readFileSync(paths.runtimeFile, 'utf8')) as { pid: number };
    if (pid !== process.pid && isAlive(pid) && readCmdline(pid).includes(paths.root)) return pid;
  } catch {
    // no runtime file
  }
  return undefined;
}

/**
 * Leaves nothing of the runtime of `stateDir` behind, whether it stopped cleanly or died: stops its supervisor
 * (SIGTERM, then SIGKILL after `graceMs`), kills every process in its namespaces, deletes its veths, namespaces and
 * bridge (all named with its prefix), its /etc/hosts block and the mount points it created, and finally the state
 * dir itself unless `keepData`.
 */
export async function cleanupLocal(stateDir: string, options: { graceMs?: number; keepData?: boolean } = {}) {
  const paths = statePaths(stateDir);
  const prefix = runtimePrefix(stateDir);
  let supervisor: CleanupReport['supervisor'] = 'none';
  const pid = liveSupervisor(stateDir);
  if (needsNamespace()) {
    // Not root, outside the runtime's namespace: its network and records live (and go) with the namespace.
    const outside = await cleanupOutside(stateDir, pid, options.graceMs ?? 60_000);
    if (!options.keepData) rmSync(paths.root, { recursive: true, force: true });
    return {
      stateDir: paths.root,
      supervisor: outside.supervisor,
      namespaces: [],
      links: [],
      hostsBlock: false,
      mountPoints: [],
      cgroups: 0,
    } satisfies CleanupReport;
  }
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    supervisor = 'stopped';
    try {
      await pollUntil(() => !isAlive(pid), {
        description: `supervisor ${pid} to stop its pods`,
        timeoutMs: options.graceMs ?? 60_000,
        intervalMs: 100,
      });
    } catch {
      process.kill(pid, 'SIGKILL');
      supervisor = 'killed';
    }
  }
  const swept = await sweepNetwork(prefix);
  const cgroups = await removeCgroups(prefix);
  const hostsBlock = removeHostsBlock(prefix);
  releaseHostDns(stateDir);
  // The mount points go with the last runtime of the host.
  const mountPoints = forgetRuntime(prefix);
  if (options.keepData) {
    for (const dir of [paths.pods, paths.socket, paths.runtimeFile, paths.hostsFile, paths.createdFile]) {
      rmSync(dir, { recursive: true, force: true });
    }
  } else rmSync(paths.root, { recursive: true, force: true });
  return { stateDir: paths.root, supervisor, ...swept, hostsBlock, mountPoints, cgroups } satisfies CleanupReport;
}

/** What of the runtime of `stateDir` exists on this host now (for tests and `down` to verify). */
export async function leftovers(stateDir: string) {
  const prefix = runtimePrefix(stateDir);
  const hosts = readFileSync('/etc/hosts', 'utf8');
  const namespaces = await listNetns(prefix);
  return {
    namespaces,
    links: await listLinks(prefix),
    hostsBlock: hosts.includes(`slotforge local runtime ${prefix}`),
    cgroups: cgroupLeftovers(prefix),
    supervisor: liveSupervisor(stateDir),
  };
}
