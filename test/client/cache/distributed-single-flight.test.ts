import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { command } from '../../../runtime/redis/index.ts';
import { useStandalone } from '../../support/index.ts';

const PROCESSES = 4;
const CALLS_PER_PROCESS = 200;
const child = fileURLToPath(new URL('./children/cold-caller.ts', import.meta.url));

const redis = useStandalone({});

function lines(proc: ChildProcess): { next(): Promise<string> } {
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let buffer = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else queue.push(line);
    }
  });
  return {
    next: () => {
      const line = queue.shift();
      return line === undefined ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve(line);
    },
  };
}

it(`runs the loader once for ${PROCESSES} processes x ${CALLS_PER_PROCESS} concurrent cold calls`, async () => {
  const namespace = `dsf${process.pid}`;
  const procs = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, ['--import', 'tsx', child, String(redis().port), namespace, String(CALLS_PER_PROCESS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  try {
    const outputs = procs.map(lines);
    for (const out of outputs) expect(await out.next()).toBe('ready');
    await command(redis(), 'SET', `${namespace}:go`, '1');
    const reports = (await Promise.all(outputs.map((o) => o.next()))).map(
      (l) => JSON.parse(l) as { distinct: number[]; count: number },
    );
    expect(Number(await command(redis(), 'GET', `${namespace}:loader-runs`))).toBe(1);
    // Every one of the 800 calls got the value loaded by the single winner.
    expect(reports.map((r) => r.count)).toEqual(Array(PROCESSES).fill(CALLS_PER_PROCESS));
    expect(new Set(reports.flatMap((r) => r.distinct)).size).toBe(1);
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill();
  }
}, 60_000);
