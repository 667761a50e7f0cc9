import Table from 'cli-table3';
import type { NodeStatus } from '../runtime/redis/index.ts';

/** The status table people read: node, address, role, slots, keys, memory. */
export function renderStatusTable(rows: readonly NodeStatus[]): string {
  const table = new Table({ head: ['node', 'address', 'role', 'slots', 'keys', 'memory'] });
  for (const r of rows) {
    table.push([
      r.node,
      r.address,
      r.role,
      r.slots ? `${r.slots} (${r.slotCount})` : '',
      String(r.keys),
      r.memoryHuman,
    ]);
  }
  return table.toString();
}
