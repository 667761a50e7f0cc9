import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { admitApply, admitOrThrow, applyRefused, assumedCrds } from './admission/gate.ts';
import { acceptedNotEnforced } from './admission/status.ts';
import { APPLY_KINDS, type ApplyOptions, type ApplyResult, planApply, templateRevision } from './apply.ts';
import { NodeSchedule } from './cordon.ts';
import {
  DEFAULT_DNS_DELAY_MS,
  DelayedRecords,
  HostHostsBlock,
  type HostRecord,
  ownRecord,
  parseDnsDelay,
  podNames,
  renderPodHosts,
  serviceNames,
  writeInPlace,
} from './dns.ts';
import type { ObjectStore } from './env.ts';
import { LocalRuntimeError } from './errors.ts';
import { claimHostDns, type HostDnsClaim } from './host-dns-claim.ts';
import { publishApplied } from './kubectl/publish.ts';
import { cloneManifestSet, keyOf, type ManifestSet, namespaceOf } from './manifests.ts';
import { type BlockRule, BridgeNetwork, freeSubnet } from './network.ts';
import { NAMESPACE_NAME_LABEL, type PolicyPod, podFirewall, policyTypes, selectedPods } from './network-policy.ts';
import { renderFirewall } from './network-policy-nft.ts';
import { forgetRuntime, recordCreatedPaths, recordRuntime, sweepOrphans } from './orphans.ts';
import { Pod, type PodHost } from './pod.ts';
import { type Credential, type RedisView, RedisViewer } from './redis-view.ts';
import { statePaths } from './state.ts';
import type { Deployment, Job, PodSpec, PodTemplate, Service, StatefulSet } from './types.ts';

/** Options of {@link LocalRuntime.start}. */
export interface LocalRuntimeOptions {
  /** Where PVC data, pod dirs, logs and the control socket live. */
  readonly stateDir: string;
  readonly manifests: ManifestSet;
  /**
   * Keep a marked block of pod and Service names in the host's /etc/hosts so clients on the host resolve them.
   * @default true
   */
  readonly hostDns?: boolean;
  /**
   * With host DNS, how long to wait while another runtime of the host publishes it (see {@link claimHostDns}); 0
   * fails at once with E_HOST_DNS_BUSY. @default $SLOTFORGE_HOST_DNS_WAIT_MS or 0
   */
  readonly hostDnsWaitMs?: number;
  /**
   * How long a DNS change takes to reach clients (pods and the host block): a new pod name resolves, a moved one gets
   * its new address and a removed one stops resolving this long after the change, as behind CoreDNS's cache. A pod's
   * own name resolves at once in its own hosts file, as the kubelet writes it. 0 publishes every change at once.
   * @default $SLOTFORGE_DNS_DELAY (a duration: `5s`, `500ms`) or {@link DEFAULT_DNS_DELAY_MS} (5 s)
   */
  readonly dnsDelayMs?: number;
  /** Called for every event (pod scheduled, container exited, probe failed, ...). */
  readonly onEvent?: (event: RuntimeEvent) => void;
  /** Scales the kubelet's and the Job controller's back-off timers (tests). @default 1 */
  readonly timeScale?: number;
  /**
   * API groups whose CustomResourceDefinitions stand installed (an operator's: `monitoring.coreos.com`), so their
   * kinds are admitted without a CRD object (`--assume-crds`).
   * @default $SLOTFORGE_ASSUME_CRDS (comma-separated) or none
   */
  readonly assumeCrds?: readonly string[];
}

/** One line of the runtime's event log. */
export interface RuntimeEvent {
  readonly at: string;
  readonly object: string;
  readonly message: string;
}

/**
 * A network partition: no packet between any pod of `a` and any pod of `b`, or with `ports` no TCP/UDP packet to or
 * from those ports (the Redis Cluster bus, 16379, alone).
 */
export interface Partition {
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly ports?: readonly number[];
}

/** Options of {@link LocalRuntime.partition}. */
export interface PartitionOptions {
  /**
   * Cut only these ports, in both directions and on both ends (a connection to a peer's port, a peer's connection to
   * ours, and their replies): `[16379]` cuts the Redis Cluster bus while clients still reach 6379.
   * @default every packet
   */
  readonly ports?: readonly number[];
}

/** The label the StatefulSet controller puts on its pods: the revision of the template they were made from. */
export const REVISION_LABEL = 'controller-revision-hash';

/** One pod in {@link RuntimeStatus}. */
export interface PodReport {
  readonly name: string;
  readonly namespace: string;
  readonly owner: string;
  readonly ip: string | null;
  readonly phase: string;
  readonly reason: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly role: string | null;
  /** The Redis version the pod's Redis reports (INFO redis_version), null when none answers. */
  readonly redisVersion: string | null;
  readonly ports: ReadonlyArray<{ name?: string; port: number }>;
  readonly netns: string | null;
  readonly containers: ReturnType<Pod['containerStatuses']>;
}

/** One Redis Cluster as its members see it. */
export interface ClusterReport {
  /** The members that answered, by pod name. */
  readonly members: string[];
  readonly clusterState: string;
  readonly slotsAssigned: number;
  readonly slotsOk: number;
  /** Slots served by a master that no answering member flags as failed. */
  readonly slotsCovered: number;
  readonly masters: number;
  readonly replicas: number;
  readonly keys: number;
}

/** A NetworkPolicy the runtime enforces, and the pods it selects now. */
export interface NetworkPolicyReport {
  /** `namespace/name`. */
  readonly name: string;
  readonly policyTypes: ReadonlyArray<'Ingress' | 'Egress'>;
  readonly pods: string[];
}

