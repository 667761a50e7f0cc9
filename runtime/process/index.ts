export { DeadlineError, type PollOptions, pollUntil, sleep } from './deadline.ts';
export { type RunOptions, type RunResult, run, runOk } from './exec.ts';
export {
  type Launcher,
  ManagedProcess,
  type ProcessHandle,
  ProcessStartError,
  type StartProcessOptions,
  startProcess,
} from './managed-process.ts';
export { findProcesses, isAlive, killGroup, readCmdline } from './proc.ts';
export { ProcessRegistry, type RegistryEntry, reapRegistry } from './registry.ts';
