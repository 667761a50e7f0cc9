import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import {
  enterArgv,
  LocalRuntimeError,
  liveSupervisor,
  namespaceEnv,
  needsNamespace,
  runInNamespace,
  statePaths,
} from '../../runtime/local/index.ts';

/** Runs argv with this terminal and resolves with its exit code (128 + n for a signal, as a shell reports it). */
function runAttached(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = argv;
  const child = spawn(command!, args, { stdio: 'inherit', env });
  const ignore = () => {};
  process.on('SIGINT', ignore);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`could not run '${command}': ${error.message}`)));
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 2));
    });
  });
}

/**
 * `slotforge exec -- CMD`: runs CMD where the pods are, with cluster DNS (pod and Service names resolve). As root the
 * host is on the pod network and publishes the names in /etc/hosts, so CMD runs as is; as another user CMD enters
 * the namespace of the state dir's supervisor (its user, network and mount namespaces, where it is root).
 */
export async function execInPodNetwork(stateDir: string, argv: readonly string[]): Promise<number> {
  if (!needsNamespace()) return runAttached(argv, process.env);
  const pid = liveSupervisor(stateDir);
  if (pid === undefined) {
    throw new LocalRuntimeError(
      'E_CONTROL',
      `no local runtime is up in ${statePaths(stateDir).root}: run 'slotforge up --detach' first (exec enters its namespace)`,
    );
  }
  return runAttached(enterArgv(pid, argv), namespaceEnv());
}

/** Registers `exec` and `unshare`. */
export function registerExec(program: Command, stateDir: () => string): void {
  program
    .command('exec')
    .description(
      'run a command inside the pod network with cluster DNS (an app, a test): `slotforge exec -- getent hosts redis-shard-0-0.redis-headless.slotforge.svc.cluster.local`',
    )
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (argv: string[]) => {
      process.exitCode = await execInPodNetwork(stateDir(), argv);
    });
  program
    .command('unshare')
    .description(
      'run a command in a new user + network + mount namespace where it is root, for programs that start runtimes themselves (tests: `slotforge unshare -- npx vitest run test/runtime/local/runtime.test.ts`); as root it runs as is',
    )
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (argv: string[]) => {
      process.exitCode = needsNamespace() ? await runInNamespace(argv) : await runAttached(argv, process.env);
    });
}
