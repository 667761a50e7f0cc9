import { run } from '../process/index.ts';
import { chrootArgv } from './chroot.ts';
import type { HandlerTarget } from './container.ts';
import { LocalRuntimeError } from './errors.ts';

/** Options of {@link execInPod}. */
export interface ExecOptions {
  /** The container to run in. @default the pod's first regular container */
  readonly container?: string;
  /**
   * Variables layered over the container's env for this command only, as `kubectl exec POD -- env K=V cmd` would.
   * @default none
   */
  readonly env?: Readonly<Record<string, string>>;
  /** SIGKILL to the command's whole process group after this long. @default 60000 */
  readonly timeoutMs?: number;
}

/** What {@link execInPod} returns: the exit code (-1 on a timeout or a signal) and stdout + stderr, interleaved by stream. */
export interface ExecResult {
  readonly code: number;
  readonly output: string;
  readonly timedOut: boolean;
}

/** What an exec needs of a pod: its name and where its running container is (see `Pod.execTarget`). */
export interface ExecTargetSource {
  readonly name: string;
  execTarget(container?: string): HandlerTarget | undefined;
}

/**
 * `kubectl exec`: runs `command` inside a running container of `pod`, as its exec probes and hooks run (in its
 * network, mount and UTS namespaces, chrooted into its root as its user, in its working dir, with its env), and waits
 * for it to end. Fails with `E_NO_POD` when the container does not run.
 * @see https://kubernetes.io/docs/reference/kubectl/generated/kubectl_exec/
 */
export async function execInPod(
  pod: ExecTargetSource,
  command: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const target = pod.execTarget(options.container);
  if (!target) {
    throw new LocalRuntimeError(
      'E_NO_POD',
      `exec: container '${options.container ?? '(first)'}' of pod '${pod.name}' is not running`,
    );
  }
  if (command.length === 0) throw new LocalRuntimeError('E_CONTROL', 'exec: command must name a program (got [])');
  const mapped = target.mapArgv(command);
  const argv = target.chroot ? chrootArgv(target.chroot, mapped) : mapped;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const result = await run('nsenter', ['-t', String(target.pid), '--net', '--mount', '--uts', '--', ...argv], {
    env: { ...target.env, ...options.env },
    timeoutMs,
  });
  return {
    code: result.timedOut || result.code === null ? -1 : result.code,
    output: `${result.stdout}${result.stderr}`,
    timedOut: result.timedOut,
  };
}
