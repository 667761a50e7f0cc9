import { randomUUID } from 'node:crypto';
import { createPubSub, keySlot, SLOT_COUNT } from '@slotforge/client';
import { connectClient } from './client-traffic.ts';
import { type Workload, withTimeout } from './workload.ts';

/** Options of {@link pubsubDelivery}. */
export interface PubSubDeliveryOptions {
  /** Channels, hash-tagged so their slots spread evenly over the slot space (every master owns one). @default 6 */
  readonly channels?: number;
  /** Pause between two publishes, so the history stays a few hundred messages per second. @default 2 */
  readonly intervalMs?: number;
  /** Upper bound on publishes (a safety bound: the scenario's signal ends the run). @default 100000 */
  readonly maxPublishes?: number;
  /** After the stop, how long to wait for messages still in flight. @default 2000 */
  readonly drainMs?: number;
}

/** `n` channel names `{pK}` whose slots fall one in each n-th of the slot space (independent of the namespace). */
export function spreadChannels(n: number): string[] {
  const names: string[] = [];
  for (let part = 0; part < n; part++) {
    const low = Math.floor((part * SLOT_COUNT) / n);
    const high = Math.floor(((part + 1) * SLOT_COUNT) / n);
    for (let k = 0; ; k++) {
      const slot = keySlot(`p${k}`);
      if (slot >= low && slot < high) {
        names.push(`{p${k}}`);
        break;
      }
    }
  }
  return names;
}

/**
 * What a pub/sub application sees through @slotforge/client (sharded channels on a cluster): one publisher sends
 * numbered messages round robin over channels spread across every master (kind `publish`, value = sequence number,
 * result = receivers), one subscriber per channel records each message it gets (kind `receive`, same key and value).
 * Pub/sub is at-most-once, so messages published while a subscriber reconnects may be lost; the checker judges that
 * delivery resumes on every channel after the fault and nothing is lost once it has.
 */
export function pubsubDelivery(options: PubSubDeliveryOptions = {}): Workload {
  const namespace = `chaos-${randomUUID().slice(0, 8)}`;
  /** Per channel: when (recorder clock) the newest message received on it was published. */
  const newestReceived = new Map<string, number>();
  const publishedAt = new Map<number, number>();
  let channelCount = 0;
  return {
    name: 'pubsub-delivery',
    async run({ connection, recorder, signal, operationTimeoutMs }) {
      const client = connectClient(connection, namespace);
      const deadline = Math.max(operationTimeoutMs, 10_000);
      let lastReceive = recorder.elapsed();
      try {
        const pubsub = client.use(createPubSub, {});
        // A sharded subscription ioredis dropped and the client's audit sent again: evidence for the checker's report.
        client.events.on('pubsub:resubscribe', ({ channels, node }) => {
          const at = recorder.elapsed();
          recorder.record({
            kind: 'resubscribe',
            key: channels.join(' '),
            value: node,
            start: at,
            end: at,
            outcome: 'ok',
          });
        });
        const channels = spreadChannels(options.channels ?? 6).map((name) => pubsub.channel<number>(name));
        channelCount = channels.length;
        for (const channel of channels) {
          const handler = (seq: number) => {
            const at = recorder.elapsed();
            lastReceive = at;
            const sent = publishedAt.get(seq);
            if (sent !== undefined)
              newestReceived.set(channel.name, Math.max(newestReceived.get(channel.name) ?? 0, sent));
            recorder.record({ kind: 'receive', key: channel.name, value: seq, start: at, end: at, outcome: 'ok' });
          };
          // subscribe() fails after its deadline (E_TIMEOUT) when the cluster does not answer; an application tries
          // again, and so does this workload, each attempt recorded, until it is subscribed or the run ends.
          while (!signal.aborted) {
            const ok = await recorder.invoke('subscribe', { key: channel.name }, async () => {
              await channel.subscribe(handler);
              return 'subscribed';
            });
            if (ok !== undefined) break;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        const max = options.maxPublishes ?? 100_000;
        const interval = options.intervalMs ?? 2;
        for (let seq = 0; seq < max && !signal.aborted; seq++) {
          const channel = channels[seq % channels.length];
          if (!channel) break;
          publishedAt.set(seq, recorder.elapsed());
          await recorder.invoke('publish', { key: channel.name, value: seq }, () =>
            withTimeout(channel.publish(seq), deadline),
          );
          await new Promise((r) => setTimeout(r, interval));
        }
        // Messages still on their way: wait until none arrived for 250 ms (at most drainMs).
        const drainUntil = recorder.elapsed() + (options.drainMs ?? 2000);
        while (recorder.elapsed() < drainUntil && recorder.elapsed() - lastReceive < 250) {
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await client.close();
      }
    },
    // Every channel delivered a message published after the deployment was healthy again.
    settled: (healthyAt) =>
      newestReceived.size === channelCount && [...newestReceived.values()].every((at) => at >= healthyAt),
  };
}
