import { createPubSub, type DroppedMessage, METRIC_NAMES } from '@slotforge/client';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import type { ContractFixture } from '../contract/index.ts';
import { eventually } from '../contract/index.ts';

/**
 * Issue 15 item 3: Redis can deliver one PUBLISH twice (a deposed master's publishes forwarded over the bus after a
 * partition heals). Messages carry an id (publisher + sequence); the subscriber delivers each id once.
 */
export default function pubsubDedup(fixture: ContractFixture): void {
  it('dedup: the same envelope published twice more reaches the handler once; old-format messages are still delivered', async () => {
    const registry = new Registry();
    const client = fixture.client({ deps: { registry } });
    const pubsub = client.use(createPubSub, {});
    const channel = pubsub.channel<{ n: number }>('dedup');
    const publish = channel.sharded ? 'SPUBLISH' : 'PUBLISH';
    // A raw subscriber records the exact bytes on the wire.
    const raw = client.commands.duplicate({ sharded: channel.sharded });
    const wire: Buffer[] = [];
    raw.on(channel.sharded ? 'smessage' : 'message', (_ch: string, bytes: Buffer) => void wire.push(bytes));
    if (channel.sharded) await raw.ssubscribe(channel.redisChannel);
    else await raw.subscribe(channel.redisChannel);
    const seen: number[] = [];
    const dropped: DroppedMessage[] = [];
    client.events.on('pubsub:duplicate', (d) => void dropped.push(d as DroppedMessage));
    await channel.subscribe((m) => void seen.push(m.n));

    await channel.publish({ n: 1 });
    await eventually(() => seen.length === 1 && wire.length === 1, 5_000, 'first delivery');
    const copy = wire[0] as Buffer;
    await client.commands.call(publish, [channel.redisChannel, copy]);
    await client.commands.call(publish, [channel.redisChannel, copy]);
    await eventually(() => dropped.length === 2, 5_000, 'two duplicates dropped');
    expect(dropped.map((d) => [d.channel, d.seq, d.reason])).toEqual([
      ['dedup', 1, 'duplicate'],
      ['dedup', 1, 'duplicate'],
    ]);
    // Old format (envelope version 1, no id) and plain JSON: accepted and delivered every time, as before.
    const old = client.context.envelope.encode({ n: 7 }, channel.redisChannel);
    await client.commands.call(publish, [channel.redisChannel, old]);
    await client.commands.call(publish, [channel.redisChannel, old]);
    await client.commands.call(publish, [channel.redisChannel, '{"n":8}']);
    await channel.publish({ n: 2 });
    await eventually(() => seen.length === 5, 5_000, 'old-format and new deliveries');
    expect(seen).toEqual([1, 7, 7, 8, 2]);
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === METRIC_NAMES.pubsubDropped);
    // Every known reason is a series from the start (at 0), so the dashboard has data before the first drop.
    expect(metric?.values).toEqual([
      expect.objectContaining({ value: 2, labels: { reason: 'duplicate' } }),
      expect.objectContaining({ value: 0, labels: { reason: 'too-old' } }),
    ]);
    await raw.close();
  });

  it('dedup: two publishers with their own ids are both delivered; messageIds: false publishes the old format', async () => {
    const client = fixture.client();
    const namespace = client.options.namespace;
    const other = fixture.client({ namespace });
    const subscriberSide = client.use(createPubSub, {});
    const a = other.use(createPubSub, {}).channel<number>('two');
    const legacy = other.use(createPubSub, { messageIds: false }).channel<number>('two');
    const seen: number[] = [];
    await subscriberSide.channel<number>('two').subscribe((n) => void seen.push(n));
    await a.publish(1);
    await legacy.publish(2);
    await a.publish(3);
    await eventually(() => seen.length === 3, 5_000, 'three deliveries');
    expect(seen).toEqual([1, 2, 3]);
    expect(subscriberSide.dedupTracked).toBe(1);
  });
}
