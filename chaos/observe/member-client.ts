import { Redis } from 'ioredis';
import type { ObservedMember } from '../target.ts';

/**
 * A connection to one member for polling from the host: no ready check and no ioredis `commandTimeout` (both make
 * ioredis time out its own connection-time commands on a loaded machine and reject them where nobody listens,
 * ioredis#1431: an unhandled "Command timed out" ended a drill), no offline queue (a member that is down fails the
 * poll at once), reconnects every 100 ms (a killed member's restart is part of what is watched). Deadlines are kept
 * by {@link callWithin}.
 */
export function memberClient(member: ObservedMember, auth: { username?: string; password?: string }): Redis {
  const client = new Redis({
    host: member.host,
    port: member.port,
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    connectTimeout: 500,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: () => 100,
  });
  client.on('error', () => {});
  return client;
}

/** One command, rejected after `ms` (the command itself may still answer later; that answer is dropped). */
export async function callWithin(client: Redis, ms: number, command: string, ...args: string[]): Promise<string> {
  if (client.status === 'wait') client.connect().catch(() => undefined);
  const reply = client.call(command, ...args);
  reply.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    return String(
      await Promise.race([
        reply,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${command} took over ${ms} ms`)), ms);
        }),
      ]),
    );
  } finally {
    clearTimeout(timer);
  }
}
