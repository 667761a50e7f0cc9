import { accessSync, constants, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { CGROUP_ROOT } from '../cgroups.ts';
import { insideRootless } from './namespace.ts';

/** The user outside the namespace (inside it every process is uid 0). */
function realUser(): string {
  return process.env.SUDO_USER || process.env.USER || process.env.LOGNAME || userInfo().username;
}

/** How every line of {@link rootlessDegradations} starts, so the status table shows them. */
export const ROOTLESS_DEGRADED = 'non-root mode:';

/** True when this process may create cgroups (v1 memory hierarchy, or the v2 tree) where the runtime makes them. */
function cgroupsWritable(root = CGROUP_ROOT): boolean {
  const dir = existsSync(join(root, 'memory', 'memory.limit_in_bytes')) ? join(root, 'memory') : root;
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * What the non-root mode cannot do as root does, each named with what to do instead; empty in root mode. Listed by
 * `slotforge status` beside the runtime's other degradations, so nothing is lost silently.
 */
export function rootlessDegradations(): string[] {
  if (!insideRootless()) return [];
  const user = realUser();
  const lines = [
    `${ROOTLESS_DEGRADED} the pods run in a user + network + mount namespace of ${user}; host processes reach them through 'slotforge exec -- CMD' (inside the pod network, cluster DNS) or 'slotforge port-forward'`,
    `${ROOTLESS_DEGRADED} users: one id is mapped (${user} -> root), so each container runs as its runAsUser/runAsGroup in a user namespace of its own where that id is the only one: fsGroup and supplementalGroups are not separate groups, files of other owners read as nobody, and a container that starts as root cannot switch to another user (run as root for that)`,
    `${ROOTLESS_DEGRADED} 'slotforge monitor' is not available: its Prometheus runs on the host, which does not reach the pod IPs (run as root for it)`,
  ];
  if (!cgroupsWritable()) {
    lines.push(
      `${ROOTLESS_DEGRADED} resources.limits not enforced: the cgroup file system is not delegated to ${user} (cgroup v1 memory and cpu hierarchies are root's); run as root to enforce limits and report OOMKilled`,
    );
  }
  return lines;
}
