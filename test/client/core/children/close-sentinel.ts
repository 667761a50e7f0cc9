/**
 * Child of close-exits-sentinel.test.ts: creates a client through the sentinels and calls close() WHEN: a number of ms
 * later (0 = in the same tick), or `connecting:PORT` = as soon as a socket to PORT (the primary) starts connecting,
 * before it has connected; prints 'closed'. The parent asserts the process then exits by itself.
 * argv: <host:port,...> <masterName> <password> <sentinelPassword> <when>
 */
import net from 'node:net';
import { createClient } from '@slotforge/client';

const [sentinels = '', masterName = '', password = '', sentinelPassword = '', when = '0'] = process.argv.slice(2);
const connecting = when.startsWith('connecting:') ? Number(when.slice('connecting:'.length)) : undefined;
const delayMs = connecting === undefined ? Number(when) : 0;
let primaryConnecting: (() => void) | undefined;
const primarySocket = new Promise<void>((resolve) => {
  primaryConnecting = resolve;
});
if (connecting !== undefined) {
  const connect = net.Socket.prototype.connect;
  // Node passes connect() either its options or its normalized [options, callback] array.
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0] as { port?: unknown } | Array<{ port?: unknown }>;
    const port = Array.isArray(first) ? first[0]?.port : first?.port;
    const socket = (connect as (...a: unknown[]) => net.Socket).apply(this, args);
    if (Number(port) === connecting) primaryConnecting?.();
    return socket;
  } as typeof connect;
}
const client = createClient({
  sentinel: {
    sentinels: sentinels.split(',').map((n) => {
      const [host = '', port = ''] = n.split(':');
      return { host, port: Number(port) };
    }),
    masterName,
    password: sentinelPassword,
  },
  password,
});
if (connecting !== undefined) await primarySocket;
else if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
await client.close();
process.stdout.write('closed\n');
