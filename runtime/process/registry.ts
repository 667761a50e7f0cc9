import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, readCmdline } from './proc.ts';

/**
 * A directory that records every process and temp dir a run started, so that a later reaper can stop and remove
 * them even when the code that started them died (a crashed test worker, a killed CLI).
 *
 * Each entry is `<pid>.json` with the pid, a marker that must appear in `/proc/<pid>/cmdline` (so a recycled pid
 * is never killed) and the directories to remove.
 */
export interface RegistryEntry {
  readonly pid: number;
  /** A string that appears in the process's command line. */
  readonly marker: string;
  readonly dirs: readonly string[];
}

export class ProcessRegistry {
  constructor(readonly root: string) {
    mkdirSync(join(root, 'pids'), { recursive: true });
  }

  add(entry: RegistryEntry): void {
    writeFileSync(join(this.root, 'pids', `${entry.pid}.json`), JSON.stringify(entry));
  }

  remove(pid: number): void {
    try {
      unlinkSync(join(this.root, 'pids', `${pid}.json`));
    } catch {
      // already gone
    }
  }

  entries(): RegistryEntry[] {
    let names: string[];
    try {
      names = readdirSync(join(this.root, 'pids'));
    } catch {
      return [];
    }
    const out: RegistryEntry[] = [];
    for (const name of names) {
      try {
        out.push(JSON.parse(readFileSync(join(this.root, 'pids', name), 'utf8')) as RegistryEntry);
      } catch {
        // a half-written entry: its process was never started
      }
    }
    return out;
  }
}

/**
 * Stops every process recorded under `root` with SIGKILL (only when its command line still carries the marker),
 * removes the recorded dirs and then `root` itself. Returns the pids it had to kill.
 */
export function reapRegistry(root: string): number[] {
  const registry = new ProcessRegistry(root);
  const killed: number[] = [];
  for (const entry of registry.entries()) {
    if (isAlive(entry.pid) && readCmdline(entry.pid).includes(entry.marker)) {
      try {
        process.kill(entry.pid, 'SIGKILL');
        killed.push(entry.pid);
      } catch {
        // exited between the check and the kill
      }
    }
    for (const dir of entry.dirs) rmSync(dir, { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });
  return killed;
}
