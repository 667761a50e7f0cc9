import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { keySlot } from '@slotforge/client';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { type ExecResult, execInPod, LocalRuntime, type Pod } from '../../../runtime/local/index.ts';
import { pollUntil } from '../../../runtime/process/index.ts';
import { parseClusterNodes, parseInfo } from '../../../runtime/redis/index.ts';
import {
  cleanUpAndExpectNothingLeft,
  harnessTempDir,
  manifestSetOf,
  RUNTIME_HOOK_TIMEOUT_MS,
} from '../../support/index.ts';
import { type Manifest, objectsOfKind } from './synth.ts';

export { RUNTIME_HOOK_TIMEOUT_MS };

/** The namespace the test charts synthesize into (support/synth.ts). */
export const NAMESPACE = 'ns';

/** How a test chart starts on the local runtime. */
export interface ChartRunOptions {
  /** Env set on every container of the data pods and the topology Job (the test's shorter timers). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Leave the topology Job out: the members start and wait to be formed by the test (`runtime.topology(...)`).
   * @default false
   */
  readonly withoutTopologyJob?: boolean;
  /** Replicas per data StatefulSet, by name (`rc-shard-0`), to start only some pods of a chart. */
  readonly replicas?: Readonly<Record<string, number>>;
  /** How long DNS changes take to reach the pods. @default 0 (the test's hosts file changed at once) */
  readonly dnsDelayMs?: number;
}

const isTopologyJob = (o: Manifest) => o.kind === 'Job' && String(o.metadata.name).includes('-topology-');

/** The synthesized objects as the test wants them run: env added, replicas set, the topology Job left out. */
export function chartObjects(objects: readonly Manifest[], options: ChartRunOptions = {}): Manifest[] {
  const out = structuredClone(objects) as Manifest[];
  for (const o of out) {
    const spec = o.spec?.template?.spec;
    if (!spec || !(o.kind === 'StatefulSet' || isTopologyJob(o))) continue;
    for (const c of spec.containers as Manifest[]) {
      const names = new Set(Object.keys(options.env ?? {}));
      c.env = [
        ...((c.env ?? []) as Manifest[]).filter((e) => !names.has(e.name)),
        ...Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
      ];
    }
    const replicas = options.replicas?.[o.metadata.name];
    if (o.kind === 'StatefulSet' && replicas !== undefined) o.spec.replicas = replicas;
  }
  return options.withoutTopologyJob ? out.filter((o) => !isTopologyJob(o)) : out;
}

/**
 * A synthesized RedisCluster or RedisSentinel run on the local runtime (one per test file, in a harness state dir,
 * stopped and checked for leftovers after the file), with the Redis views the tests assert on. Pods are named, not
 * held: a recreated pod is the same name at a new address.
 */
export class ChartRun {
  #runtime: LocalRuntime | undefined;
  readonly stateDir: string;
  /** Objects as last started or applied. */
  objects: Manifest[] = [];
  /** ioredis TLS options of every client of {@link connect}, when the members speak TLS. */
  tls: ConnectionOptions | undefined;

  constructor(label: string) {
    this.stateDir = join(harnessTempDir(label), 'state');
    afterAll(async () => {
      await this.#runtime?.stop(1000);
      await cleanUpAndExpectNothingLeft(this.stateDir);
    }, RUNTIME_HOOK_TIMEOUT_MS);
  }

