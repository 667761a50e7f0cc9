import { countSlots, formatSlots, parseClusterNodes, parseInfo } from './info.ts';
import { command, type ServerRef } from './server.ts';

/** One row of the status table. */
export interface NodeStatus {
  readonly node: string;
  readonly address: string;
  readonly role: 'master' | 'replica' | 'sentinel' | 'down';
  readonly slots: string;
  readonly slotCount: number;
  readonly keys: number;
  readonly memoryBytes: number;
  readonly memoryHuman: string;
}

/** Reads role, slots, keys and memory of each node; a node that does not answer is reported as `down`. */
export async function readNodeStatus(nodes: ReadonlyArray<{ name: string; server: ServerRef }>) {
  return Promise.all(
    nodes.map(async ({ name, server }): Promise<NodeStatus> => {
      const address = `${server.host}:${server.port}`;
      try {
        const info = parseInfo(String(await command(server, 'INFO')));
        if (info.redis_mode === 'sentinel') {
          return {
            node: name,
            address,
            role: 'sentinel',
            slots: '',
            slotCount: 0,
            keys: 0,
            memoryBytes: Number(info.used_memory ?? 0),
            memoryHuman: info.used_memory_human ?? '',
          };
        }
        let ranges: Array<readonly [number, number]> = [];
        if (info.cluster_enabled === '1') {
          const myself = parseClusterNodes(String(await command(server, 'CLUSTER', 'NODES'))).find((l) =>
            l.flags.includes('myself'),
          );
          ranges = [...(myself?.slots ?? [])];
        }
        const keys = Object.entries(info)
          .filter(([k]) => /^db\d+$/.test(k))
          .reduce((sum, [, v]) => sum + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
        return {
          node: name,
          address,
          role: info.role === 'slave' ? 'replica' : 'master',
          slots: formatSlots(ranges),
          slotCount: countSlots(ranges),
          keys,
          memoryBytes: Number(info.used_memory ?? 0),
          memoryHuman: info.used_memory_human ?? '',
        };
      } catch {
        return { node: name, address, role: 'down', slots: '', slotCount: 0, keys: 0, memoryBytes: 0, memoryHuman: '' };
      }
    }),
  );
}
