/**
 * Child of close-exits.test.ts: what issue 16 item 1 describes. Connects to a cluster, subscribes one pub/sub
 * channel, optionally keeps the event loop busy 1.1 s (slot refreshes pile up meanwhile), then calls close() and
 * prints 'closed'. The parent asserts the process then EXITS by itself: no timer or socket may outlive close().
 * argv: <host:port,...> <password> <slotsRefreshIntervalMs> <busyMs>
 */
import { createClient, createPubSub } from '@slotforge/client';

const [nodes = '', password = '', refreshMs = '1000', busyMs = '0'] = process.argv.slice(2);
const client = createClient({
  cluster: {
    nodes: nodes.split(',').map((n) => {
      const [host = '', port = ''] = n.split(':');
      return { host, port: Number(port) };
    }),
  },
  password,
  slotsRefreshIntervalMs: Number(refreshMs),
});
const pubsub = client.use(createPubSub, {});
await client.ready();
await pubsub.channel('close-exit', { sharded: false }).subscribe(() => {});
await client.set('close-exit', 1);
const until = Date.now() + Number(busyMs);
while (Date.now() < until) {
  // Busy loop: the event loop is blocked, so ioredis' slot refresh timers fire late, right around close().
}
await client.close();
process.stdout.write('closed\n');
