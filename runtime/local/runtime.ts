import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { admitApply, applyRefused, assumedCrds } from './admission/gate.ts';
import { acceptedNotEnforced } from './admission/status.ts';
import type { ApplyOptions, ApplyResult } from './apply.ts';
import { ClusterDns } from './cluster-dns.ts';
import {
  type JobState,
  newJobState,
  reconcileDeployment,
  reconcileJob,
  reconcileStatefulSet,
} from './controllers/index.ts';
import { DelayedRecords, HostHostsBlock, type HostRecord, parseDnsDelay } from './dns.ts';
import type { ObjectStore } from './env.ts';
import { LocalRuntimeError } from './errors.ts';
import type { HostDnsClaim } from './host-dns-claim.ts';
import { storeApplied } from './live-apply.ts';
import { cloneManifestSet, type ManifestSet } from './manifests.ts';
import { BridgeNetwork } from './network.ts';
import { forgetRuntime, recordCreatedPaths } from './orphans.ts';
import { checkPartitionPorts, type PartitionOptions, PartitionTable } from './partitions.ts';
import type { Pod } from './pod.ts';
import { PodSet } from './pod-set.ts';
import { type NetworkPolicyReport, PolicyEnforcer } from './policy-enforcement.ts';
import { type RedisEndpoint, RedisStatus } from './redis-status.ts';
import {
  dnsDelayOf,
  type LocalRuntimeOptions,
  liveObjectStore,
  prepareStateDir,
  type RuntimeEvent,
  recordStarted,
  reserveRuntime,
  runtimePrefix,
} from './runtime-setup.ts';
import { statePaths } from './state.ts';
import { collectStatus, type RuntimeStatus } from './status.ts';

const RECONCILE_INTERVAL_MS = 200;

/**
 * Runs a set of manifests as processes: the StatefulSet, Deployment and Job controllers (controllers/), the kubelet of
 * every pod (pod.ts), cluster DNS as a hosts file (cluster-dns.ts), NetworkPolicies (policy-enforcement.ts), and the
 * fault verbs (kill, pause, delete, partition). Needs root.
 */
