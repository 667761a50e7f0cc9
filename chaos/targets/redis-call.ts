import { Redis } from 'ioredis';

/**
 * One command on a fresh connection that gives up fast (1 s to connect, 2 s to answer, no retries): what a target
 * asks a pod that a fault may have paused, cut off or removed.
 */
export async function callOnce(host: string, port: number, password: string, ...args: string[]): Promise<unknown> {
  const client = new Redis({
    host,
    port,
    password,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
    lazyConnect: true,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(args[0] as string, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}
