import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../process/index.ts';
import { removeCgroups } from './cgroups.ts';
import { removeHostsBlock } from './dns.ts';
import { sweepNetwork } from './network.ts';
import { needsNamespace } from './rootless/index.ts';

/**
 * One record per running runtime on this host (`<prefix>.json`: its state dir and the pid that owns its pods), so a
 * runtime whose owner died without `down` (a killed test worker, a SIGKILLed supervisor) is found and swept by the
 * next runtime that starts, whatever its state dir.
 */
export const RUNTIMES_DIR = '/run/slotforge-local-runtimes';

export interface RuntimeRecord {
  readonly prefix: string;
  readonly stateDir: string;
  readonly pid: number;
}

export function recordRuntime(record: RuntimeRecord): void {
  mkdirSync(RUNTIMES_DIR, { recursive: true });
  writeFileSync(join(RUNTIMES_DIR, `${record.prefix}.json`), JSON.stringify(record));
}

/** Host paths any runtime created as mount points, one per line (shared: runtimes mount at the same paths). */
export const CREATED_FILE = join(RUNTIMES_DIR, 'created-paths');

export function recordCreatedPaths(paths: readonly string[]): void {
  mkdirSync(RUNTIMES_DIR, { recursive: true });
  appendFileSync(CREATED_FILE, `${paths.join('\n')}\n`);
}

/** The runtime records of the host; one that cannot be read (half written) is left out. */
function runtimeRecords(): RuntimeRecord[] {
  let names: string[];
  try {
    names = readdirSync(RUNTIMES_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [JSON.parse(readFileSync(join(RUNTIMES_DIR, name), 'utf8')) as RuntimeRecord];
    } catch {
      return [];
    }
  });
}

/** Runtimes whose owner still runs. */
export function liveRuntimes(): RuntimeRecord[] {
  return runtimeRecords().filter((record) => isAlive(record.pid));
}

/**
 * Removes the mount points runtimes created on the host (deepest first, only while empty), but only once no runtime
 * runs: removing a directory that is a mount point in another mount namespace detaches that mount (Linux >= 3.18),
 * which would pull a volume from under a running pod of another runtime.
 */
export function removeCreatedPaths(): string[] {
  if (liveRuntimes().length > 0 || !existsSync(CREATED_FILE)) return [];
  const paths = [...new Set(readFileSync(CREATED_FILE, 'utf8').split('\n').filter(Boolean))].sort(
    (a, b) => b.split('/').length - a.split('/').length,
  );
  const removed: string[] = [];
  for (const path of paths) {
    try {
      const stat = statSync(path);
      if (stat.isDirectory() && readdirSync(path).length === 0) rmdirSync(path);
      else if (stat.isFile() && stat.size === 0) unlinkSync(path);
      else continue;
      removed.push(path);
    } catch {
      // gone already
    }
  }
  rmSync(CREATED_FILE, { force: true });
  return removed;
}

/** Drops the record of a runtime; the last one also removes the shared mount points. Returns the paths removed. */
export function forgetRuntime(prefix: string): string[] {
  rmSync(join(RUNTIMES_DIR, `${prefix}.json`), { force: true });
  const removed = removeCreatedPaths();
  try {
    if (readdirSync(RUNTIMES_DIR).length === 0) rmSync(RUNTIMES_DIR, { recursive: true, force: true });
  } catch {
    // gone
  }
  return removed;
}

/** Sweeps every recorded runtime whose owner is dead: its processes, namespaces, links and hosts block. */
export async function sweepOrphans(): Promise<string[]> {
  // Not root and outside a namespace: the host's records are root's runtimes; a non-root one's live in its namespace.
  if (needsNamespace()) return [];
  const swept: string[] = [];
  for (const record of runtimeRecords()) {
    if (record.pid === process.pid || isAlive(record.pid)) continue;
    await sweepNetwork(record.prefix);
    await removeCgroups(record.prefix);
    removeHostsBlock(record.prefix);
    forgetRuntime(record.prefix);
    swept.push(record.prefix);
  }
  return swept;
}
