import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { isAlive } from './proc.ts';
import type { ProcessRegistry } from './registry.ts';

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here; ignored when absent. */
  readonly logFile?: string;
  /** Records the process so a reaper can stop it if we die. */
  readonly registry?: ProcessRegistry;
  /** Must appear in the command line; used by the reaper to avoid killing a recycled pid. */
  readonly marker?: string;
  /** Dirs the reaper removes with this process. @default [] */
  readonly dirs?: readonly string[];
  /** Let our own process exit while this one runs (`up --detach`). @default false */
  readonly keepAlive?: boolean;
}

/** Raised when a process cannot be started. */
export class ProcessStartError extends Error {
  readonly code = 'E_PROCESS_START';
  constructor(
    readonly command: string,
    options: { cause?: unknown },
  ) {
    super(`could not start ${command}: ${(options.cause as Error | undefined)?.message ?? 'unknown error'}`, options);
    this.name = 'ProcessStartError';
  }
}

/** What the runtime needs of a started process, whatever started it (a local child, a container). */
export interface ProcessHandle {
  /** The host pid; -1 where there is none (a container). */
  readonly pid: number;
  readonly running: boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; resolves on exit. */
  kill(): Promise<void>;
}

/** Starts a process; {@link startProcess} is the local one, tests may swap in a container launcher. */
export type Launcher = (options: StartProcessOptions) => Promise<ProcessHandle>;

/** A child process we started and will stop by its own pid. */
export class ManagedProcess implements ProcessHandle {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exitedFlag = false;

  constructor(
    readonly child: ChildProcess,
    readonly pid: number,
    readonly command: string,
    registry?: ProcessRegistry,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitedFlag = true;
        registry?.remove(pid);
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return !this.#exitedFlag && isAlive(this.pid);
  }

  /** Sends a signal if the process still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.#exitedFlag) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  /**
   * SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited.
   * @param graceMs @default 5000
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exitedFlag) return;
    // A paused (SIGSTOPped) process cannot act on SIGTERM until it is continued.
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}

/**
 * Starts a process in a process group of its own, so a Ctrl-C in the terminal reaches only us and we stop our
 * children in order (or leave them running with `keepAlive`, for `up --detach`).
 */
export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  const fd = options.logFile ? openSync(options.logFile, 'a') : undefined;
  let child: ChildProcess;
  try {
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
      detached: true,
    });
    if (options.keepAlive) child.unref();
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('error', (error) => reject(new ProcessStartError(options.command, { cause: error })));
    child.once('spawn', () => resolve(child.pid as number));
  });
  options.registry?.add({ pid, marker: options.marker ?? options.command, dirs: options.dirs ?? [] });
  return new ManagedProcess(child, pid, options.command, options.registry);
}
