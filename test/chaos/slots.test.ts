import { expect, it } from 'vitest';
import { keySlot } from '../../chaos/index.ts';
import { command } from '../../runtime/redis/index.ts';
import { useStandalone } from '../support/index.ts';

const redis = useStandalone({ config: { 'cluster-enabled': 'yes', 'cluster-config-file': 'nodes.conf' } });

it('computes the same slot as CLUSTER KEYSLOT, hash tags included', async () => {
  const keys = [
    '',
    'a',
    'foo',
    '{user1000}.following',
    'foo{}{bar}',
    'foo{{bar}}zap',
    'foo{bar}{zap}',
    'ключ',
    ...Array.from({ length: 50 }, (_, i) => `chaos:w:${i * 7919}`),
  ];
  for (const key of keys) {
    expect(keySlot(key), key).toBe(Number(await command(redis(), 'CLUSTER', 'KEYSLOT', key)));
  }
});
