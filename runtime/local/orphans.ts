import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../process/index.ts';
import { removeHostsBlock } from './dns.ts';
import { sweepNetwork } from './network.ts';

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

export function forgetRuntime(prefix: string): void {
  rmSync(join(RUNTIMES_DIR, `${prefix}.json`), { force: true });
  try {
    if (readdirSync(RUNTIMES_DIR).length === 0) rmSync(RUNTIMES_DIR, { recursive: true, force: true });
  } catch {
    // gone
  }
}

/** Sweeps every recorded runtime whose owner is dead: its processes, namespaces, links and hosts block. */
export async function sweepOrphans(): Promise<string[]> {
  let names: string[];
  try {
    names = readdirSync(RUNTIMES_DIR).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const name of names) {
    let record: RuntimeRecord;
    try {
      record = JSON.parse(readFileSync(join(RUNTIMES_DIR, name), 'utf8')) as RuntimeRecord;
    } catch {
      continue;
    }
    if (record.pid !== process.pid && isAlive(record.pid)) continue;
    if (record.pid === process.pid) continue;
    await sweepNetwork(record.prefix);
    removeHostsBlock(record.prefix);
    forgetRuntime(record.prefix);
    swept.push(record.prefix);
  }
  return swept;
}
