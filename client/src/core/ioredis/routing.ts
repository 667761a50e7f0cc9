/**
 * Routing: which node serves a key, which nodes are masters, and multi-key commands cut so none spans slots.
 * @internal Used by the ioredis folder only.
 */
import { Cluster, type Redis } from 'ioredis';
import type { BatchCommand, BatchResult, NodeRef, RedisArg } from '../commands.ts';
import { SlotforgeError } from '../errors.ts';
import type { Target } from '../options.ts';
import { keySlot } from '../slot.ts';
import type { Client } from './create.ts';

/** Most keys per DEL/MGET command, so one call never blocks Redis for long. */
const MULTI_KEY_CHUNK = 500;

/** A command of one slot, with that slot computed once (routing reads it instead of hashing the key again). */
export interface SlotCommand extends BatchCommand {
  readonly args: readonly string[];
  readonly slot: number;
}

/**
 * One command per slot (chunked), so no command ever spans slots. `at[i][j]` lists the positions in `keys` of
 * arg j of command i (a key given twice is sent once and answers at both positions).
 */
export function perSlot(
  command: string,
  keys: readonly string[],
  cluster: boolean,
): { readonly commands: SlotCommand[]; readonly at: number[][][] } {
  const bySlot = new Map<number, { keys: string[]; at: number[][] }>();
  const seen = new Map<string, number[]>();
  keys.forEach((key, position) => {
    const positions = seen.get(key);
    if (positions) {
      positions.push(position);
      return;
    }
    const mine = [position];
    seen.set(key, mine);
    const slot = cluster ? keySlot(key) : 0;
    const group = bySlot.get(slot);
    if (group) {
      group.keys.push(key);
      group.at.push(mine);
    } else bySlot.set(slot, { keys: [key], at: [mine] });
  });
  const commands: SlotCommand[] = [];
  const at: number[][][] = [];
  for (const [slot, group] of bySlot) {
    for (let i = 0; i < group.keys.length; i += MULTI_KEY_CHUNK) {
      const chunk = group.keys.slice(i, i + MULTI_KEY_CHUNK);
      commands.push({ command, args: chunk, key: chunk[0] as string, slot });
      at.push(group.at.slice(i, i + MULTI_KEY_CHUNK));
    }
  }
  return { commands, at };
}

/** The replies of perSlot's MGETs, at the positions of their keys; throws the first failed command's error. */
export function atPositions(
  count: number,
  at: readonly number[][][],
  results: readonly BatchResult[],
): (Buffer | null)[] {
  const values: (Buffer | null)[] = new Array(count).fill(null);
  results.forEach((result, i) => {
    if (!result.ok) throw result.error;
    const replies = result.value as (Buffer | null)[];
    (at[i] as number[][]).forEach((positions, j) => {
      for (const position of positions) values[position] = replies[j] ?? null;
    });
  });
  return values;
}

/** The master serving `key` now: slot map lookup on a cluster, the one node elsewhere. */
export function nodeIdOfKey(client: Client, key: string): string {
  if (!(client instanceof Cluster)) return 'main';
  return client.slots[keySlot(key)]?.[0] ?? 'unknown';
}

/** The master serving a batch command now, by the slot perSlot computed when there is one. */
export function nodeIdOfCommand(client: Client, command: BatchCommand | SlotCommand): string {
  if (!(client instanceof Cluster)) return 'main';
  if ('slot' in command) return client.slots[command.slot]?.[0] ?? 'unknown';
  return nodeIdOfKey(client, command.key ?? String(command.args[0] ?? ''));
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

/** The ids of `masters`, sorted and joined: equal strings, same masters (the connection's 'topology' event). */
export function masterIds(masters: readonly NodeRef[]): string {
  return masters
    .map((m) => m.id)
    .sort()
    .join(',');
}

/** The keys deleted by per-slot DEL batches; the first failed batch is thrown. */
export function deletedCount(results: readonly BatchResult[]): number {
  let deleted = 0;
  for (const result of results) {
    if (!result.ok) throw result.error;
    deleted += Number(result.value);
  }
  return deleted;
}
