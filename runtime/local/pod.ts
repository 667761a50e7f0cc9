import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../process/index.ts';
import type { HandlerTarget } from './container.ts';
import { runContainer } from './container-loop.ts';
import {
  type ContainerRun,
  type ContainerStatus,
  containerEnvOf,
  containerStatus,
  handlerTarget,
  newContainerRun,
  stopContainer,
} from './container-run.ts';
import { MissingReferenceError, type ObjectStore, type PodFacts } from './env.ts';
import { applyVolumeOwnership } from './identity.ts';
import { type BridgeNetwork, netnsPids, type PodNet } from './network.ts';
import type { ContainerPort, PodSpec } from './types.ts';
import { materializeVolumes } from './volumes.ts';

export type { ContainerStatus } from './container-run.ts';

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
  /** The processes the last pause stopped, with their network namespace: a resume continues them before it scans. */
  #stopped: Array<{ pid: number; netns: string | undefined }> = [];
  /** When the last pause's SIGSTOPs and its resume's SIGCONTs went out (performance.now()): a test measures a pause. */
  lastPause: { stoppedAt: number; continuedAt?: number } | undefined;
  /** The incarnation's dir (`<podsDir>/<name>-<seq>`): rendered volumes, roots, tmp. @internal */
  readonly dir: string;

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
    this.#containers = [
      ...(spec.initContainers ?? []).map((c) => newContainerRun(c, spec, true, where)),
      ...spec.containers.map((c) => newContainerRun(c, spec, false, where)),
    ];
    this.seq = host.nextSeq();
    this.dir = join(host.podsDir, `${name}-${this.seq}`);
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
    return this.#containers.map(containerStatus);
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
    return c?.proc?.running ? handlerTarget(this, c) : undefined;
  }

  /** Records an event of this pod. @internal */
  event(message: string): void {
    this.host.event(this.name, message);
  }

  /** Tells the runtime an address, a readiness or a phase changed. @internal */
  changed(): void {
    this.host.changed();
  }

  /** Aborts when the pod is deleted. @internal */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Writes the pod's hosts file and returns its path. @internal */
  hostsFile(): string {
    return this.host.hostsFile(this);
  }

  /** A fresh cgroup name for the next start of `container`: each start gets its own. @internal */
  cgroupName(container: string): string {
    return `${this.host.network.prefix}-${this.seq}-${container}-${++this.#starts}`;
  }

  #setPhase(phase: PodPhase, reason = ''): void {
    this.phase = phase;
    this.reason = reason;
    this.host.changed();
  }

  /** Starts the pod in the background; {@link Pod.delete} stops it. */
  start(): void {
    this.#running = this.#run().catch((error: unknown) => {
      this.event(`failed: ${(error as Error).message}`);
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
    mkdirSync(join(this.dir, 'tmp'), { recursive: true });
    // /tmp of the containers: writable by any user with the sticky bit, as an image's /tmp is.
    chmodSync(join(this.dir, 'tmp'), 0o1777);
    this.net = await this.host.network.addPod(this.seq);
    if (signal.aborted) return;
    this.event(`scheduled with IP ${this.net.ip} (netns ${this.net.netns})`);
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
          { podDir: this.dir, claimDir: (ns, claim) => this.host.claimDir(ns, claim) },
          where,
        );
        for (const c of this.#containers) c.env = containerEnvOf(c, this.name, facts, this.host.store, where);
        applyVolumeOwnership(this.spec, volumeDirs);
        this.#volumesRendered = true;
        break;
      } catch (error) {
        if (!(error instanceof MissingReferenceError)) throw error;
        if (this.reason !== error.message) this.event(`waiting: ${error.message}`);
        this.reason = error.message;
        await sleep(1000, signal);
      }
    }
    if (!volumeDirs || signal.aborted) return;
    for (const c of this.#containers.filter((c) => c.init)) {
      const ok = await runContainer(this, c, volumeDirs, where);
      if (signal.aborted) return;
      if (!ok) {
        this.#setPhase('Failed', `init container '${c.spec.name}' failed`);
        await this.#release();
        return;
      }
    }
    this.#setPhase('Running');
    const results = await Promise.all(
      this.#containers.filter((c) => !c.init).map((c) => runContainer(this, c, volumeDirs, where)),
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
        { podDir: this.dir, claimDir: (ns, claim) => this.host.claimDir(ns, claim) },
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

  #grace(): number {
    return (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  /** terminationGracePeriodSeconds in ms (default 30 s). */
  get graceMs(): number {
    return this.#grace();
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
      this.event(`deleting (grace ${grace} ms)`);
      if (!wasDone) await Promise.all(this.#containers.map((c) => stopContainer(this, c, grace)));
      this.#abort.abort();
      await this.#release();
      await this.#running;
      rmSync(this.dir, { recursive: true, force: true });
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
    this.#stopped = [];
    this.event(`killed ${pids.length} process(es) with SIGKILL`);
    return pids.length;
  }

  /**
   * SIGSTOP (pause) or SIGCONT (resume) to every process of the pod, like a frozen cgroup. A resume first continues
   * the processes the pause stopped, at once (those still in this pod's network namespace: a pid reused elsewhere is
   * left alone), then those a namespace scan finds: the scan (`ip netns pids`) takes 50-300 ms on a loaded machine,
   * which would otherwise lengthen every pause by as much. {@link lastPause} holds when the signals went out.
   */
  async freeze(paused: boolean): Promise<number> {
    if (!this.net) return 0;
    const signal = paused ? 'SIGSTOP' : 'SIGCONT';
    const send = (pid: number) => {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    };
    const stopped = this.#stopped;
    this.#stopped = [];
    if (!paused) {
      for (const { pid, netns } of stopped) if (netnsOf(pid) === netns) send(pid);
      if (stopped.length > 0 && this.lastPause) this.lastPause.continuedAt = performance.now();
    }
    const pids = await netnsPids(this.net.netns);
    const before = performance.now();
    for (const pid of pids) if (paused || !stopped.some((p) => p.pid === pid)) send(pid);
    if (paused) {
      this.#stopped = pids.map((pid) => ({ pid, netns: netnsOf(pid) }));
      this.lastPause = { stoppedAt: before };
    } else if (this.lastPause && this.lastPause.continuedAt === undefined) {
      this.lastPause.continuedAt = performance.now();
    }
    this.event(`${paused ? 'paused' : 'resumed'} ${pids.length} process(es)`);
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

/** A process's network namespace (`net:[inode]`), or undefined when it is gone. */
function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}
