import { describe, expect, it } from 'vitest';
import {
  formatMemoryQuantity,
  InvalidPropError,
  parseMemoryQuantity,
  parseRedisConf,
  planMemory,
  renderRedisConf,
  resolvePersistence,
  validateUserConfig,
} from '../../infra/index.ts';

const MiB = 2 ** 20;

describe('memory plan', () => {
  it.each([
    ['128Mi', 64],
    ['256Mi', 192],
    ['1Gi', 768],
    ['3Gi', 2304],
  ])('a %s limit gives maxmemory %i MiB (limit minus max(25%%, 64Mi))', (limit, maxMiB) => {
    const plan = planMemory('t', parseMemoryQuantity('t', 'limit', limit));
    expect(plan.maxmemoryBytes).toBe(maxMiB * MiB);
    expect(plan.replicaBufferBytes + plan.maxmemoryBytes).toBeLessThan(plan.limitBytes);
  });

  it.each([
    ['256Mi', 96],
    ['1Gi', 384],
    ['3Gi', 1152],
  ])(
    'with forking persistence a %s limit gives maxmemory %i MiB (half of limit minus max(25%%, 64Mi))',
    (limit, maxMiB) => {
      const plan = planMemory('t', parseMemoryQuantity('t', 'limit', limit), undefined, true);
      expect(plan.maxmemoryBytes).toBe(maxMiB * MiB);
      // The data set, a full copy of it (a fork under writes) and the replica buffer fit in the limit.
      expect(2 * plan.maxmemoryBytes + plan.replicaBufferBytes).toBeLessThanOrEqual(plan.limitBytes);
    },
  );

  it('parses decimal and binary quantities and formats them back', () => {
    expect(parseMemoryQuantity('t', 'f', '1500M')).toBe(1_500_000_000);
    expect(parseMemoryQuantity('t', 'f', '1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(formatMemoryQuantity(384 * MiB)).toBe('384Mi');
    expect(() => parseMemoryQuantity("RedisCluster 'x'", 'storage.size', '10GB')).toThrow(InvalidPropError);
  });
});

describe('redis.conf rendering', () => {
  it('renders booleans as yes/no, empty values quoted, later entries replacing earlier ones', () => {
    const text = renderRedisConf([
      ['appendonly', true],
      ['save', ''],
      ['hz', 10],
      ['hz', 20],
      ['client-output-buffer-limit', 'replica 1 1 60'],
      ['client-output-buffer-limit', 'pubsub 2 2 60'],
    ]);
    expect(text).toBe(
      'appendonly yes\nsave ""\nhz 20\nclient-output-buffer-limit replica 1 1 60\nclient-output-buffer-limit pubsub 2 2 60\n',
    );
    expect(parseRedisConf(text).get('hz')).toBe('20');
  });

  it('refuses a value that would break the file', () => {
    expect(() => renderRedisConf([['notify-keyspace-events', 'K\nrequirepass x']])).toThrow(/cannot be rendered/);
  });

  it('names the owner, the directive, the rule and the value of an invalid directive', () => {
    const error = (() => {
      try {
        validateUserConfig("RedisCluster 'c'", { 'repl-diskless-load': 'always' });
      } catch (e) {
        return e as InvalidPropError;
      }
    })();
    expect(error).toBeInstanceOf(InvalidPropError);
    expect(error?.field).toBe("config['repl-diskless-load']");
    expect(error?.received).toBe('always');
    expect(error?.message).toBe(
      "RedisCluster 'c': config['repl-diskless-load'] must be one of disabled, on-empty-db, swapdb (got 'always')",
    );
  });
});

describe('profiles', () => {
  it('explicit persistence overrides the profile, and the guard mode follows', () => {
    expect(resolvePersistence('cache').mode).toBe('none');
    expect(resolvePersistence('store').mode).toBe('aof');
    expect(resolvePersistence('cache', { rdb: [[60, 1]] }).mode).toBe('rdb');
    expect(resolvePersistence('store', { rdb: [[60, 1]], appendfsync: 'always' })).toMatchObject({
      mode: 'aof+rdb',
      appendfsync: 'always',
    });
  });
});
