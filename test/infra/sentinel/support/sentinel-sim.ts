import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Chart, Testing } from 'cdk8s';
import { Redis } from 'ioredis';
import { RedisSentinel, type RedisSentinelProps } from '../../../../infra/sentinel/redis-sentinel.ts';
import { pollUntil } from '../../../../runtime/process/index.ts';
import { type ManagedProcess, startProcess } from '../../../../runtime/process/managed-process.ts';
import { harnessRegistry } from '../../../support/harness-root.ts';
import type { Manifest } from '../../support/synth.ts';

const run = promisify(execFile);

export const NAMESPACE = 'ns';

/** Synthesizes one RedisSentinel in a fresh chart (namespace `ns`) and returns its objects. */
export function synthSentinel(props: RedisSentinelProps = {}, id = 'rs'): Manifest[] {
  const app = Testing.app();
  const chart = new Chart(app, 'test', { namespace: NAMESPACE });
  new RedisSentinel(chart, id, props);
  return Testing.synth(chart) as Manifest[];
}

export type PodKind = 'redis' | 'sentinel';

/** What support/client-driver.ts reports. */
export interface ClientDriverSummary {
  readonly ok: number;
  readonly failed: number;
  /** Longest time between two successful writes: the outage the application saw. */
  readonly maxGapMs: number;
  /** Acknowledged writes that did not read back. */
  readonly lost: number;
  readonly errors: string[];
}

export interface SimPod {
  readonly name: string;
  readonly kind: PodKind;
  ip: string;
  process?: ManagedProcess;
  readonly dirs: { readonly data: string; readonly run: string; readonly tmp: string };
}

/**
 * Runs the pods of a synthesized RedisSentinel as host processes, like test/infra's PodSim does for a cluster: the
 * ConfigMap and Secret become directories, each volume a directory, env comes from the StatefulSet (fieldRefs resolved
 * to the pod's address and name), and pod DNS names resolve through a hosts file bind-mounted over /etc/hosts in a
 * private mount namespace (`unshare --mount`); redis-server and redis-sentinel resolve through it too.
 */
export class SentinelSim {
  readonly pods = new Map<string, SimPod>();
  readonly configDir: string;
  readonly authDir: string;
  readonly hostsFile: string;
  readonly passwords: Record<string, string> = {};
  readonly name: string;
  readonly headless: string;
  readonly masterName: string;
  readonly port: number;
  readonly sentinelPort: number;

  constructor(
    readonly root: string,
    readonly objects: readonly Manifest[],
    readonly envOverrides: Record<string, string> = {},
  ) {
    this.configDir = join(root, 'config');
    this.authDir = join(root, 'auth');
    this.hostsFile = join(root, 'hosts');
    mkdirSync(this.configDir, { recursive: true });
    mkdirSync(this.authDir, { recursive: true });
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.data?.['sentinel.conf'] !== undefined);
    if (!cm) throw new Error('no RedisSentinel ConfigMap');
    for (const [file, text] of Object.entries(cm.data as Record<string, string>)) {
      writeFileSync(join(this.configDir, file), text);
    }
    const keys = ['admin', 'app', 'probe', 'exporter', 'replication', 'sentinel', 'sentinel-access'];
    for (const key of keys) {
      this.passwords[key] = `${key}-${Math.random().toString(36).slice(2)}`;
      writeFileSync(join(this.authDir, key), this.passwords[key] as string);
    }
    const env = this.containerEnv('redis');
    this.name = env.SLOTFORGE_NAME as string;
    this.headless = env.SLOTFORGE_HEADLESS as string;
    this.masterName = env.SLOTFORGE_MASTER_NAME as string;
    this.port = Number(env.REDIS_PORT);
    this.sentinelPort = Number(env.SENTINEL_PORT);
    this.writeHosts();
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

