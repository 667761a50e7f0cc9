/**
 * Batches and GETs go straight to the node's connection (client/src/core/ioredis/direct.ts), not through ioredis'
 * cluster routing. These tests hold that path to what the routing gave: the right values while a
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
      const move = await moveSlotHalfway('redirect:k0');
      // The source now answers ASK for the key: the batch must follow it to the target.
      expect(await batch.getMany(keys, { timeoutMs: 3000 })).toEqual(expected);
      await move.finish();
      // The client still maps the slot to the source, which now answers MOVED.
      expect(await batch.getMany(keys, { timeoutMs: 3000 })).toEqual(expected);
    } finally {
      await client.close();
    }
  });

  it('a GET sent straight to the master follows ASK and MOVED too (the cache hit path)', async () => {
    const client = createClient({
      cluster: { nodes: cluster().seeds() },
      password: PASSWORD,
      namespace: 'redirect-get',
      slotsRefreshIntervalMs: 3_600_000,
    });
    const unexpected = async (): Promise<never> => {
      throw new Error('the loader ran: the GET did not find the stored value');
    };
    try {
      await client.set('k0', { i: 0 }, { ttlMs: 60_000 });
      expect(await client.getOrSet('k0', unexpected)).toEqual({ i: 0 });
      const move = await moveSlotHalfway('redirect-get:k0');
      // The source answers ASK: without the resend through the cluster client every attempt meets ASK again until
      // the deadline, and getOrSet runs the loader (checked by disabling the resend).
      expect(await client.getOrSet('k0', unexpected, { timeoutMs: 3000 })).toEqual({ i: 0 });
      await move.finish();
      // The client's map still names the source, which answers MOVED (the retry loop's slot refresh would also find
      // the new owner; the resend gets there within the attempt).
      expect(await client.getOrSet('k0', unexpected, { timeoutMs: 3000 })).toEqual({ i: 0 });
      expect(await client.getOrSet('k0', unexpected)).toEqual({ i: 0 });
    } finally {
      await client.close();
    }
  });
});

/**
 * Starts moving the slot of `full` (a key stored on its owner) to the next master: IMPORTING, MIGRATING and the key
 * migrated, so the source answers ASK for it. `finish()` assigns the slot to the target on every master (MOVED).
 */
async function moveSlotHalfway(full: string): Promise<{ finish(): Promise<void> }> {
  const slot = keySlot(full);
  const nodes = await cluster().masters();
  const redis = nodes.map(admin);
  const ids = await Promise.all(redis.map(async (r) => String(await r.call('CLUSTER', 'MYID'))));
  const owners = await Promise.all(
    redis.map(async (r) => ((await r.call('CLUSTER', 'COUNTKEYSINSLOT', slot)) as number) > 0),
  );
  const from = owners.indexOf(true);
  expect(from, `no master holds ${full}`).toBeGreaterThanOrEqual(0);
  const to = (from + 1) % nodes.length;
  const [source, target] = [redis[from] as Redis, redis[to] as Redis];
  const targetNode = nodes[to] as RedisServer;
  await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[from] as string);
  await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to] as string);
  await source.call('MIGRATE', targetNode.host, targetNode.port, '', 0, 5000, 'AUTH', PASSWORD, 'KEYS', full);
  expect(await source.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
  return {
    async finish() {
      for (const r of [target, source, ...redis.filter((_, i) => i !== from && i !== to)])
        await r.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to] as string);
    },
  };
}