/** What `status --json` prints. */
export interface RuntimeStatus {
  readonly stateDir: string;
  readonly up: true;
  readonly prefix: string;
  readonly subnet: string;
  readonly hostIp: string;
  readonly degraded: readonly string[];
  readonly notReproduced: readonly string[];
  /**
   * Objects admitted (kind served, schema-validated where a schema exists) that nothing in the runtime executes or
   * enforces: a PodDisruptionBudget, a ServiceMonitor when its CRD is installed, ... As `Kind/ns/name`, with how it
   * was validated.
   */
  readonly acceptedNotEnforced: ReadonlyArray<{ readonly object: string; readonly validated: string }>;
  readonly pods: PodReport[];
  readonly jobs: ReadonlyArray<{ name: string; status: string; failures: number }>;
  readonly clusters: ClusterReport[];
  readonly partitions: readonly Partition[];
  readonly networkPolicies: readonly NetworkPolicyReport[];
  /** Cluster DNS: the delay in force and how many names have a change on its way to clients. */
  readonly dns: { readonly delayMs: number; readonly pending: number };
}

/** The runtime's name prefix for a state dir: every namespace, link, rule and hosts block carries it. */
export function runtimePrefix(stateDir: string): string {
  return `sfl${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 4)}`;
}

const RECONCILE_INTERVAL_MS = 200;
/** Job pod back-off: 10 s doubling up to 6 min (Job controller). */
const JOB_BACKOFF_START_MS = 10_000;
const JOB_BACKOFF_MAX_MS = 360_000;

interface JobState {
  readonly key: string;
  readonly job: Job;
  status: 'Running' | 'Complete' | 'Failed';
  failures: number;
  pod: Pod | undefined;
  notBefore: number;
}

