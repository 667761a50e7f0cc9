import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup, sleep } from '../process/index.ts';
import { joinContainerCgroup } from './cgroups.ts';
import { startContainer } from './container.ts';
import { type ContainerPod, type ContainerRun, imageRoot } from './container-run.ts';
import { expand } from './env.ts';
import { containerArgv } from './images.ts';
import { startKubectlContainer } from './kubectl/launch.ts';
import type { PodHost } from './pod.ts';
import { startProbes } from './probes.ts';
import { containerMounts, type Mount } from './volumes.ts';

/** Container restart back-off: 10 s doubling up to 300 s, reset after 10 min of running (kubelet). */
const BACKOFF_START_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const BACKOFF_RESET_MS = 600_000;

/** What the restart loop needs of its pod besides {@link ContainerPod}. @internal */
export interface LoopPod extends ContainerPod {
  readonly host: PodHost;
  /** The hosts file the container mounts over /etc/hosts (written now). */
  hostsFile(): string;
  /** A fresh cgroup name for the next start of `container` (each start gets its own). */
  cgroupName(container: string): string;
}

/**
 * Runs one container until it ends for good (per restartPolicy) or the pod is deleted, as the kubelet does: start,
 * probe, wait for the exit, restart with the back-off (10 s doubling up to 5 min, reset after 10 min of running).
 * True when its last run exited 0.
 */
export async function runContainer(
  pod: LoopPod,
  c: ContainerRun,
  volumeDirs: ReadonlyMap<string, string>,
  where: string,
): Promise<boolean> {
  const { signal, host } = pod;
  const net = pod.net!;
  const scale = host.timeScale ?? 1;
  const local = join(pod.dir, 'local');
  mkdirSync(local, { recursive: true });
  const volumeMounts = containerMounts(
    c.spec,
    volumeDirs,
    (path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    },
    where,
  );
  const hasToken = pod.spec.automountServiceAccountToken !== false;
  const mounts: Mount[] = [
    // The image's own file system and the pod's volumes: nothing of the host (the kubectl image reads the API
    // through the runtime's built-in kubectl, not through a mount).
    ...volumeMounts,
  ];
  const argv = containerArgv(
    c.mapping,
    c.image?.recipe.config,
    c.spec.command?.map((a) => expand(a, c.env)),
    c.spec.args?.map((a) => expand(a, c.env)),
  );
  for (;;) {
    if (signal.aborted) return false;
    const startedAt = Date.now();
    const logFile = join(host.logsDir, `${pod.name}-${pod.seq}-${c.spec.name}.log`);
    c.proc = c.mapping.builtin
      ? await startKubectlContainer({
          argv,
          env: c.env,
          logFile,
          contextFile: join(pod.dir, `${c.spec.name}.kubectl.json`),
          context: {
            namespace: pod.namespace,
            serviceAccount: pod.spec.serviceAccountName ?? 'default',
            api: hasToken ? host.apiDir : null,
            mounts: volumeMounts,
            tmpDir: join(pod.dir, 'tmp'),
            workingDir: c.spec.workingDir,
          },
        })
      : await startContainer({
          netns: net.netns,
          hostname: pod.name,
          argv,
          env: c.env,
          mounts,
          hostsFile: pod.hostsFile(),
          resolvFile: host.resolvFile,
          tmpDir: join(pod.dir, 'tmp'),
          localDir: local,
          workingDir: c.spec.workingDir,
          image: imageRoot(pod, c),
          preludeFile: join(pod.dir, `${c.spec.name}.start.sh`),
          logFile,
          recordCreated: (paths) => host.recordCreated(paths),
        });
    const cgroup = joinContainerCgroup(pod.cgroupName(c.spec.name), c.limits, c.proc.pid, (message) =>
      pod.event(`container '${c.spec.name}': ${message}`),
    );
    c.state = 'running';
    c.reason = '';
    c.started = !c.spec.startupProbe;
    c.ready = !c.init && !c.spec.readinessProbe && c.started;
    pod.changed();
    const probing = new AbortController();
    if (!c.init) startProbes(pod, c, probing.signal);
    const exit = await c.proc.exited;
    probing.abort();
    // Whatever the container left in its process group dies with it (a container is all its processes).
    killGroup(c.proc.pid, 'SIGKILL');
    // The kubelet reports OOMKilled, exit code 137 (128 + SIGKILL), when the OOM killer acted in the container.
    const oom = (await cgroup?.finish())?.oomKilled;
    c.lastExit = oom ? { code: 137, signal: exit.signal, reason: 'OOMKilled' } : exit;
    c.state = 'terminated';
    c.ready = false;
    c.reason = oom
      ? 'OOMKilled'
      : exit.code === 0
        ? 'Completed'
        : exit.signal
          ? `killed by ${exit.signal}`
          : `Error (exit ${exit.code})`;
    pod.changed();
    if (signal.aborted || pod.terminating) return exit.code === 0;
    pod.event(`container '${c.spec.name}' exited: ${c.reason}`);
    const policy = c.init && pod.restartPolicy === 'Always' ? 'OnFailure' : pod.restartPolicy;
    const restart = policy === 'Always' || (policy === 'OnFailure' && exit.code !== 0);
    if (!restart) return exit.code === 0;
    const ranFor = Date.now() - startedAt;
    if (ranFor > BACKOFF_RESET_MS * scale) c.restartCount = 0;
    const delay =
      c.restartCount === 0 ? 0 : Math.min(BACKOFF_START_MS * 2 ** (c.restartCount - 1), BACKOFF_MAX_MS) * scale;
    c.state = 'waiting';
    c.reason = delay > 0 ? 'CrashLoopBackOff' : 'Restarting';
    await sleep(delay, signal);
    if (signal.aborted || pod.terminating) return false;
    c.restartCount++;
    pod.event(`restarting container '${c.spec.name}' (restart ${c.restartCount})`);
  }
}
