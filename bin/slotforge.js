#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, resolving @slotforge/client to its source (the `slotforge-source` condition).
// SIGINT from a terminal reaches the child directly (same process group); SIGTERM and SIGHUP are forwarded.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--conditions=slotforge-source', '--import', import.meta.resolve('tsx'), main, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.on('SIGINT', () => {});
for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 128 + 2 : 1);
});
