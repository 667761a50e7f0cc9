import { REDIS_IMAGE as DEPLOYED_REDIS_IMAGE } from '../../infra/index.ts';
import type { Launcher, ProcessHandle } from '../../runtime/process/index.ts';

/**
 * The image the container mode runs: the verified tag the charts deploy (infra/images.ts, `redis:8.2.9`), whose line
 * the process mode's Debian 8.0.2 build carries the security fixes of; `REDIS_IMAGE` overrides it.
 */
export const REDIS_IMAGE = process.env.REDIS_IMAGE ?? DEPLOYED_REDIS_IMAGE;

/**
 * Fails fast, with a message that says what to do, when `REDIS_FIXTURE=container` is set and no Docker engine
 * answers within `timeoutMs` (testcontainers alone may wait a long time for a socket that never answers).
 */
export async function assertContainerEngine(timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no engine answered within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([getContainerRuntimeClient(), timeout]);
  } catch (error) {
    throw new Error(
      `REDIS_FIXTURE=container needs a reachable Docker engine and none answered (${(error as Error).message}). ` +
        'Start one or set DOCKER_HOST, or unset REDIS_FIXTURE to run redis-server processes directly.',
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the same command and arguments in a container on the host network, with the working dir bind-mounted at the
 * same path, so addresses, ports and files are exactly those of the process mode.
 */
export const containerLauncher: Launcher = async (options) => {
  const { GenericContainer } = await import('testcontainers');
  const cwd = options.cwd ?? process.cwd();
  const container = await new GenericContainer(REDIS_IMAGE)
    .withNetworkMode('host')
    .withEntrypoint([options.command])
    .withCommand([...options.args])
    .withBindMounts([{ source: cwd, target: cwd }])
    .withWorkingDir(cwd)
    .start();
  let running = true;
  let resolveExit: (value: { code: number | null; signal: NodeJS.Signals | null }) => void = () => {};
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    resolveExit = resolve;
  });
  const stop = async (graceMs = 5000) => {
    if (!running) return;
    await container.stop({ timeout: graceMs });
    running = false;
    resolveExit({ code: null, signal: 'SIGTERM' });
  };
  const handle: ProcessHandle = {
    pid: -1,
    get running() {
      return running;
    },
    exited,
    signal: (signal) => {
      if (signal === 'SIGKILL' || signal === 'SIGTERM') void stop(signal === 'SIGKILL' ? 0 : 5000);
      else throw new Error(`container mode cannot send ${signal}; run the test with REDIS_FIXTURE=process`);
    },
    stop,
    kill: () => stop(0),
  };
  return handle;
};
