import { expect, it } from 'vitest';
import { useCluster } from '../../support/index.ts';
import { recordEvidence } from './evidence.ts';

const cluster = useCluster({ shards: 3, replicasPerShard: 0 });

it('fails an assertion while a cluster runs', () => {
  recordEvidence(
    'failing-assertion',
    cluster().nodes.map((n) => n.process.pid),
  );
  expect(1).toBe(2);
});
