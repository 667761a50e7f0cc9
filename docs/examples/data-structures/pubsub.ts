// Pub/Sub: run by test/client/structures/docs-examples.contract.ts on every deployment.
import { type ConnectionOptions, createClient, createPubSub } from '@slotforge/client';

interface PriceChanged {
  readonly sku: string;
  readonly price: number;
  readonly at: Date;
}
const isPriceChanged = (v: unknown): v is PriceChanged =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as PriceChanged).sku === 'string' &&
  (v as PriceChanged).at instanceof Date;

export async function run(connection: ConnectionOptions) {
  const client = createClient({ ...connection, namespace: 'example-pubsub' });
  try {
    const pubsub = client.use(createPubSub, {});
    // Sharded (SPUBLISH/SSUBSCRIBE) on a cluster, classic elsewhere; one subscriber connection for all handlers.
    const prices = pubsub.channel<PriceChanged>('prices', { validator: isPriceChanged });
    const malformed: string[] = [];
    client.events.on('pubsub:malformed', (event) => void malformed.push((event as { reason: string }).reason));
    const received = new Promise<PriceChanged>((resolve) => {
      void prices.subscribe((message) => resolve(message));
    });
    await prices.subscribe(() => {}); // a second handler shares the same connection
    await client.commands.call(prices.sharded ? 'SPUBLISH' : 'PUBLISH', [prices.redisChannel, '{oops']); // dropped
    await prices.publish({ sku: 'A-1', price: 42, at: new Date('2024-05-06T00:00:00Z') });
    const message = await received;
    return { message, malformed, connections: pubsub.connections };
  } finally {
    await client.close();
  }
}
