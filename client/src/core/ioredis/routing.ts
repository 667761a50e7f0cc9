/**
 * Routing: which node serves a key, which nodes are masters, and multi-key commands cut so none spans slots.
 * @internal Used by the ioredis folder only.
 */
import { Cluster, type Redis } from 'ioredis';
import type { BatchCommand, NodeRef, RedisArg } from '../commands.ts';
import { SlotforgeError } from '../errors.ts';
import type { Target } from '../options.ts';
import { keySlot } from '../slot.ts';
import type { Client } from './create.ts';

/** Most keys per DEL/MGET command, so one call never blocks Redis for long. */
const MULTI_KEY_CHUNK = 500;

/** One command per slot (chunked), so no command ever spans slots. */
export function perSlot(command: string, keys: readonly string[], cluster: boolean): BatchCommand[] {
  const bySlot = new Map<number, string[]>();
  for (const key of new Set(keys)) {
    const slot = cluster ? keySlot(key) : 0;
    const group = bySlot.get(slot);
    if (group) group.push(key);
    else bySlot.set(slot, [key]);
  }
  const commands: BatchCommand[] = [];
  for (const group of bySlot.values()) {
    for (let i = 0; i < group.length; i += MULTI_KEY_CHUNK) {
      const chunk = group.slice(i, i + MULTI_KEY_CHUNK);
      commands.push({ command, args: chunk, key: chunk[0] as string });
    }
  }
  return commands;
}

/** The master serving `key` now: slot map lookup on a cluster, the one node elsewhere. */
export function nodeIdOfKey(client: Client, key: string): string {
  if (!(client instanceof Cluster)) return 'main';
  return client.slots[keySlot(key)]?.[0] ?? 'unknown';
}

/** `keys` grouped by the node serving them now. */
export function groupByNode(client: Client, keys: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const node = nodeIdOfKey(client, key);
    const group = groups.get(node);
    if (group) group.push(key);
    else groups.set(node, [key]);
  }
  return groups;
}

/** The masters now: from the slot map (or the known master nodes before it), else the one node of `target`. */
export function masters(client: Client, target: Target): NodeRef[] {
  if (client instanceof Cluster) {
    const ids = new Set<string>();
    for (const owners of client.slots) if (owners?.[0]) ids.add(owners[0]);
    if (ids.size === 0) for (const node of client.nodes('master')) ids.add(`${node.options.host}:${node.options.port}`);
    return [...ids].sort().map(nodeRef);
  }
  if (target.mode === 'sentinel') return [{ id: `sentinel:${target.masterName}`, host: '', port: 0 }];
  if (target.mode === 'standalone')
    return [{ id: `${target.host}:${target.port}`, host: target.host, port: target.port }];
  return [];
}

/** The connection of `client` to `node` (E_CLUSTER_DOWN when it is no master now). */
export function nodeClient(client: Client, node: NodeRef): Redis {
  if (!(client instanceof Cluster)) return client;
  const found = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === node.id);
  if (!found) {
    throw new SlotforgeError('E_CLUSTER_DOWN', `node ${node.id} is not a master of the cluster now`, {
      received: node.id,
    });
  }
  return found;
}

/** A NodeRef from a `host:port` id. */
export function nodeRef(id: string): NodeRef {
  const colon = id.lastIndexOf(':');
  return { id, host: id.slice(0, colon), port: Number(id.slice(colon + 1)) };
}

/** SCAN over each of `nodes` in turn (every master: never KEYS), yielding the non-empty pages of full keys. */
export async function* scanNodes(
  nodes: readonly NodeRef[],
  scan: (node: NodeRef, args: RedisArg[]) => Promise<unknown>,
  pattern: string,
  options: { readonly count?: number; readonly type?: string },
): AsyncIterable<string[]> {
  const count = options.count ?? 500;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const args: RedisArg[] = [cursor, 'MATCH', pattern, 'COUNT', count];
      if (options.type) args.push('TYPE', options.type);
      const reply = (await scan(node, args)) as [string, string[]];
      cursor = reply[0];
      if (reply[1].length > 0) yield reply[1];
    } while (cursor !== '0');
  }
}
