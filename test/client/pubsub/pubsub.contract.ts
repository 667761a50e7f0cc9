import { createPubSub, type MalformedMessage, METRIC_NAMES, type SlotforgeClient } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually } from '../contract/index.ts';

async function errorsOf(registry: Registry, code: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === METRIC_NAMES.errors);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.filter((v) => v.labels.code === code).reduce((sum, v) => sum + v.value, 0);
}

/** Subscriber connections open on every master now (CLIENT LIST TYPE pubsub). */
async function pubsubClients(client: SlotforgeClient): Promise<number> {
  let total = 0;
  for (const node of client.commands.masters()) {
    const list = String(await client.commands.callNode(node, 'CLIENT', ['LIST', 'TYPE', 'pubsub']));
    total += list.split('\n').filter((line) => line.trim().length > 0).length;
  }
  return total;
}

interface Order {
  id: number;
  at: Date;
  total: bigint;
}
const isOrder = (v: unknown): v is Order =>
  typeof v === 'object' && v !== null && typeof (v as Order).id === 'number' && (v as Order).at instanceof Date;

/** Pub/Sub: the same behaviour on standalone, cluster (sharded) and sentinel. */
export default function pubsubContract(fixture: ContractFixture): void {
  it('delivers typed messages (Date, BigInt) to every handler over ONE shared subscriber (seed: a connection per onMessage)', async () => {
    const client = fixture.client();
    const pubsub = client.use(createPubSub, {});
    const orders = pubsub.channel<Order>('orders', { validator: isOrder });
    const audit = pubsub.channel<string>('audit');
    expect(orders.sharded).toBe(fixture.mode === 'cluster');
    const before = await pubsubClients(client);
    const got: Order[] = [];
    const got2: Order[] = [];
    const audits: string[] = [];
    const subscriptions = [];
    for (let i = 0; i < 5; i++) subscriptions.push(await orders.subscribe((m) => void (i === 0 ? got : got2).push(m)));
    subscriptions.push(await audit.subscribe((m) => void audits.push(m)));
    expect(pubsub.connections).toBe(1);
    // One connection, or one per master with a sharded channel on a cluster: never one per handler.
    expect((await pubsubClients(client)) - before).toBeLessThanOrEqual(fixture.mode === 'cluster' ? 3 : 1);
    const order = { id: 7, at: new Date('2024-01-01T00:00:00Z'), total: 10n ** 20n };
    expect(await orders.publish(order)).toBe(1);
    await audit.publish('');
    await eventually(() => got.length === 1 && got2.length === 4 && audits.length === 1, 5_000, 'delivery');
    expect(got[0]).toEqual(order);
    expect(audits).toEqual(['']);
    for (const unsubscribe of subscriptions) await unsubscribe();
    expect(await orders.publish(order)).toBe(0);
  });

  it('drops a malformed message (bad JSON, failed validator): counted as E_MESSAGE, reported, never thrown', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    const pubsub = client.use(createPubSub, {});
    const orders = pubsub.channel<Order>('orders', { validator: isOrder });
    const malformed: MalformedMessage[] = [];
    client.events.on('pubsub:malformed', (m) => void malformed.push(m as MalformedMessage));
    const received: Order[] = [];
    await orders.subscribe((m) => void received.push(m));
    const raw = (payload: string) =>
      client.commands.call(orders.sharded ? 'SPUBLISH' : 'PUBLISH', [orders.redisChannel, payload]);
    await raw('{"id": 1, oops');
    await raw(JSON.stringify({ id: 'not a number' }));
    const good = { id: 2, at: new Date(2), total: 2n };
    await orders.publish(good);
    await eventually(() => received.length === 1, 5_000, 'the valid message after malformed ones');
    expect(received).toEqual([good]);
    expect(malformed.map((m) => [m.channel, m.reason, m.error.code])).toEqual([
      ['orders', 'decode', 'E_MESSAGE'],
      ['orders', 'validate', 'E_MESSAGE'],
    ]);
    expect(await errorsOf(registry, 'E_MESSAGE')).toBe(2);
    // A plain JSON publisher (another tool) is understood; a schema object with parse() works as a validator.
    const plain = pubsub.channel<{ n: number }>('plain', {
      validator: {
        parse: (v) => {
          if (typeof (v as { n?: unknown }).n !== 'number') throw new Error('n must be a number');
          return v as { n: number };
        },
      },
    });
    const numbers: number[] = [];
    await plain.subscribe((m) => void numbers.push(m.n));
    await client.commands.call(plain.sharded ? 'SPUBLISH' : 'PUBLISH', [plain.redisChannel, '{"n":3}']);
    await client.commands.call(plain.sharded ? 'SPUBLISH' : 'PUBLISH', [plain.redisChannel, '{"n":"x"}']);
    await plain.publish({ n: 4 });
    await eventually(() => numbers.length === 2, 5_000, 'plain JSON delivery');
    expect(numbers).toEqual([3, 4]);
    expect(malformed.at(-1)?.error.message).toMatch(/failed the validator: n must be a number/);
  });

  it('isolates a throwing handler: other handlers still get the message, the error is an event', async () => {
    const client = fixture.client();
    const pubsub = client.use(createPubSub, {});
    const channel = pubsub.channel<number>('jobs');
    const errors: unknown[] = [];
    client.events.on('pubsub:error', (e) => void errors.push(e));
    const seen: number[] = [];
    await channel.subscribe(() => {
      throw new Error('sync boom');
    });
    await channel.subscribe(async () => {
      throw new Error('async boom');
    });
    await channel.subscribe((n) => void seen.push(n));
    await channel.publish(1);
    await channel.publish(2);
    await eventually(() => seen.length === 2 && errors.length === 4, 5_000, 'delivery despite throwing handlers');
    expect(seen).toEqual([1, 2]);
  });

  it('resubscribes after its connection is killed (CLIENT KILL TYPE pubsub on every master)', async () => {
    const client = fixture.client();
    const pubsub = client.use(createPubSub, {});
    const channel = pubsub.channel<number>('reconnect');
    const seen: number[] = [];
    await channel.subscribe((n) => void seen.push(n));
    await channel.publish(1);
    await eventually(() => seen.length === 1, 5_000, 'first delivery');
    for (const node of client.commands.masters())
      await client.commands.callNode(node, 'CLIENT', ['KILL', 'TYPE', 'pubsub']);
    // Publish until the resubscribed connection receives one (messages sent while it was down are lost: pub/sub is
    // at-most-once).
    let n = 100;
    await eventually(
      async () => {
        await channel.publish(n++);
        await new Promise((r) => setTimeout(r, 50));
        return seen.length > 1;
      },
      15_000,
      'delivery after the subscriber was killed',
    );
    expect(seen.at(-1)).toBeGreaterThanOrEqual(100);
  });
}
