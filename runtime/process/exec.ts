import { spawn } from 'node:child_process';

/** What {@link run} returns: the exit and the captured output. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** SIGKILL to the whole process group after this long. @default 10000 */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
}

/**
 * Runs a short-lived command in a process group of its own and captures its output; on timeout the whole group is
 * killed (a probe's `sh` and the `redis-cli` it started), so nothing outlives the call.
 * @internal
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (stdout.length < 1_000_000) stdout += chunk;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 1_000_000) stderr += chunk;
    });
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs ?? 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, stdout, stderr: `${stderr}${error.message}`, timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the command left in its group (a backgrounded helper) goes with it.
      killGroup();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    // A command that exits before reading its input (`ip netns exec` of a namespace that just went away) closes the
    // pipe: EPIPE is its failure to report through the exit code, not an unhandled error that ends the process.
    child.stdin?.on('error', () => {});
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link run} but throws with the command and its stderr when it exits non-zero. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.code ?? result.signal}${result.timedOut ? ' (timed out)' : ''}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}
