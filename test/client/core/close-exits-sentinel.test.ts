import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCloseChild, useSentinel } from '../../support/index.ts';

/**
 * Issue 16 item 1, through Sentinel: close() must let the process exit whenever it lands, including while the client
 * is still asking a sentinel for the primary or connecting to it (ioredis sets up its failover detector's sentinel
 * connections when the socket to the primary connects, even after a disconnect() that came first).
 */
const PASSWORD = 'close-data';
const SENTINEL_PASSWORD = 'close-sentinel';
const child = fileURLToPath(new URL('./children/close-sentinel.ts', import.meta.url));
/**
 * close() this many ms after createClient: from the same tick, through the sentinel lookup and the connect to the
 * primary (where ioredis 6.0.0 leaked the failover detector's connections: 5 of 40 runs at 10-88 ms hung without
 * create.ts' noFailoverDetectorAfterClose), to after ready.
 */
const DELAYS_MS = [0, 1, 2, 3, 5, ...Array.from({ length: 20 }, (_, i) => 10 + 4 * i), 150, 300];
/** Runs with close() at the moment the socket to the primary starts connecting: every one hung without the fix. */
const CONNECTING_RUNS = 8;
const PARALLEL = 4;
/** From 'closed' on stdout to the process' exit: scheduling slack only. */
const EXIT_DEADLINE_MS = 3000;

const sentinel = useSentinel({ replicas: 1, sentinels: 3, password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });

/** Ms from 'closed' to exit, or -1 when the child had to be killed. */
function runOnce(when: string): Promise<number> {
  const s = sentinel();
  const hosts = s
    .sentinelAddresses()
    .map((a) => `${a.host}:${a.port}`)
    .join(',');
  return runCloseChild(child, [hosts, s.masterName, PASSWORD, SENTINEL_PASSWORD, when], EXIT_DEADLINE_MS);
}

describe('close() through Sentinel lets the process exit', () => {
  it(`exits within ${EXIT_DEADLINE_MS} ms of a close() that lands while the socket to the primary is connecting (${CONNECTING_RUNS} runs)`, async () => {
    const port = sentinel().primary.port;
    const results = await runAll(Array.from({ length: CONNECTING_RUNS }, () => `connecting:${port}`));
    expect(results.filter((r) => r.exitMs < 0)).toEqual([]);
  }, 240_000);

  it(`exits within ${EXIT_DEADLINE_MS} ms of close() at ${DELAYS_MS.length} points from 0 to ${DELAYS_MS.at(-1)} ms after createClient`, async () => {
    const results = await runAll(DELAYS_MS.map(String));
    expect(results.filter((r) => r.exitMs < 0)).toEqual([]);
  }, 240_000);
});

async function runAll(whens: string[]): Promise<Array<{ when: string; exitMs: number }>> {
  const results: Array<{ when: string; exitMs: number }> = [];
  for (let i = 0; i < whens.length; i += PARALLEL) {
    const batch = whens.slice(i, i + PARALLEL);
    const exits = await Promise.all(batch.map((w) => runOnce(w)));
    results.push(...batch.map((when, j) => ({ when, exitMs: exits[j] as number })));
  }
  const exits = results.map((r) => r.exitMs).filter((ms) => ms >= 0);
  const range =
    exits.length > 0 ? `; the others exited ${Math.min(...exits)}-${Math.max(...exits)} ms after close()` : '';
  console.log(`${results.length} runs: ${results.length - exits.length} hung${range}`);
  return results;
}
