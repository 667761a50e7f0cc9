import { existsSync } from 'node:fs';
import { control, type RuntimeStatus, statePaths } from '../../runtime/local/index.ts';
import { renderRuntimeStatus } from '../table.ts';

/** What `status --json` prints when nothing runs. */
export interface DownStatus {
  readonly stateDir: string;
  readonly up: false;
  readonly pods: [];
  readonly clusters: [];
}

/** Asks the supervisor of the state dir for its status. */
export async function status(stateDir: string): Promise<RuntimeStatus | DownStatus> {
  const paths = statePaths(stateDir);
  if (!existsSync(paths.socket)) return { stateDir: paths.root, up: false, pods: [], clusters: [] };
  try {
    return await control<RuntimeStatus>(paths.socket, { verb: 'status' }, 30_000);
  } catch {
    return { stateDir: paths.root, up: false, pods: [], clusters: [] };
  }
}

/** Prints a status report for people. */
export function printStatus(report: RuntimeStatus | DownStatus): void {
  if (!report.up) {
    console.log(`nothing is up (state dir ${report.stateDir})`);
    return;
  }
  console.log(renderRuntimeStatus(report));
}