  private statefulSet(kind: PodKind): Manifest {
    const sts = this.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith(`-${kind}`));
    if (!sts) throw new Error(`no ${kind} StatefulSet`);
    return sts;
  }

  private containerEnv(kind: PodKind, pod?: SimPod): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.statefulSet(kind).spec.template.spec.containers[0].env ?? []) {
      if (e.value !== undefined) out[e.name] = String(e.value);
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (field === 'status.podIP') out[e.name] = pod?.ip ?? '';
      if (field === 'metadata.name') out[e.name] = pod?.name ?? '';
      if (field === 'metadata.namespace') out[e.name] = NAMESPACE;
    }
    return out;
  }

  envFor(pod: SimPod): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      ...this.containerEnv(pod.kind, pod),
      SLOTFORGE_CONFIG_DIR: this.configDir,
      SLOTFORGE_AUTH_DIR: this.authDir,
      SLOTFORGE_DATA_DIR: pod.dirs.data,
      SLOTFORGE_RUN_DIR: pod.dirs.run,
      HOME: pod.dirs.tmp,
      REDIS_BIND: pod.ip,
      ...this.envOverrides,
    };
  }

  /** The container's command as the manifest gives it, inside a private mount namespace with our /etc/hosts. */
  private wrap(script: string, args: readonly string[] = []): string[] {
    const quoted = [join(this.configDir, script), ...args].map((a) => `'${a}'`).join(' ');
    return ['--mount', 'sh', '-c', `mount --bind '${this.hostsFile}' /etc/hosts && exec sh ${quoted}`];
  }

  addPod(kind: PodKind, ordinal: number, ip: string): SimPod {
    const name = `${this.name}-${kind}-${ordinal}`;
    const base = join(this.root, 'pods', name);
    const dirs = { data: join(base, 'data'), run: join(base, 'run'), tmp: join(base, 'tmp') };
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    const pod: SimPod = { name, kind, ip, dirs };
    this.pods.set(name, pod);
    this.writeHosts();
    return pod;
  }

  pod(name: string): SimPod {
    const pod = this.pods.get(name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  ofKind(kind: PodKind): SimPod[] {
    return [...this.pods.values()].filter((p) => p.kind === kind);
  }

  /** Starts the pod's main container from the manifest's command and waits until it answers PING. */
  async start(pod: SimPod): Promise<void> {
    const sts = this.statefulSet(pod.kind);
    const command = sts.spec.template.spec.containers[0].command as string[];
    const script = (command[1] as string).split('/').pop() as string;
    pod.process = await startProcess({
      command: 'unshare',
      args: this.wrap(script),
      env: this.envFor(pod),
      logFile: join(pod.dirs.tmp, 'container.log'),
      registry: harnessRegistry(),
      marker: script,
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

  /** Stops the pod like the kubelet (SIGTERM, then SIGKILL) or kills it, and reaps what is left of its group. */
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

  /** Runs a script of the ConfigMap inside `pod` (as a hook or probe would), to completion. */
  async runScript(pod: SimPod, script: string, args: string[] = [], timeoutMs = 60_000) {
    try {
      const { stdout, stderr } = await run('unshare', this.wrap(script, args), {
        env: this.envFor(pod),
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  /**
   * Starts support/client-driver.ts (`@slotforge/client` through the sentinels, as the `app` user) inside a mount
   * namespace with our hosts file, like a client pod that resolves the pods' DNS names. Resolves once its first write
   * succeeded; `result()` waits for its exit and returns its summary.
   */
  async startClientDriver(durationMs: number): Promise<{ result(): Promise<ClientDriverSummary> }> {
    const repo = join(import.meta.dirname, '..', '..', '..', '..');
    const driver = join(import.meta.dirname, 'client-driver.ts');
    const logFile = join(this.root, `client-driver-${Date.now()}.log`);
    const tsx = join(repo, 'node_modules', '.bin', 'tsx');
    const proc = await startProcess({
      command: 'unshare',
      args: ['--mount', 'sh', '-c', `mount --bind '${this.hostsFile}' /etc/hosts && exec '${tsx}' '${driver}'`],
      cwd: repo,
      env: {
        ...process.env,
        SENTINELS: JSON.stringify(
          this.ofKind('sentinel').map((p) => ({ host: this.fqdn(p.name), port: this.sentinelPort })),
        ),
        MASTER_NAME: this.masterName,
        SENTINEL_PASSWORD: this.passwords['sentinel-access'],
        APP_PASSWORD: this.passwords.app,
        DURATION_MS: String(durationMs),
      },
      logFile,
      registry: harnessRegistry(),
      marker: 'client-driver.ts',
    });
    const output = () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };
    await pollUntil(
      () => {
        if (!proc.running && !output().includes('ready')) throw new Error(`client driver exited: ${output()}`);
        return output().includes('ready');
      },
      { description: 'the client driver to write through the sentinels', timeoutMs: 20_000, intervalMs: 50 },
    );
    return {
      result: async () => {
        const { code } = await proc.exited;
        const last = output().trim().split('\n').pop() ?? '';
        if (code !== 0) throw new Error(`client driver exited with ${code}: ${output().slice(-1000)}`);
        return JSON.parse(last) as ClientDriverSummary;
      },
    };
  }

  /** A client of the pod: data pods as `user` (admin by default), sentinels with the sentinel-access password. */
  connect(pod: SimPod, user?: string): Redis {
    const sentinel = pod.kind === 'sentinel';
    const password = sentinel
      ? this.passwords['sentinel-access']
      : this.passwords[user === undefined ? 'admin' : user === 'replicator' ? 'replication' : user];
    const client = new Redis({
      host: pod.ip,
      port: sentinel ? this.sentinelPort : this.port,
      ...(user && !sentinel ? { username: user } : {}),
      password,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      lazyConnect: false,
    });
    client.on('error', () => {});
    return client;
  }

  /** One command; error replies come back as Error values, not throws. */
  async call(pod: SimPod, ...args: Array<string | number>): Promise<unknown> {
    return this.callAs(pod, undefined, ...args);
  }

  async callAs(pod: SimPod, user: string | undefined, ...args: Array<string | number>): Promise<unknown> {
    const client = this.connect(pod, user);
    try {
      return await client.call(String(args[0]), ...args.slice(1));
    } catch (error) {
      return error as Error;
    } finally {
      client.disconnect();
    }
  }

  async role(pod: SimPod): Promise<string> {
    const reply = await this.call(pod, 'ROLE');
    return Array.isArray(reply) ? String(reply[0]) : String(reply);
  }

  /** The primary host (a pod DNS name) a sentinel reports, or undefined. */
  async primaryOf(sentinel: SimPod): Promise<string | undefined> {
    const reply = await this.call(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
    return Array.isArray(reply) && reply.length === 2 ? String(reply[0]) : undefined;
  }

  /** The data pod whose DNS name `host` is. */
  podByHost(host: string | undefined): SimPod | undefined {
    return this.ofKind('redis').find((p) => this.fqdn(p.name) === host);
  }

  /** Fields of `SENTINEL MASTER` on a sentinel. */
  async masterState(sentinel: SimPod): Promise<Record<string, string>> {
    const reply = (await this.call(sentinel, 'SENTINEL', 'MASTER', this.masterName)) as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i] as string] = reply[i + 1] as string;
    return out;
  }

  /**
   * Polls until every running sentinel names `primary`, sees every other running data pod as a healthy replica and
   * every other sentinel, and every replica's link is up.
   */
  async waitConverged(primary: SimPod, timeoutMs = 30_000): Promise<void> {
    const host = this.fqdn(primary.name);
    await pollUntil(
      async () => {
        const replicas = this.ofKind('redis').filter((p) => p !== primary && p.process);
        const sentinels = this.ofKind('sentinel').filter((p) => p.process);
        for (const s of sentinels) {
          if ((await this.primaryOf(s)) !== host) return undefined;
          const seen = (await this.call(s, 'SENTINEL', 'REPLICAS', this.masterName)) as string[][];
          const healthy = seen.filter((f) => f[f.indexOf('flags') + 1] === 'slave').map((f) => f[f.indexOf('ip') + 1]);
          for (const r of replicas) if (!healthy.includes(this.fqdn(r.name))) return undefined;
          const peers = (await this.call(s, 'SENTINEL', 'SENTINELS', this.masterName)) as unknown[];
          if (peers.length < this.ofKind('sentinel').length - 1) return undefined;
        }
        for (const r of replicas) {
          const info = String(await this.call(r, 'INFO', 'replication'));
          if (!info.includes('master_link_status:up') || !info.includes(`master_host:${host}`)) return undefined;
        }
        return true;
      },
      { description: `sentinels and replicas to agree on ${primary.name}`, timeoutMs, intervalMs: 100 },
    );
  }
}
