import { createServer } from 'node:net';

const handedOut = new Set<number>();

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on `host` whose cluster bus port (port + 10000) is free too, and that this process has not
 * handed out before. Ports come from 10000-21999, so both the port and its bus port stay below 32768, where
 * Linux's ephemeral range for outgoing connections begins.
 */
export async function freeRedisPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue;
    if ((await canListen(port, host)) && (await canListen(port + 10000, host))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port pair (p, p+10000) found on ${host} after 200 attempts`);
}