export class LocalRuntime {
  readonly prefix: string;
  readonly paths: ReturnType<typeof statePaths>;
  readonly network: BridgeNetwork;
  readonly #pods: PodSet;
  readonly #jobs = new Map<string, JobState>();
  readonly #events: RuntimeEvent[] = [];
  /** The live objects: the manifests started with, as every apply since changed them. */
  readonly #manifests: ManifestSet;
  readonly #hostBlock: HostHostsBlock | undefined;
  readonly #dns: ClusterDns;
  readonly #partitions: PartitionTable;
  readonly #policies: PolicyEnforcer;
  readonly #redis: RedisStatus;
  #claim: HostDnsClaim | undefined;
  #timer: NodeJS.Timeout | undefined;
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
    const event = (object: string, message: string) => this.#event(object, message);
    const pods = () => this.pods();
    const stopped = () => this.#stopped;
    this.#dns = new ClusterDns({
      manifests: this.#manifests,
      pods,
      hostsFile: this.paths.hostsFile,
      podsDir: this.paths.pods,
      delayed: new DelayedRecords(dnsDelayOf(options)),
      hostBlock: this.#hostBlock,
      stopped,
      event,
    });
    this.#partitions = new PartitionTable(this.network, pods, event);
    this.#policies = new PolicyEnforcer(this.network, this.#manifests, pods, stopped, event);
    this.store = liveObjectStore(this.paths.root, this.#manifests);
    this.#redis = new RedisStatus(this.store);
    this.#pods = new PodSet(
      {
        network: this.network,
        store: this.store,
        podsDir: this.paths.pods,
        hostsFile: (pod) => this.#dns.writePodHosts(pod),
        resolvFile: this.paths.resolvFile,
        logsDir: this.paths.logs,
        apiDir: this.paths.api,
        claimDir: (ns, claim) => join(this.paths.pvc, ns, claim),
        changed: () => this.#changed(),
        attached: () => this.#policies.enforce(),
        event: (pod, message) => this.#event(`pod/${pod}`, message),
        recordCreated: (paths) => recordCreatedPaths(paths),
        timeScale: options.timeScale,
      },
      event,
      options.timeScale ?? 1,
    );
  }

  /** Creates the network and starts every controller; returns at once (pods start in the background). */
  static async start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const { subnet, claim } = await reserveRuntime(options);
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
    prepareStateDir(paths, this.#manifests);
    // Validate every pod template before anything starts: an unmappable image is an error now, not later.
    const manifests = this.#manifests;
    for (const [key, sts] of manifests.statefulSets) this.#pods.validate(`StatefulSet ${key}`, sts.spec.template);
    for (const [key, d] of manifests.deployments) this.#pods.validate(`Deployment ${key}`, d.spec.template);
    for (const [key, job] of manifests.jobs) this.#pods.validate(`Job ${key}`, job.spec.template);
    recordStarted(paths, { prefix: this.prefix, subnet: this.network.subnet, files: manifests.files });
    for (const line of await this.network.setup())
      this.#event('runtime', `${line} (one ARP table for every namespace)`);
    for (const [key, job] of manifests.jobs) this.#jobs.set(key, newJobState(key, job));
    this.#timer = setInterval(() => void this.#reconcile(), RECONCILE_INTERVAL_MS);
    void this.#reconcile();
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
      this.#dns.publish();
      void this.#partitions.enforce();
      void this.#policies.enforce();
    });
  }

  async #reconcile(): Promise<void> {
    if (this.#reconciling || this.#stopped) return;
    this.#reconciling = true;
    try {
      for (const [key, sts] of this.#manifests.statefulSets) reconcileStatefulSet(this.#pods, key, sts);
      for (const [key, d] of this.#manifests.deployments) reconcileDeployment(this.#pods, key, d);
      for (const state of this.#jobs.values()) reconcileJob(this.#pods, state);
    } catch (error) {
      this.#event('runtime', `reconcile failed: ${(error as Error).message}`);
    } finally {
      this.#reconciling = false;
    }
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
    const changes = storeApplied(
      {
        live: this.#manifests,
        apiDir: this.paths.api,
        jobs: this.#jobs,
        validate: (where, template) => this.#pods.validate(where, template),
        pods: () => this.pods(),
        owned: (kind, key) => this.#pods.owned(kind, key),
        deletePod: (pod) => this.#pods.deletePod(pod),
        event: (object, message) => this.#event(object, message),
      },
      manifests,
      options,
    );
    this.#changed();
    // Policies are enforced when apply returns (a CNI lags a little behind the API server; tests need no poll).
    await this.#policies.enforce();
    void this.#reconcile();
    return { changes };
  }

  /** Live pods (the current incarnation of each name), sorted by name. */
  pods(): Pod[] {
    return this.#pods.list();
  }

  /** The pod named `name` (`ns/name` or a name unique across namespaces). */
  pod(name: string): Pod {
    return this.#pods.find(name);
  }

  /** Graceful deletion (preStop, SIGTERM, grace period, SIGKILL); the controller recreates the pod with a new IP. */
  async deletePod(name: string, graceMs?: number): Promise<void> {
    await this.#pods.deletePod(this.pod(name), graceMs);
  }

  /** SIGKILL to every process of the pod; its containers restart in place (same IP) per restartPolicy. */
  killPod(name: string): Promise<number> {
    return this.pod(name).kill();
  }

  /** `kubectl cordon`: pods created from now on stay Pending (Unschedulable) until {@link uncordon}. */
  cordon(): void {
    this.#pods.schedule.cordon();
    this.#pods.event('runtime', 'cordoned: new pods stay Pending');
  }

  /** `kubectl uncordon`: the pods held back start, oldest first. */
  uncordon(): void {
    this.#pods.event('runtime', 'uncordoned');
    this.#pods.schedule.uncordon((pod) => pod.terminating);
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
    checkPartitionPorts(ports);
    const resolveName = (n: string) => this.pod(n).name;
    this.#partitions.add({
      a: a.map(resolveName),
      b: b.map(resolveName),
      ...(ports ? { ports: [...new Set(ports)].sort((x, y) => x - y) } : {}),
    });
    this.#event(
      'runtime',
      `partition ${a.join(',')} from ${b.join(',')}${ports ? ` on ports ${ports.join(',')}` : ''}`,
    );
    await this.#partitions.enforce();
  }

  /** Removes every partition. */
  async heal(): Promise<void> {
    this.#partitions.clear();
    this.#event('runtime', 'heal');
    await this.#partitions.enforce();
  }

  /** The NetworkPolicies in force and the pods each selects now. */
  networkPolicies(): NetworkPolicyReport[] {
    return this.#policies.report();
  }

  /** The DNS records (see {@link ClusterDns.records}). */
  records(): HostRecord[] {
    return this.#dns.records();
  }

  /** The DNS delay in force (ms). */
  get dnsDelayMs(): number {
    return this.#dns.delayMs;
  }

  /** Changes the DNS delay from now on (see {@link DelayedRecords.setDelay}): a test's lagging, or caught-up, DNS. */
  set dnsDelayMs(ms: number) {
    this.#dns.setDelay(parseDnsDelay(`${ms}ms`, 'dnsDelayMs'));
  }

  /** The address `name` resolves to for clients of the runtime now (what the pods see, DNS delay included). */
  lookup(name: string): string | undefined {
    return this.#dns.lookup(name);
  }

  /** Per pod: name, IP, phase, readiness, role, ports; per Redis Cluster: state and slot coverage. */
  status(): Promise<RuntimeStatus> {
    return collectStatus(this.pods(), this.#redis, () => ({
      stateDir: this.paths.root,
      prefix: this.prefix,
      subnet: `${this.network.subnet}.0/24`,
      hostIp: this.network.hostIp,
      notReproduced: this.#manifests.ignored,
      acceptedNotEnforced: acceptedNotEnforced(this.#manifests, assumedCrds(this.options)),
      jobs: [...this.#jobs.values()].map((j) => ({ name: j.key, status: j.status, failures: j.failures })),
      partitions: this.#partitions.list(),
      networkPolicies: this.networkPolicies(),
      dns: { delayMs: this.#dns.delayMs, pending: this.#dns.pending },
    }));
  }

  /**
   * The Redis servers of the running pods (masters and replicas, as {@link status} sees them now) with the password
   * their own Secrets gave for the default user and their exporter sidecar: what host-side tools (`slotforge
   * monitor`) connect to. The supervisor answers it as the control socket's `endpoints` request.
   */
  async redisEndpoints(): Promise<RedisEndpoint[]> {
    const status = await this.status();
    return this.#redis.endpoints(status.pods, (key) => this.pod(key));
  }

  /**
   * Stops every pod gracefully (each within its own grace period, capped at `graceMs`), then removes the network and
   * the host's hosts block.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#dns.stop();
    await Promise.all(this.#pods.all().map((pod) => pod.delete(Math.min(graceMs, pod.graceMs))));
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
