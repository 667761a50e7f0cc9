/**
 * The relay of `slotforge port-forward` in the non-root mode, run inside the runtime's namespace (through nsenter):
 * listens on a unix socket (a path outside reaches it: unix sockets on a file system are not bound to a network
 * namespace), reads one line `HOST PORT` per connection, connects to it on the pod network and pipes both ways.
 * Usage: node --import tsx runtime/local/rootless/relay.ts <socket path>
 */
import { rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

const [socketPath] = process.argv.slice(2);
if (!socketPath) {
  console.error('usage: relay.ts <socket path>');
  process.exit(2);
}
rmSync(socketPath, { force: true });
const server = createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(10);
    if (end < 0) return;
    client.off('data', onData);
    client.pause();
    const [host, port] = head.subarray(0, end).toString().trim().split(' ');
    const upstream = createConnection({ host: host ?? '', port: Number(port) });
    upstream.setNoDelay(true);
    upstream.once('connect', () => {
      const rest = head.subarray(end + 1);
      if (rest.length > 0) upstream.write(rest);
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
    upstream.on('close', close);
    client.on('close', close);
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
server.listen(socketPath, () => console.log(`relay listening on ${socketPath}`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close();
    rmSync(socketPath, { force: true });
    process.exit(0);
  });
}
// The forwarder that started us is gone: nothing can use the relay any more.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
