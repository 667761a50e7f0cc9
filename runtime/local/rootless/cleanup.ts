/**
 * `down` from outside the non-root namespace. The runtime's network, /run records, hosts block and cgroups all live
 * inside the namespace (they go with it), so the host-wide sweep of root mode has nothing to do out here and must not
 * touch root's records of other runtimes. What is left: stop the supervisor (it stops every pod), then kill whatever
 * still runs in the namespace (its user namespace, recorded at `up`: a supervisor that died leaves its containers
 * running there), then remove the state dir.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, pollUntil, run } from '../../process/index.ts';
import { statePaths } from '../state.ts';
import { insideRootless, userNamespaceOf } from './namespace.ts';

/** `<state dir>/rootless.json`: the user namespace the runtime of the state dir runs in. */
function recordFile(stateDir: string): string {
  return join(statePaths(stateDir).root, 'rootless.json');
}

/** Records this process's user namespace for the state dir (the CLI of `up`, inside the namespace); a no-op as root. */
export function recordNamespace(stateDir: string): void {
  if (!insideRootless()) return;
  writeFileSync(recordFile(stateDir), `${JSON.stringify({ userNamespace: userNamespaceOf('self') })}\n`);
}

/** The user namespace recorded for the state dir, if any. */
export function recordedNamespace(stateDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(recordFile(stateDir), 'utf8')) as { userNamespace?: string }).userNamespace;
  } catch {
    return undefined;
  }
}

/**
 * The user namespace `userNamespace` and every one nested in it (each container's, rootless/chroot.ts), as
 * `user:[inode]`: their parents come from `lsns` (util-linux, the NS_GET_PARENT ioctl).
 */
async function withNested(userNamespace: string): Promise<Set<string>> {
  const inode = /\[(\d+)\]/.exec(userNamespace)?.[1];
  const found = new Set([userNamespace]);
  const result = await run('lsns', ['-t', 'user', '-n', '-r', '-o', 'NS,PNS']);
  const parentOf = new Map(
    result.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length === 2)
      .map(([ns, parent]) => [ns!, parent!] as const),
  );
  const inodes = new Set(inode ? [inode] : []);
  for (let grown = true; grown; ) {
    grown = false;
    for (const [ns, parent] of parentOf) {
      if (inodes.has(parent) && !inodes.has(ns)) {
        inodes.add(ns);
        grown = true;
      }
    }
  }
  for (const ns of inodes) found.add(`user:[${ns}]`);
  return found;
}

/** Pids of this user's processes in the user namespaces `namespaces`, this process excluded. */
function namespacePids(namespaces: ReadonlySet<string>): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const ns = userNamespaceOf(Number(name));
    if (ns && namespaces.has(ns)) pids.push(Number(name));
  }
  return pids;
}

/** SIGKILLs every process of the namespace until none is left (nested user namespaces of containers included). */
export async function killNamespace(userNamespace: string | undefined): Promise<number> {
  if (!userNamespace) return 0;
  let killed = 0;
  await pollUntil(
    async () => {
      const pids = namespacePids(await withNested(userNamespace)).filter(isAlive);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch {
          // gone
        }
      }
      return pids.length === 0;
    },
    { description: `the processes of ${userNamespace} to exit`, timeoutMs: 10_000, intervalMs: 100 },
  ).catch(() => undefined);
  return killed;
}

/** What {@link cleanupOutside} did, in the shape of root mode's cleanup report. */
export interface OutsideCleanup {
  readonly supervisor: 'stopped' | 'killed' | 'none';
  /** Processes of the namespace still running after the supervisor stopped (or died), killed. */
  readonly killed: number;
}

/**
 * Stops the runtime of a state dir from outside its namespace: SIGTERM to the supervisor (`pid`, when alive) and
 * a wait of `graceMs` for it to stop its pods, SIGKILL after that, then SIGKILL to whatever still runs in its user
 * namespace (or in the one recorded at `up`, when the supervisor died).
 */
export async function cleanupOutside(stateDir: string, pid: number | undefined, graceMs: number) {
  const userNamespace = (pid === undefined ? undefined : userNamespaceOf(pid)) ?? recordedNamespace(stateDir);
  let supervisor: OutsideCleanup['supervisor'] = 'none';
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    supervisor = 'stopped';
    await pollUntil(() => !isAlive(pid), {
      description: `supervisor ${pid} to stop its pods`,
      timeoutMs: graceMs,
      intervalMs: 100,
    }).catch(() => {
      process.kill(pid, 'SIGKILL');
      supervisor = 'killed';
    });
  }
  return { supervisor, killed: await killNamespace(userNamespace) } satisfies OutsideCleanup;
}
