import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { sweepOrphans } from '../../runtime/local/index.ts';
import { findProcesses, reapRegistry } from '../../runtime/process/index.ts';

/**
 * Makes the run's harness root and, at the end of the run, kills whatever a test file left running and removes
 * every temp dir. `SLOTFORGE_HARNESS_PARENT` moves the root (the leak test uses it to look inside).
 */
export default function setup(project: TestProject) {
  const parent = process.env.SLOTFORGE_HARNESS_PARENT ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const root = mkdtempSync(join(parent, 'slotforge-harness-'));
  project.provide('harnessRoot', root);
  return async () => {
    // Local runtimes (runtime/local) whose owner died (a crashed worker): their pods live in network namespaces.
    const swept = await sweepOrphans();
    if (swept.length > 0) console.warn(`slotforge harness: swept orphaned local runtime(s): ${swept.join(', ')}`);
    // Processes started by a subprocess (the CLI under test) are in that subprocess's own registry inside the root,
    // and redis-server keeps `dir=<path>` in its process title: anything naming the root goes too.
    const strays = findProcesses(root);
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const killed = [...strays, ...reapRegistry(root)];
    if (killed.length > 0) {
      console.warn(`slotforge harness: reaped ${killed.length} process(es) a test left running: ${killed.join(', ')}`);
    }
  };
}
