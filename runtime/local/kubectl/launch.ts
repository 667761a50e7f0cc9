import { writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ManagedProcess, startProcess } from '../../process/index.ts';
import type { Mount } from '../volumes.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** What the kubectl process of a container knows of its pod; written as JSON beside the pod's files. */
export interface KubectlLaunchContext {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The object store; null without a service account token (automountServiceAccountToken: false). */
  readonly api: string | null;
  /** The container's volume mounts (host source, container target). */
  readonly mounts: ReadonlyArray<Pick<Mount, 'source' | 'target'>>;
  /** The container's private /tmp on the host. */
  readonly tmpDir: string;
  readonly workingDir?: string;
}

/**
 * The host path of a path as the container sees it: inside the deepest volume mounted over it, or the container's
 * /tmp. The image has nothing else (it holds only kubectl), so any other path does not exist.
 */
export function resolveContainerPath(path: string, context: KubectlLaunchContext): string {
  const absolute = normalize(isAbsolute(path) ? path : join(context.workingDir ?? '/', path));
  const mounts = [...context.mounts, { source: context.tmpDir, target: '/tmp' }].sort(
    (a, b) => b.target.length - a.target.length,
  );
  for (const m of mounts) {
    if (absolute === m.target) return m.source;
    if (absolute.startsWith(`${m.target}/`)) return join(m.source, absolute.slice(m.target.length + 1));
  }
  return join('/nonexistent-in-kubectl-image', absolute);
}

/**
 * Starts the container of a kubectl image: the runtime's kubectl (a Node program) with the container's argv, the
 * pod's identity and its volumes, on the host (it reaches the object store, not the pod network; the API server is
 * not a pod either).
 */
export function startKubectlContainer(options: {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly context: KubectlLaunchContext;
  readonly contextFile: string;
  readonly logFile: string;
}): Promise<ManagedProcess> {
  writeFileSync(options.contextFile, `${JSON.stringify(options.context)}\n`);
  return startProcess({
    command: process.execPath,
    args: [
      '--conditions=slotforge-source',
      '--import',
      import.meta.resolve('tsx'),
      MAIN,
      options.contextFile,
      ...options.argv,
    ],
    env: { ...options.env, PATH: process.env.PATH ?? '/usr/bin:/bin' },
    logFile: options.logFile,
  });
}
