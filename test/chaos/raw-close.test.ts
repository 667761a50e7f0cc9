import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCloseChild, useCluster } from '../support/index.ts';

/**
 * The chaos workloads' raw ioredis cluster clients let the process exit once quit. ioredis re-arms its
 * slotsRefreshInterval timer from a refresh in flight at the close; `chaos run` ended its matrix runs with "still
 * open: Timeout" that way (runtime/redis/slot-refresh-end.ts).
 */
const PASSWORD = 'raw-close-secret';
const child = fileURLToPath(new URL('./children/raw-close.ts', import.meta.url));
const RUNS = 6;
/** From 'closed' to exit: the last refresh round ends within one interval (1 s), plus scheduling slack. */
const EXIT_DEADLINE_MS = 3000;

const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: PASSWORD });

describe('raw workload clients let the process exit once quit', () => {
  it(`exits within ${EXIT_DEADLINE_MS} ms in ${RUNS} of ${RUNS} runs, quit while a periodic refresh is in flight`, async () => {
    const nodes = cluster()
      .nodes.map((n) => `${n.host}:${n.port}`)
      .join(',');
    const exits: number[] = [];
    for (let i = 0; i < RUNS; i += 3) {
      const batch = [0, 1, 2].map(() => runCloseChild(child, [nodes, PASSWORD], EXIT_DEADLINE_MS));
      exits.push(...(await Promise.all(batch)));
    }
    expect(exits.filter((ms) => ms < 0)).toEqual([]);
  }, 240_000);
});
