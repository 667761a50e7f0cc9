import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { findProcesses, isAlive } from '../../runtime/process/index.ts';

const parent = mkdtempSync(join(tmpdir(), 'slotforge-leak-parent-'));
const evidence = mkdtempSync(join(tmpdir(), 'slotforge-leak-evidence-'));
afterAll(() => {
  rmSync(parent, { recursive: true, force: true });
  rmSync(evidence, { recursive: true, force: true });
});

function runFixtures(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/harness/leak-fixtures/vitest.config.ts'],
      {
        env: { ...process.env, SLOTFORGE_HARNESS_PARENT: parent, SLOTFORGE_LEAK_EVIDENCE: evidence },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

it('leaves no redis-server and no temp dir behind after a failed assertion, a timeout and a crashed worker', async () => {
  const { code, output } = await runFixtures();
  // The child run must fail (3 broken files) ...
  expect(code, output).not.toBe(0);
  // ... after each file really started its servers,
  const recorded = readdirSync(evidence).sort();
  expect(recorded).toEqual(['crash.json', 'failing-assertion.json', 'timeout.json']);
  const pids = recorded.flatMap((f) => JSON.parse(readFileSync(join(evidence, f), 'utf8')) as number[]);
  expect(pids.length).toBe(5);
  // ... and nothing of them is left: no process, no process naming the harness dir, no dir.
  expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
  expect(findProcesses(parent)).toEqual([]);
  expect(readdirSync(parent)).toEqual([]);
}, 120_000);
