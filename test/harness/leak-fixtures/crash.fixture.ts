import { it } from 'vitest';
import { useStandalone } from '../../support/index.ts';
import { recordEvidence } from './evidence.ts';

const redis = useStandalone();

it('kills its own worker, so no afterAll hook runs', () => {
  recordEvidence('crash', [redis().process.pid]);
  process.kill(process.pid, 'SIGKILL');
});
