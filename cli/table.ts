import Table from 'cli-table3';
import { ROOTLESS_DEGRADED, type RuntimeStatus } from '../runtime/local/index.ts';

/** Restarts, and why the last one happened when a container did not end on its own (`1 (last: OOMKilled, 137)`). */
function restartsCell(p: RuntimeStatus['pods'][number]): string {
  const last = p.containers.find((c) => c.lastExit?.reason)?.lastExit;
  return last ? `${p.restarts} (last: ${last.reason}, ${last.code})` : String(p.restarts);
}

/** The status people read: one row per pod, then one line per Redis Cluster, per Job and per NetworkPolicy. */
export function renderRuntimeStatus(status: RuntimeStatus): string {
  const table = new Table({ head: ['pod', 'ip', 'phase', 'ready', 'role', 'redis', 'restarts', 'ports'] });
  for (const p of status.pods) {
    table.push([
      p.name,
      p.ip ?? '',
      p.phase,
      p.ready ? 'yes' : 'no',
      p.role ?? '',
      p.redisVersion ?? '',
      restartsCell(p),
      p.ports.map((port) => (port.name ? `${port.name}:${port.port}` : String(port.port))).join(' '),
    ]);
  }
  const lines = [table.toString()];
  for (const c of status.clusters) {
    lines.push(
      `Redis Cluster (${c.members.length} members): cluster_state:${c.clusterState}  slots covered ${c.slotsCovered}/16384  masters ${c.masters}  replicas ${c.replicas}  keys ${c.keys}`,
    );
  }
  for (const j of status.jobs) lines.push(`Job ${j.name}: ${j.status}${j.failures ? ` (${j.failures} failures)` : ''}`);
  // Older supervisors (before admission) report no such list.
  for (const a of status.acceptedNotEnforced ?? []) lines.push(`accepted, not enforced: ${a.object} (${a.validated})`);
  if (status.partitions.length > 0) {
    lines.push(`partitions: ${status.partitions.map((p) => `${p.a.join(',')} | ${p.b.join(',')}`).join('; ')}`);
  }
  for (const np of status.networkPolicies ?? []) {
    const on = np.pods.length > 0 ? `on ${np.pods.length} pod(s): ${np.pods.join(' ')}` : 'selects no pod yet';
    lines.push(`NetworkPolicy ${np.name} (${np.policyTypes.join(', ')}) enforced ${on}`);
  }
  // What the non-root mode cannot do as root does, by name (runtime/local/rootless).
  for (const line of status.degraded ?? []) if (line.startsWith(ROOTLESS_DEGRADED)) lines.push(line);
  return lines.join('\n');
}
