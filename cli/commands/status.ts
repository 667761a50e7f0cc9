import { readFileSync } from 'node:fs';
import { command, parseInfo, readNodeStatus, serverRef } from '../../runtime/redis/index.ts';
import { readState, statePaths } from '../state.ts';
import { renderStatusTable } from '../table.ts';

/** The machine-readable status (`status --json`). */
export interface StatusReport {
  readonly stateDir: string;
  readonly up: boolean;
  readonly cluster?: { state: string; slotsAssigned: number; slotsOk: number; knownNodes: number };
  readonly nodes: Awaited<ReturnType<typeof readNodeStatus>>;
}

/** Reads the deployment recorded in the state dir and asks every node for its role, slots, keys and memory. */
export async function status(stateDir: string): Promise<StatusReport> {
  const state = readState(stateDir);
  const root = statePaths(stateDir).root;
  if (!state) return { stateDir: root, up: false, nodes: [] };
  const password = readFileSync(state.passwordFile, 'utf8');
  const servers = state.nodes.map((n) => ({ name: n.name, server: serverRef(n.host, n.port, password) }));
  const nodes = await readNodeStatus(servers);
  let cluster: StatusReport['cluster'];
  for (const { server } of servers) {
    try {
      const info = parseInfo(String(await command(server, 'CLUSTER', 'INFO')));
      cluster = {
        state: info.cluster_state ?? 'unknown',
        slotsAssigned: Number(info.cluster_slots_assigned ?? 0),
        slotsOk: Number(info.cluster_slots_ok ?? 0),
        knownNodes: Number(info.cluster_known_nodes ?? 0),
      };
      break;
    } catch {
      // ask the next node
    }
  }
  return { stateDir: root, up: nodes.some((n) => n.role !== 'down'), cluster, nodes };
}

/** Prints a status report for people. */
export function printStatus(report: StatusReport): void {
  if (report.nodes.length === 0) {
    console.log(`nothing is up (state dir ${report.stateDir})`);
    return;
  }
  if (report.cluster) {
    console.log(`cluster_state:${report.cluster.state}  slots ok ${report.cluster.slotsOk}/16384`);
  }
  console.log(renderStatusTable(report.nodes));
}
