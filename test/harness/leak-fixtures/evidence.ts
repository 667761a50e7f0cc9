import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Records the pids a fixture file started, so the parent test can prove they were started and are gone. */
export function recordEvidence(name: string, pids: number[]): void {
  const dir = process.env.SLOTFORGE_LEAK_EVIDENCE;
  if (!dir) throw new Error('SLOTFORGE_LEAK_EVIDENCE is not set: run this file through test/harness/leak.test.ts');
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(pids));
}
