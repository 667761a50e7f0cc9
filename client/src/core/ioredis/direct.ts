/**
 * The direct path: a command sent straight to its node's connection instead of through ioredis' cluster routing
 * (slot lookup, key extraction, flag checks and `tryConnection` per command: about a quarter of a 100-key batch and
 * of a cache hit's client time, bench of issue 16). Taken only when the cluster client and the node's connection are
 * both ready and reads go to masters; a reply saying the command did not run on that node goes again through the
 * cluster client, which follows the redirection.
 * @internal Used by the ioredis folder only.
 */
import { Cluster, type Command, type Redis } from 'ioredis';
import type { Client } from './create.ts';

/** What the direct path reads of ioredis' Cluster (a private member, present in the pinned ioredis 6.0). */
interface WithPool {
  readonly connectionPool?: { getInstanceByKey?(key: string): Redis | undefined };
}

/**
 * The node's connection when the cluster is ready and so is it; undefined otherwise (the cluster client then routes,
 * queues while reconnecting and follows redirections, as for every other command).
 */
export function readyConnection(client: Client, node: string): Redis | undefined {
  if (!(client instanceof Cluster) || client.status !== 'ready') return undefined;
  const pool = (client as unknown as WithPool).connectionPool;
  const connection = pool?.getInstanceByKey?.(node);
  return connection?.status === 'ready' ? connection : undefined;
}

/** Redis did not run the command on this node: the slot moved, is moving, or the cluster is down here. */
function notRunHere(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(message);
}

/**
 * Sends `command` on `connection`; a reply that says it did not run there is sent again as `again()` (a new command:
 * an ioredis Command answers once) through the cluster client, which follows the redirection.
 */
export function sendDirect(
  connection: Redis,
  client: Client,
  command: Command,
  again: () => Command,
): Promise<unknown> {
  return (connection.sendCommand(command) as Promise<unknown>).catch((error: unknown) =>
    notRunHere(error) ? (client.sendCommand(again()) as Promise<unknown>) : Promise.reject(error),
  );
}

/** Sends `command` to the master serving `slot` when the direct path is open (sendDirect), else through the cluster client. */
export function sendToSlot(client: Client, slot: number, command: Command, again: () => Command): Promise<unknown> {
  const node = (client as Cluster).slots[slot]?.[0];
  const connection = node === undefined ? undefined : readyConnection(client, node);
  return connection
    ? sendDirect(connection, client, command, again)
    : (client.sendCommand(command) as Promise<unknown>);
}
