/**
 * Runs a child of the close-exits tests: a TypeScript file run with the client's source, which prints 'closed' once
 * it has called close(). Resolves with the ms from 'closed' to the process' exit, or -1 when it had not exited
 * `exitDeadlineMs` after 'closed' and was killed; rejects when it never printed 'closed' or exited with an error.
 */
import { spawn } from 'node:child_process';

/** Start-up (tsx) and connect, before 'closed'. */
const START_DEADLINE_MS = 30_000;

export function runCloseChild(file: string, args: readonly string[], exitDeadlineMs: number): Promise<number> {
  const proc = spawn(process.execPath, ['--conditions=slotforge-source', '--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let closedAt = 0;
    let killer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child did not print 'closed' within ${START_DEADLINE_MS} ms`));
    }, START_DEADLINE_MS);
    proc.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('closed') || closedAt) return;
      closedAt = Date.now();
      clearTimeout(killer);
      killer = setTimeout(() => proc.kill('SIGKILL'), exitDeadlineMs);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (signal === 'SIGKILL' && closedAt) resolve(-1);
      else if (code !== 0) reject(new Error(`child exited with ${code ?? signal}`));
      else resolve(Date.now() - closedAt);
    });
  });
}
