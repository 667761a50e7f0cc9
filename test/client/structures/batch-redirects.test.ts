/**
 * Batches send each node's commands straight to that node's connection (client/src/core/ioredis/batch-exec.ts), not
 * through ioredis' cluster routing. These tests hold that path to what the routing gave: the right values while a
 * slot is migrating (ASK) and after it moved behind the client's back (MOVED), and a connection found at all (the
 * path reads a private member of ioredis' Cluster; an upgrade that drops it must fail here, not slow down silently).
 */
import { createBatch, createClient, keySlot } from '@slotforge/client';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readyConnection } from '../../../client/src/core/ioredis/index.ts';
import type { RedisServer } from '../../../runtime/redis/index.ts';
import { useCluster } from '../../support/index.ts';

const PASSWORD = 'redirect-secret';
const cluster = useCluster({ shards: 3, replicasPerShard: 0, password: PASSWORD });
const admins: Redis[] = [];
afterAll(async () => {
  await Promise.allSettled(admins.map((a) => a.quit()));
});

function admin(node: RedisServer): Redis {
  const redis = new Redis({ host: node.host, port: node.port, password: PASSWORD, lazyConnect: false });
  admins.push(redis);
  return redis;
}

describe('batch direct path', () => {
  it('finds a ready connection for every master of the slot map', async () => {
    const raw = cluster().connect();
    try {
      await new Promise<void>((resolve, reject) => {
        raw.once('ready', () => resolve());
        raw.once('error', reject);
      });
      // A node's connection opens with its first command.
      await Promise.all(raw.nodes('master').map((node) => node.ping()));
      const masters = new Set(raw.slots.map((owners) => owners[0] as string));
      expect(masters.size).toBe(3);
      for (const id of masters) expect(readyConnection(raw, id)?.status, id).toBe('ready');
    } finally {
      await raw.quit();
    }
  });

  it('reads the right values while a slot migrates (ASK) and after it moved (MOVED)', async () => {
    const client = createClient({
      cluster: { nodes: cluster().seeds() },
      password: PASSWORD,
      namespace: 'redirect',
      // No periodic refresh: the client must meet the move through a reply, not a timer.
      slotsRefreshIntervalMs: 3_600_000,
    });
    try {
      const batch = client.use(createBatch, {});
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
      const written = await batch.setMany(keys.map((k, i) => [k, { i }] as const));
      expect(written.failed).toEqual([]);
      const expected = keys.map((_, i) => ({ i }));
      expect(await batch.getMany(keys)).toEqual(expected);
      // A key given twice is read once and answered at both places, in input order.
      expect(await batch.getMany(['k1', 'k0', 'missing', 'k1'])).toEqual([{ i: 1 }, { i: 0 }, undefined, { i: 1 }]);

      // The slot of redirect:k0 moves from its owner to another master: first half-way, then for good.
      const full = 'redirect:k0';
      const slot = keySlot(full);
      const nodes = await cluster().masters();
      const ids = await Promise.all(nodes.map(async (n) => String(await admin(n).call('CLUSTER', 'MYID'))));
      const owners = await Promise.all(
        nodes.map(async (_, i) => ((await admins[i]?.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) as number) > 0),
      );
      const from = owners.indexOf(true);
      const to = (from + 1) % nodes.length;
      const [source, target] = [admins[from] as Redis, admins[to] as Redis];
      const [sourceNode, targetNode] = [nodes[from] as RedisServer, nodes[to] as RedisServer];
      await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[from] as string);
      await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to] as string);
      await source.call('MIGRATE', targetNode.host, targetNode.port, '', 0, 5000, 'AUTH', PASSWORD, 'KEYS', full);
      expect(await source.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
      // The source now answers ASK for the key: the batch must follow it to the target.
      expect(await batch.getMany(keys, { timeoutMs: 3000 })).toEqual(expected);

      for (const redis of [target, source, ...admins.filter((_, i) => i !== from && i !== to)])
        await redis.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to] as string);
      // The client still maps the slot to the source, which now answers MOVED.
      expect(await batch.getMany(keys, { timeoutMs: 3000 })).toEqual(expected);
      expect(sourceNode.port).not.toBe(targetNode.port);
    } finally {
      await client.close();
    }
  });
});