  get runtime(): LocalRuntime {
    if (!this.#runtime) throw new Error('the chart is not started');
    return this.#runtime;
  }

  /** Starts the objects; pod DNS names resolve in the pods at once (no DNS delay) and not on the host. */
  async start(objects: readonly Manifest[], options: ChartRunOptions = {}): Promise<LocalRuntime> {
    this.objects = chartObjects(objects, options);
    this.#topologyJob = chartObjects(objects, { ...options, withoutTopologyJob: false }).find(isTopologyJob);
    this.#runtime = await LocalRuntime.start({
      stateDir: this.stateDir,
      manifests: manifestSetOf(...this.objects),
      dnsDelayMs: options.dnsDelayMs ?? 0,
      hostDns: false,
    });
    return this.#runtime;
  }

  /** `kubectl apply` of a new synthesis (same options as {@link start}); `prune` removes what it no longer has. */
  async apply(objects: readonly Manifest[], options: ChartRunOptions & { prune?: boolean } = {}): Promise<void> {
    this.objects = chartObjects(objects, options);
    this.#topologyJob = chartObjects(objects, { ...options, withoutTopologyJob: false }).find(isTopologyJob);
    await this.runtime.apply(manifestSetOf(...this.objects), { prune: options.prune ?? false });
  }

  get name(): string {
    return String(this.#containerEnv('SLOTFORGE_NAME'));
  }

  get headless(): string {
    return String(this.#containerEnv('SLOTFORGE_HEADLESS'));
  }

  get port(): number {
    return Number(this.#containerEnv('REDIS_PORT'));
  }

  #containerEnv(name: string): string | undefined {
    for (const sts of objectsOfKind(this.objects, 'StatefulSet')) {
      const found = (sts.spec.template.spec.containers[0].env as Manifest[]).find((e) => e.name === name);
      if (found) return found.value;
    }
    return undefined;
  }

  fqdn(pod: string): string {
    return `${pod}.${this.headless}.${NAMESPACE}.svc.cluster.local`;
  }

  /** A key of the auth Secret (`admin`, `app`, ...), as the chart's Job generated it. */
  password(key: string): string {
    const value = this.runtime.store.secret(NAMESPACE, `${this.name}-auth`)?.[key];
    if (value === undefined) throw new Error(`the auth Secret has no key '${key}' (yet)`);
    return value.trim();
  }

  pod(name: string): Pod {
    return this.runtime.pod(name);
  }

  /** The pod's current address. */
  ip(name: string): string {
    const ip = this.pod(name).ip;
    if (!ip) throw new Error(`pod ${name} has no address (phase ${this.pod(name).phase})`);
    return ip;
  }

  /** Names of the running pods whose name starts with `prefix` (every pod by default). */
  podNames(prefix = ''): string[] {
    return this.runtime
      .pods()
      .filter((p) => p.name.startsWith(prefix) && p.owner.kind === 'StatefulSet')
      .map((p) => p.name);
  }

  /** The PersistentVolumeClaim dir of a pod's `data` volume on the host. */
  dataDir(pod: string): string {
    return join(this.stateDir, 'pvc', NAMESPACE, `data-${pod}`);
  }

  /** The log of the pod's current incarnation's container (`redis` by default); empty before it started. */
  log(pod: string, container = this.pod(pod).spec.containers[0]?.name ?? ''): string {
    try {
      return readFileSync(join(this.stateDir, 'logs', `${pod}-${this.pod(pod).seq}-${container}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** Waits until the pod has an address and its Redis answers PING as the admin user. */
  async waitPing(pod: string, timeoutMs = 60_000): Promise<void> {
    await pollUntil(async () => this.pod(pod).ip !== undefined && (await this.call(pod, 'PING')) === 'PONG', {
      description: `${pod} to answer PING`,
      timeoutMs,
      intervalMs: 100,
    });
  }

  /**
   * Kills every process of the pod (a crash, an OOM kill): the kubelet restarts its containers in place (same address,
   * same volumes). Resolves once the first container runs again and its Redis answers PING.
   */
  async restartInPlace(pod: string): Promise<void> {
    const main = this.pod(pod).spec.containers[0]?.name;
    const status = () =>
      this.pod(pod)
        .containerStatuses()
        .find((c) => c.name === main);
    const restarts = status()?.restartCount ?? 0;
    await this.runtime.killPod(pod);
    await pollUntil(() => (status()?.restartCount ?? 0) > restarts && status()?.state === 'running', {
      description: `${pod}'s container '${main}' to restart`,
      timeoutMs: 30_000,
    });
    await this.waitPing(pod);
  }

  /** Runs a script of the ConfigMap inside `pod`'s first container (as its probes and hooks run). */
  exec(
    pod: string,
    script: string,
    args: readonly string[] = [],
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    return this.execArgv(pod, ['sh', `/opt/slotforge/${script}`, ...args], options);
  }

  /** Runs `argv` inside `pod`'s first container, as `kubectl exec POD -- argv` does. */
  execArgv(
    pod: string,
    argv: readonly string[],
    options: { timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    return execInPod(this.pod(pod), argv, { timeoutMs: options.timeoutMs ?? 60_000, env: options.env });
  }

  /**
   * Runs a script of the topology Job (`bootstrap.sh`, `scale.sh`) with the Job's env, inside `pod` (same image,
   * ConfigMap and Secret as the Job's own pod): a run of the Job the test can repeat and read the exit code of.
   */
  topology(script: string, options: { pod?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const job = this.#topologyJob;
    if (!job) throw new Error('no topology Job in the synthesized objects');
    const env: Record<string, string> = {};
    for (const e of job.spec.template.spec.containers[0].env as Manifest[]) {
      if (e.value !== undefined) env[e.name] = String(e.value);
    }
    const pod = options.pod ?? this.podNames(`${this.name}-shard-`)[0];
    if (!pod) throw new Error('no member pod to run the topology Job in');
    return this.exec(pod, script, [], { timeoutMs: options.timeoutMs, env });
  }

  #topologyJob: Manifest | undefined;

  /** The sentinels' port of a RedisSentinel chart (undefined for a cluster). */
  get sentinelPort(): number | undefined {
    const port = this.#containerEnv('SENTINEL_PORT');
    return port === undefined ? undefined : Number(port);
  }

  /** True for a sentinel pod of a RedisSentinel chart. */
  isSentinel(pod: string): boolean {
    return this.sentinelPort !== undefined && pod.startsWith(`${this.name}-sentinel-`);
  }

  /**
   * A client of the pod: a data pod as `user` (the admin user by default), a sentinel with the sentinel-access
   * password; errors are left to the caller.
   */
  connect(pod: string, user?: string): Redis {
    const sentinel = this.isSentinel(pod);
    const password = sentinel
      ? this.password('sentinel-access')
      : this.password(user === undefined ? 'admin' : user === 'replicator' ? 'replication' : user);
    const client = new Redis({
      host: this.ip(pod),
      port: sentinel ? this.sentinelPort : this.port,
      ...(user && !sentinel ? { username: user } : {}),
      password,
      tls: this.tls,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    return client;
  }

  /** One command as the admin user; error replies come back as Error values, not throws. */
  call(pod: string, ...args: Array<string | number>): Promise<unknown> {
    return this.callAs(pod, undefined, ...args);
  }

  async callAs(pod: string, user: string | undefined, ...args: Array<string | number>): Promise<unknown> {
    let client: Redis;
    try {
      client = this.connect(pod, user);
    } catch (error) {
      return error as Error;
    }
    try {
      return await client.call(String(args[0]), ...args.slice(1));
    } catch (error) {
      return error as Error;
    } finally {
      client.disconnect();
    }
  }

  async clusterInfo(pod: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call(pod, 'CLUSTER', 'INFO')));
  }

  async nodes(pod: string) {
    return parseClusterNodes(String(await this.call(pod, 'CLUSTER', 'NODES')));
  }

  /** A hash tag whose slot the master `owner` serves (keys `{tag}:n` all land in it), avoiding the slots in `avoid`. */
  async slotTagOn(owner: string, avoid: readonly number[] = []): Promise<{ tag: string; slot: number }> {
    const [me] = (await this.nodes(owner)).filter((n) => n.flags.includes('myself'));
    for (let i = 0; i < 1_000_000; i++) {
      const slot = keySlot(`t${i}`);
      if (!avoid.includes(slot) && me?.slots.some(([a, b]) => slot >= a && slot <= b)) return { tag: `t${i}`, slot };
    }
    throw new Error(`${owner} serves no slot`);
  }

  /** The master and the replica of shard `shard` (a 1-replica shard), by their current roles. */
  async shardPair(shard: number): Promise<{ master: string; replica: string }> {
    const pods = this.podNames(`${this.name}-shard-${shard}-`);
    const roles = await Promise.all(pods.map((p) => this.role(p)));
    const master = pods[roles.indexOf('master')];
    const replica = pods[roles.indexOf('slave')];
    if (!master || !replica) throw new Error(`shard ${shard} has no master/replica pair (${roles.join(',')})`);
    return { master, replica };
  }

  async role(pod: string): Promise<string> {
    const reply = await this.call(pod, 'ROLE');
    return Array.isArray(reply) ? String(reply[0]) : String(reply);
  }

  /**
   * Polls until the topology Job has completed and the cluster is healthy ({@link waitHealthy}). What a test needs
   * before it reads roles: every member reports cluster_state:ok as soon as the slots are assigned, while bootstrap.sh
   * attaches the replicas after that (a test that read the roles in between found a shard of two masters).
   */
  async waitFormed(expectedNodes: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const job = this.#topologyJob?.metadata.name;
    if (job && this.objects.some(isTopologyJob)) {
      const status = await pollUntil(
        async () => {
          const found = (await this.runtime.status()).jobs.find((j) => j.name.endsWith(`/${job}`) || j.name === job);
          return found && found.status !== 'Running' ? found.status : undefined;
        },
        { description: `the topology Job ${job} to end`, timeoutMs, intervalMs: 500 },
      );
      if (status !== 'Complete') throw new Error(`the topology Job ${job} ended ${status}`);
    }
    await this.waitHealthy(expectedNodes, Math.max(1_000, deadline - Date.now()));
  }

  /**
   * Polls until every member pod reports cluster_state:ok, knows `expectedNodes` nodes, and names each of them at a
   * current pod address with no failure or handshake flag. The last part matters after pods came back with new
   * addresses: cluster_state turns ok before gossip has replaced every old address, and a tool that walks the node
   * table then (redis-cli --cluster rebalance, as the scale Job does) fails with "No route to host" on the stale ones.
   */
  async waitHealthy(expectedNodes: number, timeoutMs = 60_000): Promise<void> {
    await pollUntil(
      async () => {
        const pods = this.podNames(`${this.name}-shard-`);
        const addresses = new Set(pods.map((p) => this.pod(p).ip).filter(Boolean));
        for (const pod of pods) {
          const info = await this.clusterInfo(pod);
          if (info.cluster_state !== 'ok' || Number(info.cluster_known_nodes) !== expectedNodes) return undefined;
          for (const node of await this.nodes(pod)) {
            if (!addresses.has(node.address.split(':')[0] ?? '')) return undefined;
            if (node.flags.some((f) => f.includes('fail') || f === 'handshake' || f === 'noaddr')) return undefined;
          }
        }
        return true;
      },
      {
        description: `every member to report cluster_state:ok with ${expectedNodes} nodes, each at its current address`,
        timeoutMs,
        intervalMs: 200,
      },
    );
  }
}
