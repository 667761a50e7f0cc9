import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pollUntil } from '../../../runtime/process/index.ts';
import { type ManagedProcess, startProcess } from '../../../runtime/process/managed-process.ts';
import { parseClusterNodes, parseInfo, type ServerRef } from '../../../runtime/redis/index.ts';
import { harnessRegistry } from '../../support/harness-root.ts';
import { type Manifest, memberConfig, objectsOfKind } from './synth.ts';

const run = promisify(execFile);

/** Where a pod's volumes live on the host, as the local runtime maps them. */
interface PodDirs {
  readonly data: string;
  readonly run: string;
  readonly tmp: string;
}

export interface SimPod {
  readonly name: string;
  ip: string;
  process?: ManagedProcess;
  readonly dirs: PodDirs;
  readonly shard: number;
}

export const NAMESPACE = 'ns';

/** A random 127.a.b.0/24 block of loopback addresses, so concurrent tests never meet each other. */
export function loopbackBlock(): (host: number) => string {
  const a = 1 + Math.floor(Math.random() * 250);
  const b = 1 + Math.floor(Math.random() * 250);
  return (host) => `127.${a}.${b}.${host}`;
}

/**
 * Runs the pods and Jobs of a synthesized RedisCluster as host processes, the way the local runtime will: the
 * ConfigMap and Secret become directories, each volume a directory, env comes from the manifest (fieldRefs resolved
 * to the pod's address and name), and pod DNS names resolve through a hosts file bind-mounted over /etc/hosts in a
 * private mount namespace (`unshare --mount`), which the test rewrites when pods get new addresses.
 */
export class PodSim {
  readonly pods = new Map<string, SimPod>();
  readonly configDir: string;
  readonly authDir: string;
  readonly hostsFile: string;
  /** The TLS Secret as a directory (tls.crt, tls.key, ca.crt), when the manifests ask for TLS. */
  readonly tlsDir: string;
  readonly passwords: Record<string, string> = {};
  readonly port: number;
  readonly name: string;
  readonly headless: string;

  constructor(
    readonly root: string,
    public objects: readonly Manifest[],
    readonly envOverrides: Record<string, string> = {},
  ) {
    this.configDir = join(root, 'config');
    this.authDir = join(root, 'auth');
    this.hostsFile = join(root, 'hosts');
    this.tlsDir = join(root, 'tls');
    mkdirSync(this.configDir, { recursive: true });
    mkdirSync(this.authDir, { recursive: true });
    for (const [file, text] of Object.entries(memberConfig(objects))) writeFileSync(join(this.configDir, file), text);
    for (const key of ['admin', 'app', 'probe', 'exporter', 'replication']) {
      this.passwords[key] = `${key}-${Math.random().toString(36).slice(2)}`;
      writeFileSync(join(this.authDir, key), this.passwords[key] as string);
    }
    const sts = objectsOfKind(objects, 'StatefulSet')[0];
    const env = this.containerEnv(sts?.spec.template.spec.containers[0]);
    this.port = Number(env.REDIS_PORT);
    this.name = String(env.SLOTFORGE_NAME);
    this.headless = String(env.SLOTFORGE_HEADLESS);
    this.writeHosts();
  }

  /** Like `kubectl apply` of a new synthesis: new ConfigMap files and new env for pods and Jobs started from now on. */
  apply(objects: readonly Manifest[]): void {
    this.objects = objects;
    for (const [file, text] of Object.entries(memberConfig(objects))) writeFileSync(join(this.configDir, file), text);
  }

  fqdn(pod: string): string {
    return `${pod}.${this.headless}.${NAMESPACE}.svc.cluster.local`;
  }

  /** Rewrites the hosts file in place (same inode: the bind mounts see the change). */
  writeHosts(): void {
    const lines = ['127.0.0.1 localhost'];
    for (const pod of this.pods.values()) lines.push(`${pod.ip} ${this.fqdn(pod.name)}`);
    writeFileSync(this.hostsFile, `${lines.join('\n')}\n`);
  }

