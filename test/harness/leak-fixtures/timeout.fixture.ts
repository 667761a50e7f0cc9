import { it } from 'vitest';
import { useStandalone } from '../../support/index.ts';
import { recordEvidence } from './evidence.ts';

const redis = useStandalone();

it('times out while a server runs', async () => {
  recordEvidence('timeout', [redis().process.pid]);
  await new Promise(() => {});
});
