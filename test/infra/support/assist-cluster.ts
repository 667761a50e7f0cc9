import { afterAll, beforeAll } from 'vitest';
import { ChartRun, RUNTIME_HOOK_TIMEOUT_MS } from './chart-runtime.ts';
import { synthCluster } from './synth.ts';

/** The failover assist's test deployments: 3 shards x 1 replica at node timeout 2000 ms. */
export const ASSIST_SHARDS = 3;
export const ASSIST_NODE_TIMEOUT_MS = 2000;

/**
 * A chart run for the failover assist's tests, started and formed before the file's tests (`env` added to every
 * member), healed and every pod resumed after them. Returns the run and its client port.
 */
export function assistCluster(
  label: string,
  env: Readonly<Record<string, string>> = {},
): { sim: ChartRun; port: number } {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const sim = new ChartRun(label);
  beforeAll(async () => {
    const objects = synthCluster({
      shards: ASSIST_SHARDS,
      port,
      nodeTimeoutMs: ASSIST_NODE_TIMEOUT_MS,
      resources: { memoryLimit: '256Mi' },
    });
    await sim.start(objects, { env: { SLOTFORGE_MEET_INTERVAL_S: '1', SLOTFORGE_BOOTSTRAP_TIMEOUT_S: '30', ...env } });
    await sim.waitFormed(ASSIST_SHARDS * 2);
  }, RUNTIME_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await sim.runtime.heal().catch(() => undefined);
    for (const pod of sim.podNames(`${sim.name}-shard-`)) await sim.runtime.resumePod(pod).catch(() => 0);
  });
  return { sim, port };
}
