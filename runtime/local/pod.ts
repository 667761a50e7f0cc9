import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CachedImage } from '../images/index.ts';
import type { ManagedProcess } from '../process/index.ts';
import { type ContainerLimits, joinContainerCgroup, limitsOf } from './cgroups.ts';
import { type HandlerTarget, type ImageRoot, runHandler, startContainer } from './container.ts';
import { containerEnv, expand, MissingReferenceError, type ObjectStore, type PodFacts } from './env.ts';
import { applyVolumeOwnership, type ContainerIdentity, containerIdentity } from './identity.ts';
import { containerArgv, type ImageMapping, mappedImage, resolveImage } from './images.ts';
import { startKubectlContainer } from './kubectl/launch.ts';
import { type BridgeNetwork, netnsPids, type PodNet } from './network.ts';
import type { Container, ContainerPort, Handler, PodSpec, Probe } from './types.ts';
import { containerMounts, type Mount, materializeVolumes } from './volumes.ts';

/** What a pod needs from the runtime that runs it. */
export interface PodHost {
  readonly network: BridgeNetwork;
  readonly store: ObjectStore;
  /** Dir of pod incarnations (`<podsDir>/<name>-<seq>`). */
  readonly podsDir: string;
  /** The hosts file the pod's containers mount over /etc/hosts (cluster DNS plus the pod's own name). */
  hostsFile(pod: Pod): string;
  readonly resolvFile: string;
  /** Container logs (`<pod>-<seq>-<container>.log`); they outlive the pod, until `down`. */
  readonly logsDir: string;
  /** The object store the runtime's kubectl writes (Secrets), mounted where the service account token would be. */
  readonly apiDir: string;
  claimDir(namespace: string, claim: string): string;
  nextSeq(): number;
  /** Called whenever an address, a readiness or a phase changes (DNS and Services follow). */
  changed(): void;
  /**
   * Called once the pod has its address, before any container starts; resolves when the network is ready for it (its
   * NetworkPolicy rules, and its peers' rules that name it, are installed).
   */
  attached?(pod: Pod): Promise<void>;
  event(pod: string, message: string): void;
  recordCreated(paths: readonly string[]): void;
  /** Scales the kubelet's timers in tests that cannot wait 10 s for a back-off. @default 1 */
  readonly timeScale?: number;
}

/** Phase of a pod, as in PodStatus, plus `Terminating` while a deletion runs and `Deleted` after. */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating' | 'Deleted';

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

interface ContainerRun {
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

/** Default probe fields (Kubernetes API reference, Probe). */
const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
};
/** Container restart back-off: 10 s doubling up to 300 s, reset after 10 min of running (kubelet). */
const BACKOFF_START_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const BACKOFF_RESET_MS = 600_000;

/** An abortable sleep: resolves early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

/**
 * One pod incarnation, run as the kubelet runs it: a network namespace with a new address, volumes rendered into its
 * dir, init containers to completion in order, then every container with its probes, restarted per `restartPolicy`
 * with the kubelet's back-off. Deletion runs preStop hooks, SIGTERM, the grace period, then SIGKILL.
 * @see https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
 */
export class Pod {
  readonly uid = randomUUID();
  readonly seq: number;
  readonly createdAt = Date.now();
  phase: PodPhase = 'Pending';
  reason = '';
  net: PodNet | undefined;
  readonly #containers: ContainerRun[];
  readonly #abort = new AbortController();
  #gone: Promise<void> | undefined;
  #running: Promise<void> | undefined;
  /** Set once the volumes are rendered: from then on {@link Pod.refreshVolumes} may re-render them. */
  #volumesRendered = false;
  /** Container starts so far: each incarnation gets its own cgroup. */
  #starts = 0;
  readonly #dir: string;

