import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCloseChild, useCluster } from '../../support/index.ts';

/**
 * Issue 16 item 1: after close() on a cluster the process must exit by itself. ioredis re-arms its slot-refresh
 * timer from a refresh that was in flight at close (`resetNodesRefreshInterval` in the refresh's callback), so a
 * pod, Job or script shutting down gracefully hung until killed (10 of 10 runs with a subscription and a busy loop
 * before close, and 10 of 10 with a 50 ms refresh interval).
 */
const PASSWORD = 'close-secret';
const child = fileURLToPath(new URL('./children/close-and-exit.ts', import.meta.url));
/** Runs per variant (the issue reproduced 10 of 10). */
const RUNS = 10;
/** Children started at once (2 cores, shared). */
const PARALLEL = 5;
/** From 'closed' on stdout to the process' exit: nothing is left to wait for, so this is scheduling slack only. */
const EXIT_DEADLINE_MS = 3000;

const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: PASSWORD });

/** Runs the child once; resolves with ms from 'closed' to exit, or -1 when it had to be killed. */
function runOnce(refreshMs: number, busyMs: number): Promise<number> {
  const nodes = cluster()
    .nodes.map((n) => `${n.host}:${n.port}`)
    .join(',');
  return runCloseChild(child, [nodes, PASSWORD, String(refreshMs), String(busyMs)], EXIT_DEADLINE_MS);
}

async function runMany(refreshMs: number, busyMs: number): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < RUNS; i += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, RUNS - i) }, () => runOnce(refreshMs, busyMs));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

describe('close() on a cluster lets the process exit', () => {
  it(`exits within ${EXIT_DEADLINE_MS} ms in ${RUNS} of ${RUNS} runs: one subscription, 1.1 s busy loop, then close()`, async () => {
    const exits = await runMany(1000, 1100);
    expect(exits.filter((ms) => ms < 0)).toEqual([]);
  }, 240_000);

  it(`exits within ${EXIT_DEADLINE_MS} ms in ${RUNS} of ${RUNS} runs with slotsRefreshIntervalMs 50`, async () => {
    const exits = await runMany(50, 0);
    expect(exits.filter((ms) => ms < 0)).toEqual([]);
  }, 240_000);
});
