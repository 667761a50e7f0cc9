import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { command, parseInfo } from '../../runtime/redis/index.ts';
import { useCluster, useSentinel, useStandalone } from '../support/index.ts';

describe('standalone fixture', () => {
  const redis = useStandalone({ password: 'standalone-secret' });

  it('serves writes and reads and requires the password', async () => {
    const client = redis().connect();
    try {
      await client.set('greeting', 'hello');
      expect(await client.get('greeting')).toBe('hello');
    } finally {
      client.disconnect();
    }
    const anonymous = new Redis({ host: redis().host, port: redis().port, retryStrategy: () => null });
    anonymous.on('error', () => {});
    try {
      await expect(anonymous.get('greeting')).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });

  it('returns the same deployment when the same configuration is asked for again', () => {
    expect(useStandalone({ password: 'standalone-secret' })).toBe(redis);
  });
});

describe('cluster fixture', () => {
  const cluster = useCluster({ shards: 3, replicasPerShard: 1 });

  it('covers all 16384 slots with 3 masters, each with a linked replica', async () => {
    const nodes = cluster().nodes;
    expect(nodes).toHaveLength(6);
    const info = parseInfo(String(await command(nodes[0]!, 'CLUSTER', 'INFO')));
    expect(info.cluster_state).toBe('ok');
    expect(info.cluster_slots_ok).toBe('16384');
    expect(info.cluster_size).toBe('3');
    expect(await cluster().masters()).toHaveLength(3);
  });

  it('routes keys of every slot through a cluster client', async () => {
    const client = cluster().connect();
    try {
      const keys = Array.from({ length: 200 }, (_, i) => `key:${i}`);
      await Promise.all(keys.map((k) => client.set(k, k)));
      const values = await Promise.all(keys.map((k) => client.get(k)));
      expect(values).toEqual(keys);
    } finally {
      client.disconnect();
    }
  });
});

describe('sentinel fixture', () => {
  const sentinel = useSentinel({ replicas: 2, sentinels: 3 });

  it('reports the primary through every sentinel and serves through a sentinel client', async () => {
    const primary = await sentinel().currentPrimary();
    expect(primary).toEqual({ host: sentinel().primary.host, port: sentinel().primary.port });
    const client = sentinel().connect();
    try {
      await client.set('through-sentinel', '1');
      expect(await client.get('through-sentinel')).toBe('1');
    } finally {
      client.disconnect();
    }
  });
});