function matches(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** A Secret created inside the runtime (by its kubectl): one file per key. */
function readStoredSecret(dir: string): Record<string, string> | undefined {
  try {
    return Object.fromEntries(readdirSync(dir).map((key) => [key, readFileSync(join(dir, key), 'utf8')]));
  } catch {
    return undefined;
  }
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

/**
 * Runs a set of manifests as processes: the StatefulSet, Deployment and Job controllers, the kubelet of every pod,
 * cluster DNS as a hosts file, and the fault verbs (kill, pause, delete, partition). Needs root.
 */
export class LocalRuntime {
  readonly prefix: string;
  readonly paths: ReturnType<typeof statePaths>;
  readonly network: BridgeNetwork;
  readonly #pods = new Map<string, Pod>();
  readonly #terminating = new Set<Pod>();
  readonly #jobs = new Map<string, JobState>();
  readonly #schedule = new NodeSchedule<Pod>();
  readonly #events: RuntimeEvent[] = [];
  readonly #partitions: Partition[] = [];
  readonly #applied = new Map<string, string>();
  /** Per pod namespace, the NetworkPolicy table last installed ('' when none). */
  readonly #policyApplied = new Map<string, string>();
  /** The live objects: the manifests started with, as every apply since changed them. */
  readonly #manifests: ManifestSet;
  readonly #viewer = new RedisViewer();
  readonly #hostBlock: HostHostsBlock | undefined;
  readonly #dns: DelayedRecords;
  #dnsTimer: NodeJS.Timeout | undefined;
  /** What clients see now (see {@link LocalRuntimeOptions.dnsDelayMs}). */
  #visible: HostRecord[] = [];
  #claim: HostDnsClaim | undefined;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #dirty = false;
  #stopped = false;
  #reconciling = false;
  readonly store: ObjectStore;

  private constructor(
    readonly options: LocalRuntimeOptions,
    subnet: string,
  ) {
    this.prefix = runtimePrefix(options.stateDir);
    this.paths = statePaths(options.stateDir);
    this.network = new BridgeNetwork(this.prefix, subnet);
    this.#hostBlock = options.hostDns === false ? undefined : new HostHostsBlock(this.prefix);
    this.#manifests = cloneManifestSet(options.manifests);
    this.#dns = new DelayedRecords(
      options.dnsDelayMs ??
        (process.env.SLOTFORGE_DNS_DELAY
          ? parseDnsDelay(process.env.SLOTFORGE_DNS_DELAY, 'SLOTFORGE_DNS_DELAY')
          : DEFAULT_DNS_DELAY_MS),
    );
    this.store = {
      configMap: (ns, name) => this.#manifests.configMaps.get(`${ns}/${name}`)?.data,
      // The object store: Secrets of the manifests are stored there at start and apply, next to the ones the
      // runtime's kubectl writes, so the last writer wins as on an API server.
      secret: (ns, name) => {
        const stored = readStoredSecret(join(this.paths.api, ns, 'secrets', name));
        if (stored) return stored;
        const secret = this.#manifests.secrets.get(`${ns}/${name}`);
        return secret ? { ...decode(secret.data), ...secret.stringData } : undefined;
      },
    };
  }

  /** Creates the network and starts every controller; returns at once (pods start in the background). */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    await admitOrThrow(options.manifests, assumedCrds(options));
    if (process.getuid?.() !== 0) {
      throw new LocalRuntimeError(
        'E_NOT_ROOT',
        'the local runtime needs root: every pod gets a network namespace, a veth on a private bridge and a mount namespace for its volumes (run as root, or use the harness cluster of runtime/redis for tests)',
      );
    }
    // What runtimes whose owner died left behind (any state dir) goes first.
    await sweepOrphans();
    const prefix = runtimePrefix(options.stateDir);
    const subnet = await freeSubnet(Number.parseInt(prefix.slice(3), 16));
    const claim =
      options.hostDns === false
        ? undefined
        : await claimHostDns(
            options.stateDir,
            [...options.manifests.services.values()].map(namespaceOf),
            options.hostDnsWaitMs ?? Number(process.env.SLOTFORGE_HOST_DNS_WAIT_MS ?? 0),
          );
    const runtime = new LocalRuntime(options, subnet);
    runtime.#claim = claim;
    try {
      await runtime.#setup();
    } catch (error) {
      claim?.release();
      throw error;
    }
    return runtime;
  }

  async #setup(): Promise<void> {
    const { paths } = this;
    for (const dir of [paths.root, paths.pods, paths.pvc, paths.logs, paths.api]) mkdirSync(dir, { recursive: true });
    publishApplied(paths.api, this.#manifests);
    writeFileSync(paths.hostsFile, renderPodHosts([]));
    writeFileSync(
      paths.resolvFile,
      '# slotforge local runtime: names come from /etc/hosts only\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n',
    );
    // Validate every pod template before anything starts: an unmappable image is an error now, not later.
    const manifests = this.#manifests;
    for (const [key, sts] of manifests.statefulSets) this.#validate(`StatefulSet ${key}`, sts.spec.template);
    for (const [key, d] of manifests.deployments) this.#validate(`Deployment ${key}`, d.spec.template);
    for (const [key, job] of manifests.jobs) this.#validate(`Job ${key}`, job.spec.template);
    writeFileSync(
      paths.runtimeFile,
      `${JSON.stringify({ prefix: this.prefix, subnet: this.network.subnet, pid: process.pid, files: manifests.files, startedAt: new Date().toISOString() }, null, 2)}\n`,
    );
    recordRuntime({ prefix: this.prefix, stateDir: paths.root, pid: process.pid });
    await this.network.setup();
    for (const [key, job] of manifests.jobs) {
      this.#jobs.set(key, { key, job, status: 'Running', failures: 0, pod: undefined, notBefore: 0 });
    }
    this.#timer = setInterval(() => void this.#reconcile(), RECONCILE_INTERVAL_MS);
    void this.#reconcile();
  }

  #validate(where: string, template: PodTemplate): void {
    // Constructing a Pod resolves every image against the table; it is thrown away unstarted.
    new Pod('validate', 'default', template.spec, {}, { kind: '', name: '' }, this.#podHost(), undefined);
    this.#seq--;
    if (!template.spec?.containers?.length) {
      throw new LocalRuntimeError('E_MANIFEST', `${where}: spec.template.spec.containers must list a container`);
    }
  }

  #podHost(): PodHost {
    return {
      network: this.network,
      store: this.store,
      podsDir: this.paths.pods,
      hostsFile: (pod) => this.#writePodHosts(pod),
      resolvFile: this.paths.resolvFile,
      logsDir: this.paths.logs,
      apiDir: this.paths.api,
      claimDir: (ns, claim) => join(this.paths.pvc, ns, claim),
      nextSeq: () => ++this.#seq,
      changed: () => this.#changed(),
      attached: () => this.#applyPolicies(),
      event: (pod, message) => this.#event(`pod/${pod}`, message),
      recordCreated: (paths) => recordCreatedPaths(paths),
      timeScale: this.options.timeScale,
    };
  }

  #event(object: string, message: string): void {
    const event = { at: new Date().toISOString(), object, message };
    this.#events.push(event);
    if (this.#events.length > 2000) this.#events.splice(0, 1000);
    try {
      appendFileSync(this.paths.eventsFile, `${event.at} ${object}: ${message}\n`);
    } catch {
      // the state dir is being removed
    }
    this.options.onEvent?.(event);
  }

  /** The most recent events, oldest first. */
  events(limit = 200): RuntimeEvent[] {
    return this.#events.slice(-limit);
  }

  #changed(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    setImmediate(() => {
      this.#dirty = false;
      if (this.#stopped) return;
      this.#publishDns();
      void this.#applyPartitions();
      void this.#applyPolicies();
    });
  }

  #createPod(
    name: string,
    namespace: string,
    template: PodTemplate,
    owner: { kind: string; name: string },
    extra?: {
      subdomain?: string;
      volumes?: PodSpec['volumes'];
    },
  ): Pod {
    const spec: PodSpec = {
      ...template.spec,
      volumes: [...(template.spec.volumes ?? []), ...(extra?.volumes ?? [])],
      subdomain: template.spec.subdomain ?? extra?.subdomain,
    };
    const pod = new Pod(
      name,
      namespace,
      spec,
      { ...(template.metadata?.labels ?? {}) },
      owner,
      this.#podHost(),
      spec.subdomain,
    );
    this.#pods.set(`${namespace}/${name}`, pod);
    this.#event(`${owner.kind}/${owner.name}`, `created pod ${name}`);
    this.#schedule.schedule(pod);
    return pod;
  }

  /** Deletes a pod gracefully; its controller creates a new one once it is gone. */
  #deletePod(pod: Pod, graceMs?: number): Promise<void> {
    this.#terminating.add(pod);
    return pod.delete(graceMs).finally(() => {
      this.#terminating.delete(pod);
      const key = `${pod.namespace}/${pod.name}`;
      if (this.#pods.get(key) === pod) this.#pods.delete(key);
      this.#changed();
    });
  }

  async #reconcile(): Promise<void> {
    if (this.#reconciling || this.#stopped) return;
    this.#reconciling = true;
    try {
      for (const [key, sts] of this.#manifests.statefulSets) this.#reconcileStatefulSet(key, sts);
      for (const [key, d] of this.#manifests.deployments) this.#reconcileDeployment(key, d);
      for (const state of this.#jobs.values()) this.#reconcileJob(state);
    } catch (error) {
      this.#event('runtime', `reconcile failed: ${(error as Error).message}`);
    } finally {
      this.#reconciling = false;
    }
  }

  /** The pods (current incarnations, terminating ones included) a controller owns. */
  #owned(kind: string, key: string): Pod[] {
    return [...this.#pods.values()].filter((p) => p.owner.kind === kind && p.owner.name === key);
  }

  /**
   * StatefulSet controller: pods NAME-0..N-1, each with claims `<template>-<pod>` that outlive it; a missing, failed
   * or completed pod is (re)created, only after its previous incarnation is fully gone. OrderedReady creates ordinal i
   * only when 0..i-1 are Running and Ready; Parallel creates them all at once. Scaling in deletes ordinals >= N from
   * the highest, gracefully (OrderedReady one at a time, Parallel all at once). A changed template rolls
   * (RollingUpdate, the default): once every pod is Running and Ready, the highest ordinal >= `partition` whose
   * `controller-revision-hash` is stale is deleted and comes back from the new template; OnDelete waits for the user.
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
   */
  #reconcileStatefulSet(key: string, sts: StatefulSet): void {
    const namespace = namespaceOf(sts);
    const base = sts.metadata.name;
    const replicas = sts.spec.replicas ?? 1;
    const ordered = (sts.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
    const revision = templateRevision(base, sts.spec.template);
    const ordinal = (pod: Pod) => Number(pod.name.slice(base.length + 1));
    const surplus = this.#owned('StatefulSet', key)
      .filter((p) => ordinal(p) >= replicas)
      .sort((x, y) => ordinal(y) - ordinal(x));
    for (const pod of ordered ? surplus.slice(0, 1) : surplus) {
      if (pod.terminating) continue;
      this.#event(`StatefulSet/${key}`, `scale in to ${replicas}: deleting ${pod.name}`);
      void this.#deletePod(pod);
    }
    let settled = surplus.length === 0;
    for (let i = 0; i < replicas; i++) {
      const name = `${base}-${i}`;
      const pod = this.#pods.get(`${namespace}/${name}`);
      if (pod) {
        if ((pod.phase === 'Failed' || pod.phase === 'Succeeded') && !pod.terminating) void this.#deletePod(pod, 0);
        const healthy = pod.phase === 'Running' && pod.ready && !pod.terminating;
        if (!healthy) settled = false;
        if (ordered && !healthy) return;
        continue;
      }
      settled = false;
      const claims = (sts.spec.volumeClaimTemplates ?? []).map((t) => ({
        name: t.metadata.name,
        persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}` },
      }));
      const labels = {
        ...(sts.spec.template.metadata?.labels ?? {}),
        'statefulset.kubernetes.io/pod-name': name,
        [REVISION_LABEL]: revision,
      };
      this.#createPod(
        name,
        namespace,
        { ...sts.spec.template, metadata: { ...sts.spec.template.metadata, labels } },
        { kind: 'StatefulSet', name: key },
        { subdomain: sts.spec.serviceName, volumes: claims },
      );
      if (ordered) return;
    }
    if (!settled || (sts.spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let i = replicas - 1; i >= partition; i--) {
      const pod = this.#pods.get(`${namespace}/${base}-${i}`);
      if (!pod || pod.labels[REVISION_LABEL] === revision) continue;
      this.#event(
        `StatefulSet/${key}`,
        `rolling update: deleting ${pod.name} (revision ${pod.labels[REVISION_LABEL]} -> ${revision})`,
      );
      void this.#deletePod(pod);
      return;
    }
  }

  /**
   * Deployment controller (no rollout strategy): keeps `replicas` pods named NAME-<random>, deleting the newest
   * when there are more; a changed template reaches only pods created after the change.
   */
  #reconcileDeployment(key: string, deployment: Deployment): void {
    const namespace = namespaceOf(deployment);
    const mine = [...this.#pods.values()].filter(
      (p) => p.owner.kind === 'Deployment' && p.owner.name === key && !p.terminating,
    );
    for (const pod of mine) if (pod.phase === 'Failed' || pod.phase === 'Succeeded') void this.#deletePod(pod, 0);
    const live = mine.filter((p) => p.phase !== 'Failed' && p.phase !== 'Succeeded');
    const replicas = deployment.spec.replicas ?? 1;
    for (const pod of [...live].sort((x, y) => y.createdAt - x.createdAt).slice(0, Math.max(0, live.length - replicas)))
      void this.#deletePod(pod);
    for (let i = live.length; i < replicas; i++) {
      const name = `${deployment.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`;
      this.#createPod(name, namespace, deployment.spec.template, { kind: 'Deployment', name: key });
    }
  }

  /**
   * Job controller (one completion, parallelism 1): a pod runs to completion; a failed pod counts against
   * backoffLimit (default 6) and the next one starts after the back-off; with restartPolicy OnFailure the kubelet
   * restarts the container in place and each restart counts.
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/job/
   */
  #reconcileJob(state: JobState): void {
    if (state.status !== 'Running') return;
    const { job } = state;
    const limit = job.spec.backoffLimit ?? 6;
    const pod = state.pod;
    if (pod && !pod.terminating) {
      const failures = state.failures + (pod.restartPolicy === 'OnFailure' ? pod.restarts : 0);
      if (pod.phase === 'Succeeded') {
        state.status = 'Complete';
        this.#event(`Job/${state.key}`, 'complete');
        return;
      }
      if (pod.phase === 'Failed' || failures > limit) {
        state.failures = failures + (pod.phase === 'Failed' ? 1 : 0);
        void this.#deletePod(pod, 0);
        state.pod = undefined;
        if (state.failures > limit) {
          state.status = 'Failed';
          this.#event(`Job/${state.key}`, `failed: backoffLimit ${limit} reached (${state.failures} failures)`);
          return;
        }
        const delay = Math.min(JOB_BACKOFF_START_MS * 2 ** (state.failures - 1), JOB_BACKOFF_MAX_MS);
        state.notBefore = Date.now() + delay * (this.options.timeScale ?? 1);
      }
      return;
    }
    if (pod || Date.now() < state.notBefore) return;
    const name = `${job.metadata.name}-${randomBytes(4).toString('hex').slice(0, 5)}`;
    const restartPolicy = job.spec.template.spec.restartPolicy;
    if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
      state.status = 'Failed';
      this.#event(
        `Job/${state.key}`,
        `spec.template.spec.restartPolicy must be Never or OnFailure (got '${restartPolicy}')`,
      );
      return;
    }
    state.pod = this.#createPod(name, namespaceOf(job), job.spec.template, { kind: 'Job', name: state.key });
  }

  /** The live objects (what was started with, as every {@link apply} since changed it). */
  get manifests(): ManifestSet {
    return this.#manifests;
  }

  /**
   * `kubectl apply -f DIR` on the running runtime: objects new to it are created, changed ones configured, the rest
   * left as they are; with `prune` the objects `manifests` no longer lists are deleted with their pods. Resolves once
   * the objects are stored (controllers act in the background, as after kubectl): a new StatefulSet gets its pods, a
   * changed `replicas` scales (new ordinals created, the highest deleted first with their preStop hooks), a changed
   * pod template rolls per `updateStrategy`, a new Job runs, a Job whose name already ran is left alone, changed
   * ConfigMaps and Secrets rewrite the volumes that mount them. Throws before changing anything when a pod template
   * cannot run here or when Kubernetes would refuse the change (a Job's spec, a StatefulSet's immutable fields).
   * @see https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/
   */
  async apply(manifests: ManifestSet, options: ApplyOptions = {}): Promise<ApplyResult> {
    if (this.#stopped) throw new LocalRuntimeError('E_NOT_UP', 'apply: the runtime is stopped');
    const live = this.#manifests;
    // As kubectl apply: the objects the API server admits are applied, the refused ones reported (exit 1).
    const assumeCrds = [...assumedCrds(this.options), ...(options.assumeCrds ?? [])];
    const { refusals, admitted } = await admitApply(live, manifests, assumeCrds);
    const rest = refusals.length === 0 || options.onRefusal === 'apply-rest';
    const result = rest ? await this.#applyAdmitted(admitted, options) : { changes: [] };
    if (refusals.length > 0) throw applyRefused(refusals, result.changes);
    return result;
  }

  async #applyAdmitted(manifests: ManifestSet, options: ApplyOptions): Promise<ApplyResult> {
    const live = this.#manifests;
    const changes = planApply(live, manifests, options);
    const actionOf = new Map(changes.map((c) => [c.object, c]));
    const act = (kind: string, key: string) => actionOf.get(`${kind}/${key}`)?.action;
    for (const [key, sts] of manifests.statefulSets)
      if (act('StatefulSet', key) !== 'unchanged') this.#validate(`StatefulSet ${key}`, sts.spec.template);
    for (const [key, d] of manifests.deployments)
      if (act('Deployment', key) !== 'unchanged') this.#validate(`Deployment ${key}`, d.spec.template);
    for (const [key, job] of manifests.jobs)
      if (act('Job', key) === 'created') this.#validate(`Job ${key}`, job.spec.template);

    for (const [kind, field] of APPLY_KINDS) {
      const before = live[field] as Map<string, unknown>;
      for (const [key, object] of manifests[field] as Map<string, unknown>) {
        if (act(kind, key) === 'created' || act(kind, key) === 'configured') before.set(key, object);
      }
      for (const key of [...before.keys()]) if (act(kind, key) === 'pruned') before.delete(key);
    }
    for (const entry of manifests.ignored) if (!live.ignored.includes(entry)) live.ignored.push(entry);
    for (const [id, object] of manifests.others) live.others.set(id, object);
    for (const [id, file] of manifests.sources) live.sources.set(id, file);
    publishApplied(this.paths.api, live, changes);
    live.files.push(...manifests.files.filter((f) => !live.files.includes(f)));

    for (const change of changes) {
      if (change.action === 'unchanged' || change.action === 'kept') continue;
      this.#event('apply', `${change.object} ${change.action}${change.detail ? ` (${change.detail})` : ''}`);
      const [kind, namespace, name] = change.object.split('/') as [string, string, string];
      const key = `${namespace}/${name}`;
      if ((kind === 'ConfigMap' || kind === 'Secret') && change.action === 'configured') this.#refreshMounts(kind, key);
      if (kind === 'Job' && change.action === 'created') {
        this.#jobs.set(key, {
          key,
          job: live.jobs.get(key)!,
          status: 'Running',
          failures: 0,
          pod: undefined,
          notBefore: 0,
        });
      }
      if (change.action !== 'pruned') continue;
      // Cascading deletion (background): every pod of the object goes at once, each with its grace period.
      if (kind === 'StatefulSet' || kind === 'Deployment' || kind === 'Job') {
        for (const pod of this.#owned(kind, key)) if (!pod.terminating) void this.#deletePod(pod);
      }
      if (kind === 'Job') this.#jobs.delete(key);
    }
    this.#changed();
    // Policies are enforced when apply returns (a CNI lags a little behind the API server; tests need no poll).
    await this.#applyPolicies();
    void this.#reconcile();
    return { changes };
  }

  /** Pods that mount the ConfigMap or Secret `key` as a volume get its new content. */
  #refreshMounts(kind: 'ConfigMap' | 'Secret', key: string): void {
    for (const pod of this.pods()) {
      const mounts = (pod.spec.volumes ?? []).some((v) =>
        kind === 'ConfigMap'
          ? v.configMap && `${pod.namespace}/${v.configMap.name}` === key
          : v.secret && `${pod.namespace}/${v.secret.secretName}` === key,
      );
      if (!mounts) continue;
      try {
        const skipped = pod.refreshVolumes();
        if (skipped === undefined) this.#event(`pod/${pod.name}`, `volumes of ${kind} ${key} updated`);
      } catch (error) {
        this.#event(`pod/${pod.name}`, `could not update the volumes of ${kind} ${key}: ${(error as Error).message}`);
      }
    }
  }

  /** Live pods (the current incarnation of each name), sorted by name. */
  pods(): Pod[] {
    return [...this.#pods.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  /** The pod named `name` (`ns/name` or a name unique across namespaces). */
  pod(name: string): Pod {
    const found = this.#pods.get(name) ?? this.pods().find((p) => p.name === name);
    if (!found) {
      throw new LocalRuntimeError(
        'E_NO_POD',
        `pod '${name}' does not exist (pods: ${
          this.pods()
            .map((p) => p.name)
            .join(', ') || 'none'
        })`,
      );
    }
    return found;
  }

  /** Graceful deletion (preStop, SIGTERM, grace period, SIGKILL); the controller recreates the pod with a new IP. */
  async deletePod(name: string, graceMs?: number): Promise<void> {
    await this.#deletePod(this.pod(name), graceMs);
  }

  /** SIGKILL to every process of the pod; its containers restart in place (same IP) per restartPolicy. */
  killPod(name: string): Promise<number> {
    return this.pod(name).kill();
  }

  /** `kubectl cordon`: pods created from now on stay Pending (Unschedulable) until {@link uncordon}. */
  cordon(): void {
    this.#schedule.cordon();
    this.#event('runtime', 'cordoned: new pods stay Pending');
  }

  /** `kubectl uncordon`: the pods held back start, oldest first. */
  uncordon(): void {
    this.#event('runtime', 'uncordoned');
    this.#schedule.uncordon((pod) => pod.terminating);
  }

  pausePod(name: string): Promise<number> {
    return this.pod(name).freeze(true);
  }

  resumePod(name: string): Promise<number> {
    return this.pod(name).freeze(false);
  }

  /**
   * Drops all traffic between the pods of `a` and those of `b`, or with `options.ports` only the traffic to and from
   * those ports (by name: it follows pods across recreation). Resolves once the rules are in place.
   */
  async partition(a: readonly string[], b: readonly string[], options: PartitionOptions = {}): Promise<void> {
    for (const name of [...a, ...b]) this.pod(name);
    const ports = options.ports;
    if (ports !== undefined) {
      const bad = ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
      if (ports.length === 0 || bad !== undefined) {
        throw new LocalRuntimeError(
          'E_CONTROL',
          `partition: ports must list integers from 1 to 65535 (got ${ports.length === 0 ? 'an empty list' : JSON.stringify(bad)}); leave it out to drop every packet`,
        );
      }
    }
    const resolveName = (n: string) => this.pod(n).name;
    this.#partitions.push({
      a: a.map(resolveName),
      b: b.map(resolveName),
      ...(ports ? { ports: [...new Set(ports)].sort((x, y) => x - y) } : {}),
    });
    this.#event(
      'runtime',
      `partition ${a.join(',')} from ${b.join(',')}${ports ? ` on ports ${ports.join(',')}` : ''}`,
    );
    await this.#applyPartitions();
  }

  /** Removes every partition. */
  async heal(): Promise<void> {
    this.#partitions.splice(0);
    this.#event('runtime', 'heal');
    await this.#applyPartitions();
  }

  #applying: Promise<void> = Promise.resolve();

  #applyPartitions(): Promise<void> {
    this.#applying = this.#applying.then(async () => {
      const ipOf = new Map(
        this.pods().flatMap((p) => (p.ip && p.phase !== 'Deleted' ? [[p.name, p.ip] as const] : [])),
      );
      for (const pod of this.pods()) {
        const net = pod.net;
        if (!net || pod.phase === 'Deleted') continue;
        // Per peer address: every packet (`all`) or the union of the ports of the partitions that name it.
        const blocked = new Map<string, Set<number> | 'all'>();
        for (const { a, b, ports } of this.#partitions) {
          const other = a.includes(pod.name) ? b : b.includes(pod.name) ? a : [];
          for (const name of other) {
            const address = ipOf.get(name);
            if (!address) continue;
            const seen = blocked.get(address);
            if (!ports) blocked.set(address, 'all');
            else if (seen !== 'all') blocked.set(address, new Set([...(seen ?? []), ...ports]));
          }
        }
        const rules: BlockRule[] = [...blocked.keys()].sort().map((address) => {
          const ports = blocked.get(address)!;
          return ports === 'all' ? { address } : { address, ports: [...ports].sort((x, y) => x - y) };
        });
        const key = JSON.stringify(rules);
        if ((this.#applied.get(net.netns) ?? '[]') === key) continue;
        try {
          await this.network.setBlocked(net, rules);
          this.#applied.set(net.netns, key);
        } catch (error) {
          this.#event(`pod/${pod.name}`, `could not apply partition rules: ${(error as Error).message}`);
        }
      }
    });
    return this.#applying;
  }

  #policyChain: Promise<void> = Promise.resolve();

  /**
   * Enforces the NetworkPolicies: recomputes the firewall of every pod that has an address (see network-policy.ts)
   * and installs each table that changed, one atomic nft transaction per pod namespace, in parallel. Runs whenever a
   * pod gets or loses an address, a label or a port (`changed`), after an apply, and before a new pod's containers
   * start (`attached`), so a pod never runs unprotected and a new peer's first connection is not dropped. Serialized;
   * resolves once the state of the call is enforced.
   */
  #applyPolicies(): Promise<void> {
    this.#policyChain = this.#policyChain.then(async () => {
      if (this.#stopped) return;
      const started = performance.now();
      const live = this.pods().filter((p) => p.net && hasNetwork(p));
      const peers: PolicyPod[] = live.map((p) => ({
        name: p.name,
        namespace: p.namespace,
        labels: p.labels,
        ip: p.net!.ip,
        ports: p.ports,
      }));
      const policies = [...this.#manifests.networkPolicies.values()];
      const namespaceLabels = (ns: string) => ({
        ...(this.#manifests.namespaces.get(ns)?.metadata.labels ?? {}),
        [NAMESPACE_NAME_LABEL]: ns,
      });
      const seen = new Set<string>();
      let updated = 0;
      await Promise.all(
        live.map(async (pod, i) => {
          const net = pod.net!;
          seen.add(net.netns);
          const firewall = podFirewall(peers[i]!, policies, peers, namespaceLabels);
          const script = renderFirewall(this.network.policyTable, firewall, this.network.hostIp) ?? '';
          if ((this.#policyApplied.get(net.netns) ?? '') === script) return;
          try {
            await this.network.setPolicyTable(net, script || undefined);
            this.#policyApplied.set(net.netns, script);
            updated++;
          } catch (error) {
            // A pod whose namespace went away meanwhile needs no rules.
            if (pod.net === net && !pod.terminating) {
              this.#event(`pod/${pod.name}`, `could not apply NetworkPolicy rules: ${(error as Error).message}`);
            }
          }
        }),
      );
      for (const netns of [...this.#policyApplied.keys()]) if (!seen.has(netns)) this.#policyApplied.delete(netns);
      if (updated > 0) {
        const ms = (performance.now() - started).toFixed(1);
        this.#event('runtime', `NetworkPolicy rules updated in ${updated} pod(s) in ${ms} ms`);
      }
    });
    return this.#policyChain;
  }

  /** The NetworkPolicies in force and the pods each selects now. */
  networkPolicies(): NetworkPolicyReport[] {
    const pods = this.pods().filter(hasNetwork);
    return [...this.#manifests.networkPolicies].map(([key, policy]) => ({
      name: key,
      policyTypes: policyTypes(policy),
      pods: selectedPods(policy, pods).map((p) => p.name),
    }));
  }

  /**
   * The DNS records: a Service's names resolve to its ready endpoints (all selected pods with
   * publishNotReadyAddresses), and a pod behind a headless Service named by its subdomain gets
   * `pod.svc.ns.svc.cluster.local`.
   * @see https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/
   */
  records(): HostRecord[] {
    const records: HostRecord[] = [];
    const pods = this.pods().filter((p) => p.ip && p.phase === 'Running' && !p.terminating);
    for (const [, service] of this.#manifests.services) {
      const ns = namespaceOf(service);
      const spec = service.spec ?? {};
      const selected = pods.filter((p) => p.namespace === ns && matches(spec.selector, p.labels));
      const endpoints = selected.filter((p) => spec.publishNotReadyAddresses || p.ready);
      for (const pod of endpoints) {
        if (spec.clusterIP === 'None' && pod.subdomain === service.metadata.name) {
          records.push({ ip: pod.ip!, names: podNames(pod.spec.hostname ?? pod.name, service.metadata.name, ns) });
        }
      }
      for (const pod of endpoints) records.push({ ip: pod.ip!, names: serviceNames(service.metadata.name, ns) });
    }
    return records;
  }

  #lastHosts = '';

  /** The DNS delay in force (ms). */
  get dnsDelayMs(): number {
    return this.#dns.delayMs;
  }

  /** Changes the DNS delay from now on (see {@link DelayedRecords.setDelay}): a test's lagging, or caught-up, DNS. */
  set dnsDelayMs(ms: number) {
    this.#dns.setDelay(parseDnsDelay(`${ms}ms`, 'dnsDelayMs'), Date.now());
    this.#publishDns();
  }

  #publishDns(): void {
    clearTimeout(this.#dnsTimer);
    const { visible, nextAt } = this.#dns.update(this.records(), Date.now());
    // A change still on its way: publish again when it comes due.
    if (nextAt !== undefined) {
      this.#dnsTimer = setTimeout(() => {
        if (!this.#stopped) this.#publishDns();
      }, nextAt - Date.now());
    }
    const text = renderPodHosts(visible);
    if (text === this.#lastHosts) return;
    this.#lastHosts = text;
    this.#visible = visible;
    writeInPlace(this.paths.hostsFile, text);
    for (const pod of this.pods()) if (pod.ip && !pod.terminating) this.#writePodHosts(pod);
    try {
      this.#hostBlock?.update(visible);
    } catch (error) {
      this.#event('runtime', `could not update the host's /etc/hosts: ${(error as Error).message}`);
    }
  }

  /**
   * Writes a pod's own hosts file (its own name first, as the kubelet writes it, then what cluster DNS answers now)
   * and returns its path.
   */
  #writePodHosts(pod: Pod): string {
    const path = join(this.paths.pods, `${pod.name}-${pod.seq}`, 'hosts');
    const own = pod.ip ? [ownRecord(pod.ip, pod.spec.hostname ?? pod.name, pod.subdomain, pod.namespace)] : [];
    try {
      writeInPlace(path, renderPodHosts([...own, ...this.#visible]));
    } catch {
      // the pod's dir is being removed
    }
    return path;
  }

  /** The address `name` resolves to for clients of the runtime now (what the pods see, DNS delay included). */
  lookup(name: string): string | undefined {
    return this.#visible.find((r) => r.names.includes(name))?.ip;
  }

  /** Credentials a pod mounts (Secret volumes and secretKeyRef env), to ask its Redis for its role. */
  #credentials(pod: Pod): Credential[] {
    const out: Credential[] = [];
    for (const volume of pod.spec.volumes ?? []) {
      if (!volume.secret) continue;
      const data = this.store.secret(pod.namespace, volume.secret.secretName) ?? {};
      for (const [key, value] of Object.entries(data)) {
        out.push({ user: key, password: value.trim() }, { user: undefined, password: value.trim() });
      }
    }
    for (const c of pod.spec.containers) {
      for (const env of c.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        const value = ref ? this.store.secret(pod.namespace, ref.name)?.[ref.key] : undefined;
        if (value) out.push({ user: undefined, password: value.trim() });
      }
    }
    return out;
  }

  /** Per pod: name, IP, phase, readiness, role, ports; per Redis Cluster: state and slot coverage. */
  async status(): Promise<RuntimeStatus> {
    const pods = this.pods();
    const views = await Promise.all(
      pods.map(async (pod): Promise<RedisView | undefined> => {
        const port = pod.ports.find((p) => p.name === 'redis' || p.containerPort === 6379 || p.containerPort === 26379);
        if (!pod.ip || !port || pod.phase !== 'Running') return undefined;
        return this.#viewer.view(
          `${pod.namespace}/${pod.owner.name}`,
          pod.ip,
          port.containerPort,
          this.#credentials(pod),
        );
      }),
    );
    const reports: PodReport[] = pods.map((pod, i) => ({
      name: pod.name,
      namespace: pod.namespace,
      owner: `${pod.owner.kind}/${pod.owner.name}`,
      ip: pod.ip ?? null,
      phase: pod.phase,
      reason: pod.reason,
      ready: pod.ready,
      restarts: pod.restarts,
      role: views[i]?.role ?? null,
      redisVersion: views[i]?.version ?? null,
      ports: pod.ports.map((p) => ({ name: p.name, port: p.containerPort })),
      netns: pod.net?.netns ?? null,
      containers: pod.containerStatuses(),
    }));
    return {
      stateDir: this.paths.root,
      up: true,
      prefix: this.prefix,
      subnet: `${this.network.subnet}.0/24`,
      hostIp: this.network.hostIp,
      degraded: [
        'Services have no virtual IP: a Service name resolves to the addresses of its ready endpoints',
        'no resource limits, no pid namespace; containers run chrooted in image file systems built from Debian packages (runtime/images), the kubectl image is built in',
      ],
      notReproduced: this.#manifests.ignored,
      acceptedNotEnforced: acceptedNotEnforced(this.#manifests, assumedCrds(this.options)),
      pods: reports,
      jobs: [...this.#jobs.values()].map((j) => ({ name: j.key, status: j.status, failures: j.failures })),
      clusters: groupClusters(pods, views),
      partitions: [...this.#partitions],
      networkPolicies: this.networkPolicies(),
      dns: { delayMs: this.#dns.delayMs, pending: this.#dns.pending },
    };
  }

  /**
   * The Redis servers of the running pods (masters and replicas, as last seen by {@link status}) with the password
   * their own Secrets gave for the default user: what host-side tools (the monitor's exporters) connect to.
   */
  async redisEndpoints(): Promise<Array<{ name: string; host: string; port: number; password: string | undefined }>> {
    const status = await this.status();
    return status.pods
      .filter((p) => (p.role === 'master' || p.role === 'replica') && p.ip)
      .map((p) => {
        const pod = this.pod(`${p.namespace}/${p.name}`);
        const port = pod.ports.find((x) => x.name === 'redis' || x.containerPort === 6379)?.containerPort ?? 6379;
        const credential = this.#viewer.credential(`${pod.namespace}/${pod.owner.name}`);
        return { name: p.name, host: p.ip!, port, password: credential?.user ? undefined : credential?.password };
      });
  }

  /**
   * Stops every pod gracefully (each within its own grace period, capped at `graceMs`), then removes the network and
   * the host's hosts block.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#dnsTimer);
    await Promise.all(
      [...this.#pods.values(), ...this.#terminating].map((pod) => pod.delete(Math.min(graceMs, pod.graceMs))),
    );
    await this.network.teardown();
    forgetRuntime(this.prefix);
    try {
      this.#hostBlock?.remove();
    } catch (error) {
      this.#event('runtime', `could not clean the host's /etc/hosts: ${(error as Error).message}`);
    }
    this.#claim?.release();
  }
}

/**
 * A pod that holds its network namespace and address: a completed or failed pod released them (as the kubelet
 * releases a finished pod's sandbox), so policies neither protect nor admit it.
 */
function hasNetwork(pod: Pod): boolean {
  return pod.phase !== 'Deleted' && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** Groups the Redis Cluster members by the node ids they know, and sums up each cluster's state and coverage. */
export function groupClusters(pods: readonly Pod[], views: ReadonlyArray<RedisView | undefined>): ClusterReport[] {
  const groups: Array<{ ids: Set<string>; members: Array<{ pod: Pod; view: RedisView }> }> = [];
  pods.forEach((pod, i) => {
    const view = views[i];
    if (!view?.clusterEnabled || !view.myId) return;
    const ids = new Set((view.nodes ?? []).map((n) => n.id));
    const group = groups.find((g) => g.ids.has(view.myId!) || [...ids].some((id) => g.ids.has(id)));
    if (group) {
      for (const id of ids) group.ids.add(id);
      group.members.push({ pod, view });
    } else groups.push({ ids, members: [{ pod, view }] });
  });
  return groups.map(({ members }) => {
    const failed = new Set(
      members.flatMap(({ view }) => (view.nodes ?? []).filter((n) => n.flags.includes('fail')).map((n) => n.id)),
    );
    // The view of a member that is ok (else the first one), for coverage.
    const best = members.find((m) => m.view.clusterState === 'ok') ?? members[0]!;
    const covered = (best.view.nodes ?? [])
      .filter((n) => n.flags.includes('master') && !failed.has(n.id))
      .reduce((sum, n) => sum + n.slots, 0);
    const states = new Set(members.map((m) => m.view.clusterState));
    return {
      members: members.map((m) => m.pod.name),
      clusterState: states.size === 1 ? (best.view.clusterState ?? 'unknown') : [...states].join('/'),
      slotsAssigned: best.view.slotsAssigned ?? 0,
      slotsOk: best.view.slotsOk ?? 0,
      slotsCovered: covered,
      masters: members.filter((m) => m.view.role === 'master').length,
      replicas: members.filter((m) => m.view.role === 'replica').length,
      keys: members.filter((m) => m.view.role === 'master').reduce((sum, m) => sum + m.view.keys, 0),
    };
  });
}

export type { Service };
export { keyOf };
export const readRuntimeFile = (stateDir: string): { prefix: string; subnet: string; pid: number } | undefined => {
  try {
    return JSON.parse(readFileSync(statePaths(stateDir).runtimeFile, 'utf8'));
  } catch {
    return undefined;
  }
};
