import type { Channel, PubSub, SlotforgeClient } from '@slotforge/client';
import { eventually } from '../contract/index.ts';

type NumberChannel = Channel<number>;

/**
 * One sharded channel per master (`{<prefix>K}` names whose slots the masters own), each subscribed with a handler that
 * records what it gets, and one message through each, received: the state the pub/sub fault tests start from.
 */
export async function subscribedPerMaster(client: SlotforgeClient, pubsub: PubSub, prefix: string, masters: number) {
  const owners = new Map<string, NumberChannel>();
  for (let k = 0; owners.size < masters && k < 10_000; k++) {
    const channel = pubsub.channel<number>(`{${prefix}${k}}`);
    const owner = client.commands.groupByNode([channel.redisChannel]).keys().next().value as string;
    if (!owners.has(owner)) owners.set(owner, channel);
  }
  const channels = [...owners.values()];
  if (channels.length !== masters) throw new Error(`found channels on ${channels.length} of ${masters} masters`);
  const seen = new Map<string, number[]>(channels.map((c) => [c.name, []]));
  for (const channel of channels) await channel.subscribe((n, name) => void seen.get(name)?.push(n));
  for (const channel of channels) await channel.publish(1);
  await eventually(() => [...seen.values()].every((v) => v.length === 1), 5_000, 'delivery before the fault');
  return { channels, seen };
}

/** Publishes 100, 101, ... on every channel until each has received one of them, within `deadlineMs`. */
export async function deliveredAgain(
  channels: readonly NumberChannel[],
  seen: ReadonlyMap<string, number[]>,
  deadlineMs: number,
  description: string,
): Promise<void> {
  let n = 100;
  await eventually(
    async () => {
      const value = n++;
      await Promise.allSettled(channels.map((c) => c.publish(value)));
      await new Promise((r) => setTimeout(r, 100));
      return [...seen.values()].every((v) => v.some((x) => x >= 100));
    },
    deadlineMs,
    description,
  );
}
