import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { imageProgram } from '../../runtime/images/index.ts';

const run = promisify(execFile);

/**
 * `redis-cli --cluster <args>` as an operator runs it, authenticated with `password` (the admin user); throws with
 * redis-cli's error lines when it fails. Bounded: a reshard or rebalance that takes over 5 minutes is a failure.
 */
export async function clusterCli(password: string | undefined, ...args: string[]): Promise<string> {
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  try {
    const { stdout } = await run(imageProgram('redis-cli'), [...auth, '--cluster', ...args], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    const tail = `${stdout}\n${stderr}`
      .trim()
      .split('\n')
      .filter((l) => /ERR|rror/.test(l))
      .join(' | ');
    throw new Error(`redis-cli --cluster ${args[0]} failed: ${tail}`, { cause: error });
  }
}

/** `redis-cli --cluster check ADDRESS`: its output, also when it exits non-zero (errors or open slots found). */
export async function clusterCheckOutput(password: string | undefined, address: string): Promise<string> {
  return clusterCli(password, 'check', address).catch((error: Error) => {
    const { stdout = '', stderr = '' } = (error.cause ?? {}) as { stdout?: string; stderr?: string };
    return `${stdout}\n${stderr}`;
  });
}
