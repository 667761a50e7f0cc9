import { spawn } from 'node:child_process';
import { LocalRuntimeError } from '../errors.ts';
import { namespaceArgv, namespaceEnv, needsNamespace, userNamespacesEnabled } from './namespace.ts';

/** The refusal when the kernel gives this user no user namespace, naming the switch that does. */
export function userNamespacesOff(): LocalRuntimeError {
  return new LocalRuntimeError(
    'E_NOT_ROOT',
    'the local runtime needs root or an unprivileged user namespace, and this kernel refuses user namespaces to non-root users: run as root, or enable them once with `sudo sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000` (Ubuntu 24.04 and later: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`)',
  );
}

/**
 * Runs `argv` in a new non-root namespace (see namespace.ts) with this terminal, and resolves with its exit code.
 * SIGINT from the terminal reaches it directly (same process group); SIGTERM and SIGHUP are forwarded.
 */
export function runInNamespace(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!userNamespacesEnabled()) return Promise.reject(userNamespacesOff());
  const [command, ...args] = namespaceArgv(argv);
  const child = spawn(command!, args, { stdio: 'inherit', env: namespaceEnv(env) });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const ignoreInt = () => {};
  process.on('SIGINT', ignoreInt);
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(new LocalRuntimeError('E_NOT_ROOT', `could not start unshare for the non-root mode: ${error.message}`)),
    );
    child.once('exit', (code, signal) => {
      for (const [s, handler] of handlers) process.off(s, handler);
      process.off('SIGINT', ignoreInt);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}

/**
 * Re-executes this CLI invocation (same node flags, same arguments) inside a new non-root namespace and resolves with
 * its exit code: `slotforge up`, `start` and `chaos run` as a normal user.
 */
export function reexecInNamespace(): Promise<number> {
  return runInNamespace([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
}

/**
 * As a normal user, re-executes this command in a new namespace, sets the exit code and resolves true (the caller
 * returns); as root or already inside, resolves false (the caller goes on).
 */
export async function reexecIfNotRoot(): Promise<boolean> {
  if (!needsNamespace()) return false;
  process.exitCode = await reexecInNamespace();
  return true;
}
