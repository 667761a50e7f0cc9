/**
 * Child of raw-close.test.ts: the chaos workloads' raw ioredis cluster client (connectData) and a write, then quit()
 * at the worst moment: the next periodic slot refresh has just started (ioredis re-arms its timer from that refresh's
 * callback). Prints 'closed'; the parent asserts the process then exits by itself.
 * argv: <host:port,...> <password>
 */
import type { Cluster } from 'ioredis';
import { connectData } from '../../../chaos/workloads/index.ts';

const [nodes = '', password = ''] = process.argv.slice(2);
const seeds = nodes.split(',').map((n) => {
  const [host = '', port = ''] = n.split(':');
  return { host, port: Number(port) };
});
const client = connectData({ kind: 'cluster', seeds, password }) as Cluster;
await client.set('raw-close', '1');
const refresh = client.refreshSlotsCache.bind(client);
let quitting = false;
await new Promise<void>((resolve) => {
  client.refreshSlotsCache = (...args: Parameters<Cluster['refreshSlotsCache']>) => {
    refresh(...args);
    if (quitting) return;
    // The first periodic refresh is in flight: close now, once.
    quitting = true;
    client.quit().then(
      () => resolve(),
      () => resolve(),
    );
  };
});
process.stdout.write('closed\n');
