import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive, reapRegistry } from '../runtime/process/index.ts';

/** What `up` records so that `status` and `down` (other processes) find the deployment. */
export interface LocalState {
  readonly kind: 'cluster';
  readonly createdAt: string;
  readonly passwordFile: string;
  readonly nodes: ReadonlyArray<{ name: string; host: string; port: number; dir: string; pid: number }>;
}

/** Paths inside a state dir. */
export function statePaths(stateDir: string) {
  const root = resolve(stateDir);
  return {
    root,
    stateFile: join(root, 'state.json'),
    registry: join(root, 'registry'),
    data: join(root, 'data'),
    passwordFile: join(root, 'password'),
  };
}

export function readState(stateDir: string): LocalState | undefined {
  const { stateFile } = statePaths(stateDir);
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as LocalState;
}

export function writeState(stateDir: string, state: LocalState): void {
  const { root, stateFile } = statePaths(stateDir);
  mkdirSync(root, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** Pids of the recorded nodes that still run. */
export function livePids(state: LocalState): number[] {
  return state.nodes.map((n) => n.pid).filter((pid) => isAlive(pid));
}

/**
 * Stops every process recorded in the state dir's registry (also those of an `up` that died half-way) and removes
 * the state dir. Returns the pids that were still running.
 */
export function cleanState(stateDir: string): number[] {
  const paths = statePaths(stateDir);
  const killed = existsSync(paths.registry) ? reapRegistry(paths.registry) : [];
  rmSync(paths.root, { recursive: true, force: true });
  return killed;
}
