import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatForkHeadroom, measureForkHeadroom } from '../../bench/index.ts';
import { CGROUP_ROOT } from '../../runtime/local/index.ts';
import { harnessRegistry, harnessTempDir } from '../support/index.ts';

const MiB = 2 ** 20;

// The default chart's member (charts.ts: profile store, memoryLimit 256Mi): AOF on, so BGREWRITEAOF forks. Before
// the fix (maxmemory 192 MiB of 256) this OOM-killed the server under 8300 writes/s; see
// docs/persistence-and-eviction.md for the figures.
describe.runIf(process.getuid?.() === 0 && existsSync(join(CGROUP_ROOT, 'memory', 'memory.limit_in_bytes')))(
  'fork headroom of a member (memory cgroup at the container limit)',
  () => {
    it('a store member filled to maxmemory survives an AOF rewrite under heavy overwrites', async () => {
      const result = await measureForkHeadroom({
        memoryLimit: '256Mi',
        profile: 'store',
        fork: 'aof',
        clients: 4,
        pipeline: 64,
        dir: join(harnessTempDir('fork-headroom'), 'data'),
        registry: harnessRegistry(),
      });
      console.log(formatForkHeadroom(result));
      expect(result.filledBytes).toBeGreaterThan(result.maxmemoryBytes * 0.95);
      // Enough writes that the child had to copy pages: the case the arithmetic must survive.
      expect(result.cowBytes).toBeGreaterThan(5 * MiB);
      expect(result.oomKills).toBe(0);
      expect(result.survived).toBe(true);
      // At the worst moment the data set, its copied pages and the buffers stayed under the limit.
      expect(result.peakRssBytes).toBeLessThan(result.limitBytes);
    }, 60_000);
  },
);
