import { describe, expect, it } from 'vitest';
import { pollUntil } from '../../runtime/process/index.ts';
import { ASSIST_NODE_TIMEOUT_MS, ASSIST_SHARDS, assistCluster } from './support/assist-cluster.ts';

// Condition 3 of the failover assist (infra/scripts/failover-assist.sh), end to end: a master that conditions 1 and 2
// call silent, but that answers when its replica asks it itself, is not forced over; Redis's own path is left to judge
// it. What a starved machine does by chance (a master that runs again just when the replica decides) is done here on
// purpose: the question is given 6 s (SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S; 0.5 s by default), and the paused
// master is resumed as soon as the replica's log says it is being asked.
const SHARDS = ASSIST_SHARDS;
const NODE_TIMEOUT_MS = ASSIST_NODE_TIMEOUT_MS;
const { sim } = assistCluster('infra-assist-answer', { SLOTFORGE_FAILOVER_ASSIST_ANSWER_WAIT_S: '6' });

describe('the failover assist asks the master itself before a FORCE (condition 3)', () => {
  it('does not force over a master that answers while it is asked, though conditions 1 and 2 held', async () => {
    // Redis may agree FAIL before the assist's quorum does: the assist then takes over without asking (it asks only
    // before a FORCE), which says nothing of condition 3; that attempt is reported and the next shard tried.
    const takenOver: string[] = [];
    for (let attempt = 0; attempt < SHARDS; attempt++) {
      const { master, replica } = await sim.shardPair(attempt);
      const before = sim.log(replica).length;
      const since = () => sim.log(replica).slice(before);
      await sim.runtime.pausePod(master);
      try {
        await pollUntil(() => /asking it itself|CLUSTER FAILOVER/.test(since()), {
          description: `${replica}'s assist to ask ${master} or to fail it over`,
          timeoutMs: 5 * NODE_TIMEOUT_MS,
          intervalMs: 20,
        });
      } finally {
        await sim.runtime.resumePod(master);
      }
      if (!since().includes('asking it itself')) {
        expect(since(), 'a FORCE without asking the master').not.toContain('CLUSTER FAILOVER force');
        takenOver.push(`${replica}: ${since().match(/CLUSTER FAILOVER \w+/)?.[0]}`);
        await sim.waitHealthy(SHARDS * 2);
        continue;
      }
      await pollUntil(() => /assist: master \w+ answers \(asked itself: PING answered in \d+ ms/.test(since()), {
        description: `${replica}'s assist to hear ${master} answer`,
        timeoutMs: 6000,
      });
      expect(since()).toMatch(
        /PING answered in \d+ ms, cluster bus connection accepted; probe: -?\d+ ms since a PING reply/,
      );
      // Whatever Redis decides next (it may have agreed FAIL meanwhile, then the assist takes over), never a FORCE.
      await new Promise((r) => setTimeout(r, 2 * NODE_TIMEOUT_MS));
      expect(since()).not.toContain('CLUSTER FAILOVER force');
      console.log(`${replica}'s assist asked ${master} and waited (${takenOver.length} taken over before)`);
      await sim.waitHealthy(SHARDS * 2);
      return;
    }
    expect.fail(`Redis agreed FAIL before the assist asked, in every attempt: ${takenOver.join('; ')}`);
  }, 180_000);
});
