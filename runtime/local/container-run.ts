import { join } from 'node:path';
import type { CachedImage } from '../images/index.ts';
import { killGroup, type ManagedProcess } from '../process/index.ts';
import { type ContainerLimits, limitsOf } from './cgroups.ts';
import { type HandlerTarget, type ImageRoot, runHandler } from './container.ts';
import { containerEnv, expand, type ObjectStore, type PodFacts } from './env.ts';
import { type ContainerIdentity, containerIdentity } from './identity.ts';
import { containerArgv, type ImageMapping, mappedImage, resolveImage } from './images.ts';
import type { PodNet } from './network.ts';
import type { Container, Handler, PodSpec } from './types.ts';

/** Status of one container. */
export interface ContainerStatus {
  readonly name: string;
  readonly state: 'waiting' | 'running' | 'terminated';
  readonly reason: string;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
  readonly pid: number | undefined;
  /** How the previous run ended; `reason` is `OOMKilled` (code 137) when the OOM killer acted in its cgroup. */
  readonly lastExit: { code: number | null; signal: string | null; reason?: string } | undefined;
}

/** One container of a pod incarnation, as the kubelet tracks it across restarts. @internal */
export interface ContainerRun {
  readonly spec: Container;
  readonly mapping: ImageMapping;
  /** The image file system the container is chrooted into (absent for built-in images). */
  readonly image: CachedImage | undefined;
  /** Who it runs as (image USER under the securityContext); thrown at pod creation when runAsNonRoot is violated. */
  readonly identity: ContainerIdentity | undefined;
  readonly init: boolean;
  readonly limits: ContainerLimits;
  env: Record<string, string>;
  state: 'waiting' | 'running' | 'terminated';
  reason: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  proc: ManagedProcess | undefined;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; reason?: string } | undefined;
  /** Set while the kubelet itself is stopping the container (liveness failure, deletion). */
  stopping: Promise<void> | undefined;
}

/** What the container functions need of the pod that runs them. @internal */
export interface ContainerPod {
  readonly name: string;
  readonly namespace: string;
  readonly seq: number;
  readonly spec: PodSpec;
  readonly net: PodNet | undefined;
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  readonly terminating: boolean;
  /** terminationGracePeriodSeconds in ms. */
  readonly graceMs: number;
  /** The pod incarnation's dir (`<podsDir>/<name>-<seq>`). */
  readonly dir: string;
  /** Aborts when the pod is deleted. */
  readonly signal: AbortSignal;
  event(message: string): void;
  /** Called whenever a readiness or a state changes (DNS and Services follow). */
  changed(): void;
}

/**
 * The run of container `spec` before its first start. Resolves the image against the table and the identity the
 * container runs as, so an unmappable image or a violated runAsNonRoot throws here, before anything starts.
 */
export function newContainerRun(spec: Container, podSpec: PodSpec, init: boolean, where: string): ContainerRun {
  const at = `${where} container '${spec.name}'`;
  const mapping = resolveImage(spec.image, at);
  const image = mappedImage(mapping, at);
  const identity = image
    ? containerIdentity(image.recipe.config, image.rootfs, podSpec.securityContext, spec.securityContext, at)
    : undefined;
  return {
    spec,
    init,
    limits: limitsOf(spec, at),
    env: {},
    state: 'waiting',
    reason: 'ContainerCreating',
    ready: false,
    started: false,
    restartCount: 0,
    proc: undefined,
    lastExit: undefined,
    stopping: undefined,
    mapping,
    image,
    identity,
  };
}

/** The status the kubelet reports for `c`. */
export function containerStatus(c: ContainerRun): ContainerStatus {
  return {
    name: c.spec.name,
    state: c.state,
    reason: c.reason,
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    pid: c.proc?.running ? c.proc.pid : undefined,
    lastExit: c.lastExit,
  };
}

/** The environment of `c`: the image's ENV, HOSTNAME, HOME of its user, then the manifest's env. */
export function containerEnvOf(
  c: ContainerRun,
  podName: string,
  facts: PodFacts,
  store: ObjectStore,
  where: string,
): Record<string, string> {
  const vars = containerEnv(c.spec, facts, store, `${where} container '${c.spec.name}'`);
  if (c.image) {
    // The image's ENV, HOSTNAME, HOME of its user (containerd falls back to /), then the manifest's env.
    return {
      ...c.image.recipe.config.env,
      HOSTNAME: podName,
      HOME: c.identity?.uid === 0 ? '/root' : '/',
      ...vars,
    };
  }
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    HOSTNAME: podName,
    ...vars,
  };
}

/** The container's root: the image rootfs under its own layer in the pod dir, as the container's identity. */
export function imageRoot(pod: ContainerPod, c: ContainerRun): ImageRoot | undefined {
  if (!c.image || !c.identity) return undefined;
  const base = join(pod.dir, 'roots', c.spec.name);
  return {
    rootfs: c.image.rootfs,
    root: join(base, 'root'),
    upperDir: join(base, 'upper'),
    overlayWorkDir: join(base, 'work'),
    readOnly: c.identity.readOnlyRoot,
    workingDir: c.spec.workingDir ?? c.image.recipe.config.workingDir,
    uid: c.identity.uid,
    gid: c.identity.gid,
    groups: c.identity.groups,
  };
}

/** Where a probe or a lifecycle hook of `c` runs. */
export function handlerTarget(pod: ContainerPod, c: ContainerRun): HandlerTarget {
  return {
    pid: c.proc?.pid ?? -1,
    podIp: pod.net?.ip ?? '127.0.0.1',
    env: c.env,
    ports: c.spec.ports ?? [],
    mapArgv: (argv) =>
      containerArgv(
        c.mapping,
        c.image?.recipe.config,
        argv.map((a) => expand(a, c.env)),
        [],
      ),
    chroot: imageRoot(pod, c),
  };
}

/** preStop (within the grace period), SIGTERM, the rest of the grace period, SIGKILL. */
export function stopContainer(pod: ContainerPod, c: ContainerRun, graceMs: number): Promise<void> {
  if (c.stopping) return c.stopping;
  const proc = c.proc;
  if (!proc || c.state !== 'running') return Promise.resolve();
  const stopping = (async () => {
    const deadline = Date.now() + graceMs;
    const preStop: Handler | undefined = c.spec.lifecycle?.preStop;
    if (preStop && proc.running) {
      const result = await runHandler(preStop, handlerTarget(pod, c), Math.max(0, deadline - Date.now()));
      pod.event(
        `container '${c.spec.name}' preStop ${result.ok ? 'done' : 'failed'}${result.output ? `: ${result.output.split('\n').slice(-1)[0]}` : ''}`,
      );
    }
    proc.signal('SIGTERM');
    const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), Math.max(0, deadline - Date.now()));
    await proc.exited;
    clearTimeout(timer);
  })();
  c.stopping = stopping;
  void stopping.finally(() => {
    c.stopping = undefined;
  });
  return stopping;
}