  private containerEnv(container: Manifest | undefined, pod?: SimPod): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of container?.env ?? []) {
      if (e.value !== undefined) out[e.name] = String(e.value);
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (field === 'status.podIP') out[e.name] = pod?.ip ?? '';
      if (field === 'metadata.name') out[e.name] = pod?.name ?? 'job';
      if (field === 'metadata.namespace') out[e.name] = NAMESPACE;
    }
    return out;
  }

  /** The env a container of `kind` (StatefulSet of the pod's shard, or the topology Job) gets, volumes mapped. */
  envFor(kind: 'member' | 'job', pod?: SimPod): NodeJS.ProcessEnv {
    const source =
      kind === 'member'
        ? objectsOfKind(this.objects, 'StatefulSet').find((s) => s.metadata.name === `${this.name}-shard-${pod?.shard}`)
        : objectsOfKind(this.objects, 'Job').find((j) => String(j.metadata.name).includes('-topology-'));
    if (!source) throw new Error(`no ${kind} object for ${pod?.name ?? 'job'}`);
    const env = this.containerEnv(source.spec.template.spec.containers[0], pod);
    const dirs = pod?.dirs ?? {
      data: join(this.root, 'job'),
      run: join(this.root, 'job'),
      tmp: join(this.root, 'job'),
    };
    mkdirSync(dirs.tmp, { recursive: true });
    return {
      PATH: process.env.PATH,
      ...env,
      SLOTFORGE_CONFIG_DIR: this.configDir,
      SLOTFORGE_AUTH_DIR: this.authDir,
      SLOTFORGE_DATA_DIR: dirs.data,
      SLOTFORGE_RUN_DIR: dirs.run,
      HOME: dirs.tmp,
      ...(env.SLOTFORGE_TLS_DIR ? { SLOTFORGE_TLS_DIR: this.tlsDir } : {}),
      ...(pod ? { REDIS_BIND: pod.ip } : {}),
      ...this.envOverrides,
    };
  }

  /** `sh script` inside a private mount namespace whose /etc/hosts is our hosts file. */
  private wrap(script: string, args: readonly string[] = []): string[] {
    const quoted = [join(this.configDir, script), ...args].map((a) => `'${a}'`).join(' ');
    return ['--mount', 'sh', '-c', `mount --bind '${this.hostsFile}' /etc/hosts && exec sh ${quoted}`];
  }

  addPod(shard: number, member: number, ip: string): SimPod {
    const name = `${this.name}-shard-${shard}-${member}`;
    const base = join(this.root, 'pods', name);
    const dirs = { data: join(base, 'data'), run: join(base, 'run'), tmp: join(base, 'tmp') };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    const pod: SimPod = { name, ip, dirs, shard };
    this.pods.set(name, pod);
    this.writeHosts();
    return pod;
  }

  pod(name: string): SimPod {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  /** Starts the pod's redis container (entrypoint.sh) and waits until it answers PING as the admin user. */
  async start(pod: SimPod): Promise<void> {
    pod.process = await startProcess({
      command: 'unshare',
      args: this.wrap('entrypoint.sh'),
      env: this.envFor('member', pod),
      logFile: join(pod.dirs.tmp, 'container.log'),
      registry: harnessRegistry(),
      marker: `${pod.ip}:${this.port}`,
    });
    const proc = pod.process;
    await pollUntil(
      async () => {
        if (!proc.running) throw new Error(`${pod.name} exited: ${this.log(pod).slice(-800)}`);
        return (await this.call(pod, 'PING')) === 'PONG';
      },
      { description: `${pod.name} to answer PING`, timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  log(pod: SimPod): string {
    try {
      return readFileSync(join(pod.dirs.tmp, 'container.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the pod like the kubelet (SIGTERM, then SIGKILL) and kills what is left of its process group. */
  async stop(pod: SimPod, mode: 'term' | 'kill' = 'term'): Promise<void> {
    const proc = pod.process;
    if (!proc) return;
    if (mode === 'kill') await proc.kill();
    else await proc.stop(10_000);
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
    pod.process = undefined;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.pods.values()].map((p) => this.stop(p, 'kill')));
  }

  /** Runs a script of the ConfigMap as the topology Job or inside a member (`pod`), to completion. */
  async runScript(
    script: string,
    options: { pod?: SimPod; args?: string[]; timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<{ code: number; output: string }> {
    const env = { ...this.envFor(options.pod ? 'member' : 'job', options.pod), ...options.env };
    try {
      const { stdout, stderr } = await run('unshare', this.wrap(script, options.args), {
        env,
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
      });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  /** ioredis TLS options when the members speak TLS (Redis checks the CA, not the hostname; so do we). */
  tlsOptions(): ConnectionOptions | undefined {
    if (!existsSync(join(this.tlsDir, 'ca.crt'))) return undefined;
    const read = (f: string) => readFileSync(join(this.tlsDir, f));
    return { ca: read('ca.crt'), cert: read('tls.crt'), key: read('tls.key'), checkServerIdentity: () => undefined };
  }

  ref(pod: SimPod, user?: string): ServerRef {
    const password = user ? this.passwords[user === 'replicator' ? 'replication' : user] : this.passwords.admin;
    const { ip: host, port } = { ip: pod.ip, port: this.port };
    const tls = this.tlsOptions();
    return {
      host,
      port,
      connect: () =>
        new Redis({ host, port, username: user, password, tls, maxRetriesPerRequest: 1, retryStrategy: () => null }),
    };
  }

  /** One command as the admin user (or `user`); error replies come back as Error values, not throws. */
  async call(pod: SimPod, ...args: Array<string | number>): Promise<unknown> {
    return this.callAs(pod, undefined, ...args);
  }

  async callAs(pod: SimPod, user: string | undefined, ...args: Array<string | number>): Promise<unknown> {
    const client = this.ref(pod, user).connect();
    client.on('error', () => {});
    try {
      return await client.call(String(args[0]), ...args.slice(1));
    } catch (error) {
      return error as Error;
    } finally {
      client.disconnect();
    }
  }

  async clusterInfo(pod: SimPod): Promise<Record<string, string>> {
    return parseInfo(String(await this.call(pod, 'CLUSTER', 'INFO')));
  }

  async nodes(pod: SimPod) {
    return parseClusterNodes(String(await this.call(pod, 'CLUSTER', 'NODES')));
  }

  async role(pod: SimPod): Promise<string> {
    const reply = await this.call(pod, 'ROLE');
    return Array.isArray(reply) ? String(reply[0]) : String(reply);
  }

  /** Polls until every running pod reports cluster_state:ok and knows `expectedNodes` nodes. */
  async waitHealthy(expectedNodes: number, timeoutMs = 30_000): Promise<void> {
    await pollUntil(
      async () => {
        for (const pod of this.pods.values()) {
          if (!pod.process) continue;
          const info = await this.clusterInfo(pod);
          if (info.cluster_state !== 'ok' || Number(info.cluster_known_nodes) !== expectedNodes) {
            return undefined;
          }
        }
        return true;
      },
      {
        description: `every member to report cluster_state:ok with ${expectedNodes} nodes`,
        timeoutMs,
        intervalMs: 200,
      },
    );
  }
}

/**
 * Adds `shards` x `membersPerShard` pods at consecutive addresses from host 2 of `address`, starts them, runs the
 * topology Job's bootstrap.sh and waits until every member reports cluster_state:ok.
 */
export async function formCluster(
  sim: PodSim,
  shards: number,
  membersPerShard: number,
  address: (host: number) => string,
): Promise<void> {
  let host = 2;
  for (let s = 0; s < shards; s++) for (let m = 0; m < membersPerShard; m++) sim.addPod(s, m, address(host++));
  await Promise.all([...sim.pods.values()].map((p) => sim.start(p)));
  const job = await sim.runScript('bootstrap.sh');
  if (job.code !== 0) throw new Error(`bootstrap.sh exited ${job.code}: ${job.output}`);
  await sim.waitHealthy(shards * membersPerShard);
}