  constructor(
    readonly name: string,
    readonly namespace: string,
    readonly spec: PodSpec,
    readonly labels: Readonly<Record<string, string>>,
    readonly owner: { kind: string; name: string },
    readonly host: PodHost,
    readonly subdomain?: string,
  ) {
    const where = `pod ${namespace}/${name}`;
    // Unmappable images fail here, before anything starts.
    const make = (spec: Container, init: boolean): ContainerRun => {
      const at = `${where} container '${spec.name}'`;
      const mapping = resolveImage(spec.image, at);
      const image = mappedImage(mapping, at);
      const identity = image
        ? containerIdentity(image.recipe.config, image.rootfs, this.spec.securityContext, spec.securityContext, at)
        : undefined;
      return { ...this.#initialRun(spec, init, at), mapping, image, identity };
    };
    this.#containers = [
      ...(spec.initContainers ?? []).map((c) => make(c, true)),
      ...spec.containers.map((c) => make(c, false)),
    ];
    this.seq = host.nextSeq();
    this.#dir = join(host.podsDir, `${name}-${this.seq}`);
  }

  #initialRun(spec: Container, init: boolean, at: string): Omit<ContainerRun, 'mapping' | 'image' | 'identity'> {
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
    };
  }

  get ip(): string | undefined {
    return this.net?.ip;
  }

  get restartPolicy(): 'Always' | 'OnFailure' | 'Never' {
    return this.spec.restartPolicy ?? 'Always';
  }

  /** Ready: running, not terminating, and every regular container ready. */
  get ready(): boolean {
    return (
      this.phase === 'Running' && this.#containers.filter((c) => !c.init).every((c) => c.ready && c.state === 'running')
    );
  }

  get restarts(): number {
    return this.#containers.reduce((sum, c) => sum + c.restartCount, 0);
  }

  get terminating(): boolean {
    return this.#gone !== undefined;
  }

  get ports(): ContainerPort[] {
    return this.spec.containers.flatMap((c) => c.ports ?? []);
  }

  containerStatuses(): ContainerStatus[] {
    return this.#containers.map((c) => ({
      name: c.spec.name,
      state: c.state,
      reason: c.reason,
      ready: c.ready,
      started: c.started,
      restartCount: c.restartCount,
      pid: c.proc?.running ? c.proc.pid : undefined,
      lastExit: c.lastExit,
    }));
  }

  /** Environment of a running regular container, for tools that exec into it. */
  containerEnv(name: string): Readonly<Record<string, string>> | undefined {
    return this.#containers.find((c) => c.spec.name === name)?.env;
  }

  /** Pid of a running container (the first regular one by default). */
  containerPid(name?: string): number | undefined {
    const c = this.#containers.find((c) => !c.init && (name === undefined || c.spec.name === name));
    return c?.proc?.running ? c.proc.pid : undefined;
  }

  /** Where an exec into container `name` (the first regular one by default) runs; undefined unless it runs. */
  execTarget(name?: string): HandlerTarget | undefined {
    const c = this.#containers.find((c) => !c.init && (name === undefined || c.spec.name === name));
    return c?.proc?.running ? this.#target(c) : undefined;
  }

  #event(message: string): void {
    this.host.event(this.name, message);
  }

  #setPhase(phase: PodPhase, reason = ''): void {
    this.phase = phase;
    this.reason = reason;
    this.host.changed();
  }

  /** Starts the pod in the background; {@link Pod.delete} stops it. */
  start(): void {
    this.#running = this.#run().catch((error: unknown) => {
      this.#event(`failed: ${(error as Error).message}`);
      if (!this.terminating) this.#setPhase('Failed', (error as Error).message);
    });
  }

  #facts(ip: string): PodFacts {
    return {
      name: this.name,
      namespace: this.namespace,
      uid: this.uid,
      ip,
      hostIp: this.host.network.hostIp,
      nodeName: 'slotforge-local',
      serviceAccountName: this.spec.serviceAccountName ?? 'default',
      labels: this.labels,
      annotations: {},
    };
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    mkdirSync(join(this.#dir, 'tmp'), { recursive: true });
    // /tmp of the containers: writable by any user with the sticky bit, as an image's /tmp is.
    chmodSync(join(this.#dir, 'tmp'), 0o1777);
    this.net = await this.host.network.addPod(this.seq);
    if (signal.aborted) return;
    this.#event(`scheduled with IP ${this.net.ip} (netns ${this.net.netns})`);
    this.host.changed();
    await this.host.attached?.(this);
    const facts = this.#facts(this.net.ip);
    const where = `pod ${this.namespace}/${this.name}`;
    // Volumes and env wait for their ConfigMaps and Secrets, as a pod in ContainerCreating does.
    let volumeDirs: Map<string, string> | undefined;
    while (!signal.aborted) {
      try {
        volumeDirs = materializeVolumes(
          this.spec,
          facts,
          this.host.store,
          { podDir: this.#dir, claimDir: (ns, claim) => this.host.claimDir(ns, claim) },
          where,
        );
        for (const c of this.#containers) c.env = this.#envOf(c, facts, where);
        applyVolumeOwnership(this.spec, volumeDirs);
        this.#volumesRendered = true;
        break;
      } catch (error) {
        if (!(error instanceof MissingReferenceError)) throw error;
        if (this.reason !== error.message) this.#event(`waiting: ${error.message}`);
        this.reason = error.message;
        await sleep(1000, signal);
      }
    }
    if (!volumeDirs || signal.aborted) return;
    for (const c of this.#containers.filter((c) => c.init)) {
      const ok = await this.#runContainer(c, volumeDirs, where);
      if (signal.aborted) return;
      if (!ok) {
        this.#setPhase('Failed', `init container '${c.spec.name}' failed`);
        await this.#release();
        return;
      }
    }
    this.#setPhase('Running');
    const results = await Promise.all(
      this.#containers.filter((c) => !c.init).map((c) => this.#runContainer(c, volumeDirs, where)),
    );
    if (signal.aborted) return;
    // Every container ended and none is to be restarted: the pod is done (a Job's pod).
    this.#setPhase(results.every(Boolean) ? 'Succeeded' : 'Failed');
    await this.#release();
  }

  /**
   * Renders the pod's ConfigMap and Secret volumes again from the store, as the kubelet's periodic sync does after an
   * update: files of a mounted volume dir change in place (each key renamed over atomically), removed keys go, a
   * `subPath` mount keeps its content, and env from `configMapKeyRef`/`secretKeyRef` stays as the container started.
   * Returns a reason when it rendered nothing.
   * @see https://kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically
   */
  refreshVolumes(): string | undefined {
    if (!this.#volumesRendered || !this.net || this.terminating) return 'volumes not rendered';
    const volumes = (this.spec.volumes ?? []).filter((v) => v.configMap || v.secret);
    if (volumes.length === 0) return 'no ConfigMap or Secret volume';
    try {
      const dirs = materializeVolumes(
        { ...this.spec, volumes },
        this.#facts(this.net.ip),
        this.host.store,
        { podDir: this.#dir, claimDir: (ns, claim) => this.host.claimDir(ns, claim) },
        `pod ${this.namespace}/${this.name}`,
      );
      applyVolumeOwnership({ ...this.spec, volumes }, dirs);
      return undefined;
    } catch (error) {
      // A deleted (not optional) object: the kubelet keeps the last content it mounted.
      if (error instanceof MissingReferenceError) return error.message;
      throw error;
    }
  }

  #envOf(c: ContainerRun, facts: PodFacts, where: string): Record<string, string> {
    const vars = containerEnv(c.spec, facts, this.host.store, `${where} container '${c.spec.name}'`);
    if (c.image) {
      // The image's ENV, HOSTNAME, HOME of its user (containerd falls back to /), then the manifest's env.
      return {
        ...c.image.recipe.config.env,
        HOSTNAME: this.name,
        HOME: c.identity?.uid === 0 ? '/root' : '/',
        ...vars,
      };
    }
    return {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      HOSTNAME: this.name,
      ...vars,
    };
  }

  #mapArgv(c: ContainerRun): (argv: readonly string[]) => string[] {
    return (argv) =>
      containerArgv(
        c.mapping,
        c.image?.recipe.config,
        argv.map((a) => expand(a, c.env)),
        [],
      );
  }

  /**
   * Runs one container until it ends for good (per restartPolicy) or the pod is deleted. True when its last run
   * exited 0.
   */
  async #runContainer(c: ContainerRun, volumeDirs: ReadonlyMap<string, string>, where: string): Promise<boolean> {
    const signal = this.#abort.signal;
    const net = this.net!;
    const scale = this.host.timeScale ?? 1;
    const local = join(this.#dir, 'local');
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
    const hasToken = this.spec.automountServiceAccountToken !== false;
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
      const logFile = join(this.host.logsDir, `${this.name}-${this.seq}-${c.spec.name}.log`);
      c.proc = c.mapping.builtin
        ? await startKubectlContainer({
            argv,
            env: c.env,
            logFile,
            contextFile: join(this.#dir, `${c.spec.name}.kubectl.json`),
            context: {
              namespace: this.namespace,
              serviceAccount: this.spec.serviceAccountName ?? 'default',
              api: hasToken ? this.host.apiDir : null,
              mounts: volumeMounts,
              tmpDir: join(this.#dir, 'tmp'),
              workingDir: c.spec.workingDir,
            },
          })
        : await startContainer({
            netns: net.netns,
            hostname: this.name,
            argv,
            env: c.env,
            mounts,
            hostsFile: this.host.hostsFile(this),
            resolvFile: this.host.resolvFile,
            tmpDir: join(this.#dir, 'tmp'),
            localDir: local,
            workingDir: c.spec.workingDir,
            image: this.#imageRoot(c),
            preludeFile: join(this.#dir, `${c.spec.name}.start.sh`),
            logFile,
            recordCreated: (paths) => this.host.recordCreated(paths),
          });
      const cgroup = joinContainerCgroup(
        `${this.host.network.prefix}-${this.seq}-${c.spec.name}-${++this.#starts}`,
        c.limits,
        c.proc.pid,
        (message) => this.#event(`container '${c.spec.name}': ${message}`),
      );
      c.state = 'running';
      c.reason = '';
      c.started = !c.spec.startupProbe;
      c.ready = !c.init && !c.spec.readinessProbe && c.started;
      this.host.changed();
      const probing = new AbortController();
      if (!c.init) this.#probe(c, probing.signal);
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
      this.host.changed();
      if (signal.aborted || this.terminating) return exit.code === 0;
      this.#event(`container '${c.spec.name}' exited: ${c.reason}`);
      const policy = c.init && this.restartPolicy === 'Always' ? 'OnFailure' : this.restartPolicy;
      const restart = policy === 'Always' || (policy === 'OnFailure' && exit.code !== 0);
      if (!restart) return exit.code === 0;
      const ranFor = Date.now() - startedAt;
      if (ranFor > BACKOFF_RESET_MS * scale) c.restartCount = 0;
      const delay =
        c.restartCount === 0 ? 0 : Math.min(BACKOFF_START_MS * 2 ** (c.restartCount - 1), BACKOFF_MAX_MS) * scale;
      c.state = 'waiting';
      c.reason = delay > 0 ? 'CrashLoopBackOff' : 'Restarting';
      await sleep(delay, signal);
      if (signal.aborted || this.terminating) return false;
      c.restartCount++;
      this.#event(`restarting container '${c.spec.name}' (restart ${c.restartCount})`);
    }
  }

  /** The container's root: the image rootfs under its own layer in the pod dir, as the container's identity. */
  #imageRoot(c: ContainerRun): ImageRoot | undefined {
    if (!c.image || !c.identity) return undefined;
    const base = join(this.#dir, 'roots', c.spec.name);
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

  #target(c: ContainerRun): HandlerTarget {
    return {
      pid: c.proc?.pid ?? -1,
      podIp: this.net?.ip ?? '127.0.0.1',
      env: c.env,
      ports: c.spec.ports ?? [],
      mapArgv: this.#mapArgv(c),
      chroot: this.#imageRoot(c),
    };
  }

  /** Startup, then liveness and readiness probes, each on its own schedule, until `signal` aborts. */
  #probe(c: ContainerRun, signal: AbortSignal): void {
    const loop = async (
      probe: Probe,
      onResult: (ok: boolean, streak: { ok: number; fail: number }, output: string) => boolean,
    ) => {
      const p = { ...PROBE_DEFAULTS, ...probe };
      const streak = { ok: 0, fail: 0 };
      await sleep(p.initialDelaySeconds * 1000, signal);
      while (!signal.aborted) {
        const result = await runHandler(probe, this.#target(c), p.timeoutSeconds * 1000);
        if (signal.aborted) return;
        if (result.ok) {
          streak.ok++;
          streak.fail = 0;
        } else {
          streak.fail++;
          streak.ok = 0;
        }
        if (!onResult(result.ok, streak, result.output)) return;
        await sleep(p.periodSeconds * 1000, signal);
      }
    };
    const failureThreshold = (probe: Probe) => probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold;
    const successThreshold = (probe: Probe) => probe.successThreshold ?? PROBE_DEFAULTS.successThreshold;
    const liveAndReady = () => {
      const { livenessProbe, readinessProbe } = c.spec;
      if (livenessProbe) {
        void loop(livenessProbe, (ok, streak, output) => {
          if (ok || streak.fail < failureThreshold(livenessProbe)) return true;
          this.#event(
            `container '${c.spec.name}' failed its liveness probe ${streak.fail} times: ${output}; killing it`,
          );
          void this.#stopContainer(c, this.#grace());
          return false;
        });
      }
      if (readinessProbe) {
        void loop(readinessProbe, (ok, streak) => {
          const before = c.ready;
          if (ok && streak.ok >= successThreshold(readinessProbe)) c.ready = true;
          if (!ok && streak.fail >= failureThreshold(readinessProbe)) c.ready = false;
          if (before !== c.ready) this.host.changed();
          return true;
        });
      } else {
        c.ready = true;
        this.host.changed();
      }
    };
    const { startupProbe } = c.spec;
    if (!startupProbe) {
      liveAndReady();
      return;
    }
    void loop(startupProbe, (ok, streak, output) => {
      if (ok) {
        c.started = true;
        liveAndReady();
        return false;
      }
      if (streak.fail >= failureThreshold(startupProbe)) {
        this.#event(`container '${c.spec.name}' failed its startup probe ${streak.fail} times: ${output}; killing it`);
        void this.#stopContainer(c, this.#grace());
        return false;
      }
      return true;
    });
  }

  #grace(): number {
    return (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  /** terminationGracePeriodSeconds in ms (default 30 s). */
  get graceMs(): number {
    return this.#grace();
  }

  /** preStop (within the grace period), SIGTERM, the rest of the grace period, SIGKILL. */
  #stopContainer(c: ContainerRun, graceMs: number): Promise<void> {
    if (c.stopping) return c.stopping;
    const proc = c.proc;
    if (!proc || c.state !== 'running') return Promise.resolve();
    const stopping = (async () => {
      const deadline = Date.now() + graceMs;
      const preStop: Handler | undefined = c.spec.lifecycle?.preStop;
      if (preStop && proc.running) {
        const result = await runHandler(preStop, this.#target(c), Math.max(0, deadline - Date.now()));
        this.#event(
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

  /**
   * Deletes the pod gracefully: it leaves every Service at once, each running container gets its preStop hook,
   * SIGTERM and the rest of the grace period, then everything left is killed and the namespace removed.
   * @param graceMs @default terminationGracePeriodSeconds (30 s)
   */
  delete(graceMs?: number): Promise<void> {
    if (this.#gone) return this.#gone;
    const grace = graceMs ?? this.#grace();
    this.#gone = (async () => {
      const wasDone = this.phase === 'Succeeded' || this.phase === 'Failed';
      this.#setPhase('Terminating');
      this.#event(`deleting (grace ${grace} ms)`);
      if (!wasDone) await Promise.all(this.#containers.map((c) => this.#stopContainer(c, grace)));
      this.#abort.abort();
      await this.#release();
      await this.#running;
      rmSync(this.#dir, { recursive: true, force: true });
      this.#setPhase('Deleted');
    })();
    return this.#gone;
  }

  /** SIGKILL to every process of the pod (a crash): the kubelet restarts the containers per restartPolicy. */
  async kill(): Promise<number> {
    if (!this.net) return 0;
    const pids = await netnsPids(this.net.netns);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.#event(`killed ${pids.length} process(es) with SIGKILL`);
    return pids.length;
  }

  /** SIGSTOP (pause) or SIGCONT (resume) to every process of the pod, like a frozen cgroup. */
  async freeze(paused: boolean): Promise<number> {
    if (!this.net) return 0;
    const pids = await netnsPids(this.net.netns);
    for (const pid of pids) {
      try {
        process.kill(pid, paused ? 'SIGSTOP' : 'SIGCONT');
      } catch {
        // gone
      }
    }
    this.#event(`${paused ? 'paused' : 'resumed'} ${pids.length} process(es)`);
    return pids.length;
  }

  /** Removes the namespace (and kills whatever still runs in it): the pod holds no address any more. */
  async #release(): Promise<void> {
    const net = this.net;
    if (!net) return;
    await this.host.network.removePod(net);
    this.host.changed();
  }
}
