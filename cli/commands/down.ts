import { pollUntil } from '../../runtime/process/index.ts';
import { cleanState, livePids, readState, statePaths } from '../state.ts';

/**
 * Stops the deployment recorded in the state dir: SIGTERM to every node, SIGKILL to whatever still runs after
 * `graceMs`, then removes the state dir (data included). Also cleans after an `up` that died half-way.
 */
export async function down(
  stateDir: string,
  graceMs = 5000,
): Promise<{ stateDir: string; stopped: number; killed: number }> {
  const state = readState(stateDir);
  const pids = state ? livePids(state) : [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  if (state) {
    await pollUntil(() => livePids(state).length === 0, {
      description: `${pids.length} redis-server processes to exit`,
      timeoutMs: graceMs,
    }).catch(() => undefined);
  }
  const killed = cleanState(stateDir);
  return { stateDir: statePaths(stateDir).root, stopped: pids.length, killed: killed.length };
}
