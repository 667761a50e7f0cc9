import { type ClusterNodeLine, parseClusterNodes } from '../../runtime/redis/index.ts';
import type { PodInfo } from '../target.ts';

/**
 * CLUSTER NODES to PodInfo, naming each node by the pod that has its IP (the bus only knows IPs). Nodes in handshake
 * or without an address are left out; a node flagged `fail` has role `unknown`. Shared by
 * the local and Kubernetes targets.
 */
export function podInfosFromClusterNodes(text: string, podByIp: ReadonlyMap<string, string>): PodInfo[] {
  const lines = parseClusterNodes(text);
  const nameOf = (address: string) => podByIp.get(address.split(':')[0] ?? '') ?? address;
  const byId = new Map(lines.map((l) => [l.id, nameOf(l.address)]));
  return lines
    .filter((l) => !l.flags.includes('handshake') && !l.flags.includes('noaddr'))
    .map(
      (l): PodInfo => ({
        name: nameOf(l.address),
        address: l.address.split('@')[0] ?? '',
        role: l.flags.includes('fail') ? 'unknown' : l.flags.includes('master') ? 'master' : 'replica',
        slots: l.slots,
        ...(l.masterId ? { masterOf: byId.get(l.masterId) } : {}),
      }),
    );
}

/**
 * `redis-cli --cluster reshard` arguments that move `slots` slots from the first master serving slots to the second,
 * as an operator would run it (MIGRATE under the hood, ASK redirections for clients meanwhile).
 */
export function reshardArgs(text: string, slots: number): string[] {
  const [from, to] = parseClusterNodes(text).filter(
    (l: ClusterNodeLine) => l.flags.includes('master') && l.slots.length > 0,
  );
  if (!from || !to) throw new Error('reshard needs two masters with slots');
  return [
    'reshard',
    from.address.split('@')[0] ?? '',
    '--cluster-from',
    from.id,
    '--cluster-to',
    to.id,
    '--cluster-slots',
    String(slots),
    '--cluster-yes',
  ];
}
