import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { statePaths } from '../../runtime/local/index.ts';

/**
 * Copies the files under `from` (or `from` itself, when a file) that `wanted` accepts (given the path relative to
 * `from`) to the same places under `to`. Returns the copies; nothing when `from` is gone.
 */
export function copyFiles(from: string, to: string, wanted: (path: string) => boolean): string[] {
  if (!existsSync(from)) return [];
  if (!statSync(from).isDirectory()) {
    if (!wanted(basename(from))) return [];
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    return [to];
  }
  return readdirSync(from, { recursive: true, encoding: 'utf8' }).flatMap((rel) => {
    if (!wanted(rel) || !isFile(join(from, rel))) return [];
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    try {
      copyFileSync(join(from, rel), join(to, rel));
    } catch (error) {
      // Gone since it was listed (a temp file Redis renamed): the rest is still worth keeping.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return [join(to, rel)];
  });
}

/** Whether `path` is a regular file now (false when it went away meanwhile). */
function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** `size mtime path` of every file under `dir`, one per line. */
function fileListing(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .flatMap((rel) => {
      const stat = statSync(join(dir, rel), { throwIfNoEntry: false });
      return stat?.isFile() ? [`${String(stat.size).padStart(12)} ${stat.mtime.toISOString()} ${rel}\n`] : [];
    })
    .join('');
}

/**
 * What a local runtime deployment leaves for a person to read, copied from its state dir to `dest`: every container's
 * log (`logs/`, one file per pod incarnation and container, so a restarted member's log before the restart is
 * there), the runtime's events and supervisor log, the volumes' files by size and time (`volumes.txt`: what
 * persistence wrote, and when) and the AOF manifests (`volumes/`). Not the data: a large data set would be gigabytes.
 */
export function keepLocalDeployment(stateDir: string, dest: string): string[] {
  const { logs, eventsFile, supervisorLog, pvc } = statePaths(stateDir);
  // The logs first: they explain most failures, and the volumes change under a running deployment.
  const copied = [
    ...copyFiles(logs, join(dest, 'logs'), () => true),
    ...[eventsFile, supervisorLog].flatMap((file) => copyFiles(file, join(dest, basename(file)), () => true)),
  ];
  mkdirSync(dest, { recursive: true });
  const listing = join(dest, 'volumes.txt');
  writeFileSync(listing, fileListing(pvc));
  return [...copied, listing, ...copyFiles(pvc, join(dest, 'volumes'), (path) => path.endsWith('.manifest'))];
}
